package linearised

import (
	"math"
	"testing"
)

func TestDgemmMatchesNaive(t *testing.T) {
	rng := newRNG(t, 80)
	for _, tc := range []struct {
		tA, tB  bool
		m, n, k int
	}{{false, false, 5, 7, 3}, {true, false, 4, 6, 9}, {false, true, 33, 17, 65}, {true, true, 8, 8, 8}} {
		ra, ca := tc.m, tc.k
		if tc.tA {
			ra, ca = ca, ra
		}
		rb, cb := tc.k, tc.n
		if tc.tB {
			rb, cb = cb, rb
		}
		a := make([]float64, ra*ca)
		b := make([]float64, rb*cb)
		c := make([]float64, tc.m*tc.n)
		for _, s := range [][]float64{a, b, c} {
			for i := range s {
				s[i] = rng.NormFloat64()
			}
		}
		want := make([]float64, len(c))
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				s := 0.5 * c[i*tc.n+j]
				for l := 0; l < tc.k; l++ {
					var av, bv float64
					if tc.tA {
						av = a[l*ca+i]
					} else {
						av = a[i*ca+l]
					}
					if tc.tB {
						bv = b[j*cb+l]
					} else {
						bv = b[l*cb+j]
					}
					s += 2 * av * bv
				}
				want[i*tc.n+j] = s
			}
		}
		dgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, 2, a, ca, b, cb, 0.5, c, tc.n)
		for i := range c {
			if math.Abs(c[i]-want[i]) > 1e-12*float64(tc.k) {
				t.Fatalf("%+v: c[%d] = %g, want %g", tc, i, c[i], want[i])
			}
		}
	}
}
