package radon

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPoissonCounts: the counts behind line integral p have mean and
// variance i0·exp(−p) (Poisson), checked to 5 standard errors over 20000
// draws per level, from a near-empty beam (λ = 0.5) to a bright one (1e4).
func TestPoissonCounts(t *testing.T) {
	const m = 20000
	src := rand.NewPCG(3, 4)
	for _, c := range []struct{ i0, p float64 }{{1e4, 0}, {1e4, 2}, {1e4, math.Log(2e4)}, {50, 1}} {
		lam := c.i0 * math.Exp(-c.p)
		sino := make([]float32, m)
		for i := range sino {
			sino[i] = float32(c.p)
		}
		counts := make([]float32, m)
		PoissonCounts(counts, sino, c.i0, src)
		var s, ss float64
		for _, v := range counts {
			if v != float32(math.Round(float64(v))) || v < 0 {
				t.Fatalf("count %v is not a whole number ≥ 0", v)
			}
			s += float64(v)
			ss += float64(v) * float64(v)
		}
		mean := s / m
		vr := ss/m - mean*mean
		// s.e. of the mean √(λ/m); of the variance ≈ λ·√(2/m) (plus the
		// fourth-cumulant term λ/√m, which matters for small λ).
		seMean := math.Sqrt(lam / m)
		seVar := lam*math.Sqrt(2.0/m) + math.Sqrt(lam/m)
		if math.Abs(mean-lam) > 5*seMean || math.Abs(vr-lam) > 5*seVar {
			t.Errorf("λ = %g: mean %.4g, variance %.4g", lam, mean, vr)
		}
	}
}
