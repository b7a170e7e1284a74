package linearised

import (
	"math"
	"testing"

	"github.com/ctrecon/ctrecon/internal/par"
)

func TestDgemmMatchesNaive(t *testing.T) {
	rng := newRNG(t, 80)
	for _, tc := range []struct {
		tA, tB  bool
		m, n, k int
	}{{false, false, 5, 7, 3}, {true, false, 4, 6, 9}, {false, true, 33, 17, 65}, {true, true, 8, 8, 8},
		{false, false, 100, 9, 13}, {true, false, 97, 5, 21}} {
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
		c0 := append([]float64(nil), c...)
		dgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, 2, a, ca, b, cb, 0.5, c, tc.n)
		for i := range c {
			if math.Abs(c[i]-want[i]) > 1e-12*float64(tc.k) {
				t.Fatalf("%+v: c[%d] = %g, want %g", tc, i, c[i], want[i])
			}
		}
		// dgemmRows: the same product with C's rows in blocks over three
		// workers (m ≥ 3·rowGrain in the last two cases).
		prev := par.Threads()
		par.SetThreads(3)
		dgemmRows(tc.tA, tc.tB, tc.m, tc.n, tc.k, 2, a, ca, b, cb, 0.5, c0, tc.n)
		par.SetThreads(prev)
		for i := range c0 {
			if math.Abs(c0[i]-want[i]) > 1e-12*float64(tc.k) {
				t.Fatalf("%+v: dgemmRows c[%d] = %g, want %g", tc, i, c0[i], want[i])
			}
		}
	}
}

// TestCholSolveRowsSolves checks that the row-blocked solve returns, for
// every row b of B, the x with K x = b, K = UᵀU from cholUpper, with the
// rows split over three workers.
func TestCholSolveRowsSolves(t *testing.T) {
	rng := newRNG(t, 81)
	const m, k = 20, 100
	g := make([]float64, m*m)
	for i := range g {
		g[i] = rng.NormFloat64()
	}
	kk := make([]float64, m*m) // K = G Gᵀ + m·I
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			for l := 0; l < m; l++ {
				kk[i*m+j] += g[i*m+l] * g[j*m+l]
			}
		}
		kk[i*m+i] += m
	}
	u := append([]float64(nil), kk...)
	if !cholUpper(u, m) {
		t.Fatal("cholUpper failed on an SPD matrix")
	}
	b := make([]float64, k*m)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	x := append([]float64(nil), b...)
	prev := par.Threads()
	par.SetThreads(3)
	cholSolveRows(u, m, x, k)
	par.SetThreads(prev)
	for r := 0; r < k; r++ {
		for i := 0; i < m; i++ {
			var s float64 // K symmetric: (K x)_i from the full matrix
			for j := 0; j < m; j++ {
				s += kk[i*m+j] * x[r*m+j]
			}
			if math.Abs(s-b[r*m+i]) > 1e-9 {
				t.Fatalf("row %d: (K x)[%d] = %g, want %g", r, i, s, b[r*m+i])
			}
		}
	}
}
