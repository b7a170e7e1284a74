package design

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ctrecon/ctrecon/radon"
)

// BenchmarkSelectN128C200S256K5 is `ctrecon plan` at 128² on top of an
// uncertainty file: 256 samples, 200 candidates, 5 angles chosen jointly
// (projection of every sample onto every candidate, 5 rounds of scoring,
// 5 conditioning updates).
func BenchmarkSelectN128C200S256K5(b *testing.B) {
	const n, S = 128, 256
	rng := rand.New(rand.NewPCG(1, 2))
	geo := radon.NewGeometry(n, nil)
	measured := radon.EqualAngles(30)
	cands, err := NewCandidates(200, Interval{0, math.Pi}, math.Pi, measured, nil)
	if err != nil {
		b.Fatal(err)
	}
	x := stripeSamples(rng, n, S, 0.05, 0.03)
	for i := range x {
		x[i] += float32(0.01 * rng.NormFloat64())
	}
	sl := []SliceSamples{{X: x, S: S, NoiseVar: 0.01}}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Select(ctx, geo, cands, sl, 5, Settings{}, rng, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPixelGaussian64 is one pixel-prior baseline's choice in the 64²
// design study, apart from the selection: the marginal-likelihood fit on
// the 5-angle pilot (every default length-scale for the Matérn priors) and
// 256 Matheron posterior samples.
func BenchmarkPixelGaussian64(b *testing.B) {
	const n, S = 64, 256
	A := radon.NewProjector(radon.NewGeometry(n, radon.EqualAngles(5)))
	m, npix := A.Dims()
	rng := rand.New(rand.NewPCG(3, 4))
	y := make([]float32, m)
	for i := range y {
		y[i] = float32(rng.NormFloat64())
	}
	x := make([]float32, S*npix)
	ctx := context.Background()
	for _, prior := range []PixelPrior{Isotropic, Exponential, RadialExponential} {
		b.Run(prior.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				pg, err := FitPixelGaussian(ctx, A, y, prior, nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := pg.Samples(ctx, x, S, rng); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
