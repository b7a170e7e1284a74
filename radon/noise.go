package radon

import (
	"fmt"
	"math"
	"math/rand/v2"

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
