package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestSgemmMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		tA, tB  bool
		m, n, k int
	}{{false, false, 5, 7, 3}, {true, false, 4, 6, 9}, {false, true, 33, 17, 65}, {true, true, 8, 8, 8}} {
		a := randSlice(tc.m*tc.k, rng)
		b := randSlice(tc.k*tc.n, rng)
		c := randSlice(tc.m*tc.n, rng)
		lda, ldb := tc.k, tc.n
		if tc.tA {
			lda = tc.m
		}
		if tc.tB {
			ldb = tc.k
		}
		want := make([]float64, len(c))
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				s := 0.5 * float64(c[i*tc.n+j])
				for l := 0; l < tc.k; l++ {
					var av, bv float32
					if tc.tA {
						av = a[l*lda+i]
					} else {
						av = a[i*lda+l]
					}
					if tc.tB {
						bv = b[j*ldb+l]
					} else {
						bv = b[l*ldb+j]
					}
					s += 2 * float64(av) * float64(bv)
				}
				want[i*tc.n+j] = s
			}
		}
		Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, 2, a, lda, b, ldb, 0.5, c, tc.n)
		for i := range c {
			// float32 sums of k products of N(0,1) values: error ~ k·eps·|terms|.
			if d := math.Abs(float64(c[i]) - want[i]); d > 1e-5*float64(tc.k)*4 {
				t.Fatalf("%+v: element %d got %g want %g", tc, i, c[i], want[i])
			}
		}
	}
}

func TestOpenBLASPinnedToOneThread(t *testing.T) {
	if got := OpenBLASThreads(); got != 1 {
		t.Fatalf("OpenBLAS threads after init = %d, want 1", got)
	}
}

func randSlice(n int, rng *rand.Rand) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func ExampleSgemm() {
	a := []float32{1, 2, 3, 4, 5, 6} // 2×3
	b := []float32{1, 0, 0, 1, 1, 1} // 3×2
	c := make([]float32, 4)
	Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [4 5 10 11]
}

func TestCoreName(t *testing.T) {
	t.Logf("OpenBLAS core %s", CoreName())
	if CoreName() == "" {
		t.Error("empty OpenBLAS core name")
	}
}

func benchSgemm(b *testing.B, tB bool, m, n, k int) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, bb, c := randSlice(m*k, rng), randSlice(k*n, rng), make([]float32, m*n)
	ldb := n
	if tB {
		ldb = k
	}
	b.SetBytes(int64(2 * m * n * k)) // "MB/s" reads as MFLOPS
	for i := 0; i < b.N; i++ {
		Sgemm(false, tB, m, n, k, 1, a, k, bb, ldb, 0, c, n)
	}
}

// Conv shapes of the large preset at 128² (see internal/sgemm); run with
// CTRECON_GEMM=openblas (and OPENBLAS_CORETYPE) to time OpenBLAS instead.
func BenchmarkSgemmNN128x1024x384(b *testing.B) { benchSgemm(b, false, 128, 1024, 384) }
func BenchmarkSgemmNN32x4096x96(b *testing.B)   { benchSgemm(b, false, 32, 4096, 96) }
func BenchmarkSgemmNT128x384x1024(b *testing.B) { benchSgemm(b, true, 128, 384, 1024) }
