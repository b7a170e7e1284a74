package radon

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// TestFFTMatchesDFT compares with the O(n²) definition, forward and inverse.
func TestFFTMatchesDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 2, 8, 64} {
		x := make([]complex128, n)
		for i := range x {
			x[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		for _, inv := range []bool{false, true} {
			sign := -1.0
			if inv {
				sign = 1
			}
			want := make([]complex128, n)
			for k := range want {
				for j, v := range x {
					want[k] += v * cmplx.Exp(complex(0, sign*2*math.Pi*float64(j*k)/float64(n)))
				}
			}
			got := append([]complex128(nil), x...)
			newFFT(n).transform(got, inv)
			for k := range got {
				// Rounding of an n-term sum of unit-size terms.
				if !(cmplx.Abs(got[k]-want[k]) <= 1e-12*float64(n)) {
					t.Fatalf("n=%d inverse=%v bin %d: %v, want %v", n, inv, k, got[k], want[k])
				}
			}
		}
	}
}
