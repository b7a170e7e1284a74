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
