package sgemm

import (
	"os"

	"golang.org/x/sys/cpu"
)

// AVX-512 GEMM for the shapes the conv layers use. The environment of the
// development machine pins OpenBLAS to its AVX2 kernels
// (OPENBLAS_CORETYPE=Haswell), and OpenBLAS builds without DYNAMIC_ARCH
// have none for AVX-512 at all; these two micro-kernels (kern_amd64.s)
// give ctrecon the CPU's full vector width whatever OpenBLAS was built or
// told to do. OpenBLAS remains the path for CPUs without AVX-512, for
// op(A)=Aᵀ with op(B)=Bᵀ, and when CTRECON_GEMM=openblas.
//
//   - op(B) = B (NN, TN): C is computed in 8×48 tiles, eight rows of
//     op(A) (read in place through row pointers, in either layout) times
//     48 contiguous columns of B, also read in place; k is split into
//     blocks of kcNN so a 48-column panel of B stays in L1 while every tile
//     of rows passes over it. Nothing is packed.
//   - op(B) = Bᵀ (NT, the weight gradients): rows of A and of B are both
//     contiguous, so C is computed in 4×6 blocks of dot products, 16 lanes
//     at a time, k blocked by kcDot so that six rows of B stay in L1.

var useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && os.Getenv("CTRECON_GEMM") != "openblas"

const (
	mrNN  = 8
	nrNN  = 48
	kcNN  = 192
	kcDot = 1024
)

//go:noescape
func kernNN(kc int, ap *[mrNN]*float32, astep int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, rows int, m1, m2, m3 uint64, useBeta int)

//go:noescape
func kernDot(n16 int, tail uint64, ap *[4]*float32, bp *[6]*float32, c *float32, ldc int, alpha, beta float32, useBeta int)

// Compute runs C = alpha·op(A)·op(B) + beta·C on the AVX-512 kernels and
// reports whether it did; the arguments are Sgemm's, already checked by the caller.
func Compute(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if !useAVX512 || alpha == 0 || (tA && tB) {
		return false
	}
	if tB {
		gemmDot(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	} else {
		gemmNN(tA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	return true
}

// blockBeta returns the beta for the k block starting at k0 (later blocks
// add to what the first wrote) and whether the kernel must read C at all:
// beta = 0 in the first block ignores C, NaN included.
func blockBeta(k0 int, beta float32) (bt float32, useBeta int) {
	switch {
	case k0 > 0:
		return 1, 1
	case beta == 0:
		return 0, 0
	}
	return beta, 1
}

func colMasks(w int) (m1, m2, m3 uint64) {
	mask := func(v int) uint64 {
		v = max(0, min(16, v))
		return (1 << uint(v)) - 1
	}
	return mask(w), mask(w - 16), mask(w - 32)
}

func gemmNN(tA bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// Row r of op(A) advances by astep per k: 1 along a row of A, lda down
	// a column of a transposed A. The kernel reads it in place (no packing);
	// rows past m in the last tile repeat row m−1 and are not stored.
	astep, rstep := 1, lda
	if tA {
		astep, rstep = lda, 1
	}
	var ap [mrNN]*float32
	for k0 := 0; k0 < k; k0 += kcNN {
		kc := min(kcNN, k-k0)
		bt, useBeta := blockBeta(k0, beta)
		for j0 := 0; j0 < n; j0 += nrNN {
			m1, m2, m3 := colMasks(n - j0)
			bp := &b[k0*ldb+j0]
			for i0 := 0; i0 < m; i0 += mrNN {
				rows := min(mrNN, m-i0)
				for r := range ap {
					ap[r] = &a[(i0+min(r, rows-1))*rstep+k0*astep]
				}
				kernNN(kc, &ap, astep, bp, ldb, &c[i0*ldc+j0], ldc, alpha, bt, rows, m1, m2, m3, useBeta)
			}
		}
	}
}

// gemmDot computes C = alpha·A·Bᵀ + beta·C with A m×k (row stride lda) and
// B n×k (row stride ldb). Blocks of six B rows (kcDot floats each, 24 KiB)
// stay in L1 while every block of four A rows streams past them from L2.
// The kernel writes full 4×6 blocks of C; blocks at the edges go through a
// scratch block.
func gemmDot(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	var ap [4]*float32
	var bp [6]*float32
	var edge [24]float32
	for k0 := 0; k0 < k; k0 += kcDot {
		kc := min(kcDot, k-k0)
		n16, tail := kc/16, uint64(1)<<uint(kc%16)-1
		bt, useBeta := blockBeta(k0, beta)
		for j0 := 0; j0 < n; j0 += 6 {
			rj := min(6, n-j0)
			for s := range bp {
				bp[s] = &b[(j0+min(s, rj-1))*ldb+k0]
			}
			for i0 := 0; i0 < m; i0 += 4 {
				ri := min(4, m-i0)
				for r := range ap {
					ap[r] = &a[(i0+min(r, ri-1))*lda+k0]
				}
				if ri == 4 && rj == 6 {
					kernDot(n16, tail, &ap, &bp, &c[i0*ldc+j0], ldc, alpha, bt, useBeta)
					continue
				}
				kernDot(n16, tail, &ap, &bp, &edge[0], 6, 1, 0, 0)
				for r := 0; r < ri; r++ {
					row := c[(i0+r)*ldc+j0:][:rj]
					for s, v := range edge[r*6:][:rj] {
						if useBeta == 0 {
							row[s] = alpha * v
						} else {
							row[s] = alpha*v + bt*row[s]
						}
					}
				}
			}
		}
	}
}
