package sgemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naive is the float64 reference C = alpha·op(A)·op(B) + beta·C.
func naive(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, len(c))
	for i := range c {
		out[i] = float64(c[i])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for l := 0; l < k; l++ {
				var av, bv float32
				if tA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if tB {
					bv = b[j*ldb+l]
				} else {
					bv = b[l*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			prev := float64(c[i*ldc+j])
			if beta == 0 {
				prev = 0
			}
			out[i*ldc+j] = float64(alpha)*s + float64(beta)*prev
		}
	}
	return out
}

func randSlice(n int, rng *rand.Rand) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// TestComputeMatchesReference checks every layout the kernels take on
// shapes that hit the edges of the tiles (rows not a multiple of 8 or 4,
// columns not of 48 or 6, k not of the block sizes or of 16), with row
// strides wider than the rows, against a float64 reference. Elements of C
// outside the m×n block must be left untouched.
func TestComputeMatchesReference(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512 on this CPU (or CTRECON_GEMM=openblas): Compute declines, OpenBLAS runs")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := [][3]int{{1, 1, 1}, {8, 48, 16}, {7, 47, 15}, {9, 49, 17}, {16, 100, 193}, {33, 5, 400}, {128, 257, 384}, {3, 1030, 600}, {20, 13, 1100}}
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
			tA, tB := tr[0], tr[1]
			for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
				alpha, beta := ab[0], ab[1]
				ar, ac := m, k
				if tA {
					ar, ac = k, m
				}
				br, bc := k, n
				if tB {
					br, bc = n, k
				}
				lda, ldb, ldc := ac+3, bc+5, n+2
				a := randSlice((ar-1)*lda+ac, rng)
				b := randSlice((br-1)*ldb+bc, rng)
				c := randSlice(m*ldc, rng)
				if beta == 0 { // beta = 0 must ignore what C held, NaN included
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							c[i*ldc+j] = float32(math.NaN())
						}
					}
				}
				want := naive(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				if !Compute(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
					t.Fatalf("Compute declined %v", tr)
				}
				for i := range c {
					// float32 sums of k products of N(0,1) values: rounding
					// error grows like √k·eps·|terms|; 4·k·eps is a safe bound.
					tol := 4 * float64(k) * 6e-8 * (math.Abs(float64(alpha))*3 + 1)
					if d := math.Abs(float64(c[i]) - want[i]); !(d <= tol) {
						t.Fatalf("m,n,k=%d,%d,%d tA=%v tB=%v alpha=%g beta=%g: element %d (row %d col %d) = %g, want %g",
							m, n, k, tA, tB, alpha, beta, i, i/ldc, i%ldc, c[i], want[i])
					}
				}
			}
		}
	}
}

// TestDeclines: op(A)=Aᵀ with op(B)=Bᵀ is left to OpenBLAS.
func TestDeclines(t *testing.T) {
	c := []float32{0}
	if Compute(true, true, 1, 1, 1, 1, []float32{1}, 1, []float32{1}, 1, 0, c, 1) {
		t.Fatal("TT should be declined")
	}
}

func benchNN(b *testing.B, m, n, k int) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, bb, c := randSlice(m*k, rng), randSlice(k*n, rng), make([]float32, m*n)
	b.SetBytes(int64(2 * m * n * k)) // "MB/s" reads as MFLOPS
	for i := 0; i < b.N; i++ {
		Compute(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
	}
}

func benchNT(b *testing.B, m, n, k int) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, bb, c := randSlice(m*k, rng), randSlice(n*k, rng), make([]float32, m*n)
	b.SetBytes(int64(2 * m * n * k))
	for i := 0; i < b.N; i++ {
		Compute(false, true, m, n, k, 1, a, k, bb, k, 1, c, n)
	}
}

// Shapes of the large preset at 128²: a 3×3 conv with 128 channels on a
// 1024-column tile (one of the three ky GEMMs), and its weight gradient.
func BenchmarkNN128x1024x384(b *testing.B) { benchNN(b, 128, 1024, 384) }
func BenchmarkNN32x4096x96(b *testing.B)   { benchNN(b, 32, 4096, 96) }
func BenchmarkNT128x384x1024(b *testing.B) { benchNT(b, 128, 384, 1024) }

// The input gradient of a conv: op(A) = Wᵀ (1152×128 from 128×1152).
func BenchmarkTN1152x1024x128(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	m, n, k := 1152, 1024, 128
	a, bb, c := randSlice(k*m, rng), randSlice(k*n, rng), make([]float32, m*n)
	b.SetBytes(int64(2 * m * n * k))
	for i := 0; i < b.N; i++ {
		Compute(true, false, m, n, k, 1, a, m, bb, n, 0, c, n)
	}
}
