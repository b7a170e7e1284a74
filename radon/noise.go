package radon

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/ctrecon/ctrecon/linop"
)

// AddNoise sets dst = sino + ε with ε_i ~ N(0, σ²) independent, σ = eta ·
// mean_i |sino_i| (DESIGN.md §2, "η relative white noise"), drawing from
// rng, and returns σ. dst may be sino itself. A negative or NaN eta, or
// slices of different lengths, are programmer mistakes and panic.
func AddNoise(dst, sino []float32, eta float64, rng *rand.Rand) (sigma float64) {
	if len(dst) != len(sino) {
		panic(fmt.Errorf("%w: radon.AddNoise: dst has length %d, sino %d", linop.ErrShape, len(dst), len(sino)))
	}
	if !(eta >= 0) {
		panic(fmt.Sprintf("radon.AddNoise: relative noise level %g, must be ≥ 0", eta))
	}
	var sum float64
	for _, v := range sino {
		sum += math.Abs(float64(v))
	}
	if len(sino) > 0 {
		sigma = eta * sum / float64(len(sino))
	}
	for i, v := range sino {
		dst[i] = float32(float64(v) + sigma*rng.NormFloat64())
	}
	return sigma
}

// PoissonCounts sets counts[i] to a Poisson draw with mean i0·exp(−sino[i]):
// what a detector bin counts behind line integral sino[i] when i0 photons
// per bin enter (Beer–Lambert), drawing from src. A negative or NaN i0, or
// slices of different lengths, are programmer mistakes and panic.
func PoissonCounts(counts, sino []float32, i0 float64, src rand.Source) {
	if len(counts) != len(sino) {
		panic(fmt.Errorf("%w: radon.PoissonCounts: counts has length %d, sino %d", linop.ErrShape, len(counts), len(sino)))
	}
	if !(i0 >= 0) {
		panic(fmt.Sprintf("radon.PoissonCounts: %g incident photons, must be ≥ 0", i0))
	}
	for i, p := range sino {
		counts[i] = float32(poisson(i0*math.Exp(-float64(p)), src))
	}
}

// poisson draws from Poisson(lambda); lambda = 0 gives 0.
func poisson(lambda float64, src rand.Source) float64 {
	if lambda <= 0 {
		return 0
	}
	return distuv.Poisson{Lambda: lambda, Src: src}.Rand()
}
