package sgemm

import (
	"os"
	"sync"

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
//   - op(B) = B (NN, TN): C is computed in 8×48 tiles, 8 rows of op(A)
//     packed per k (so both A layouts cost one cheap pack of the small
//     operand) times 48 contiguous columns of B read in place; k is split
//     into blocks of kcNN so a 48-column panel of B stays in L1 while every
//     tile of rows passes over it.
//   - op(B) = Bᵀ (NT, the weight gradients): rows of A and of B are both
//     contiguous, so C is computed in 4×6 blocks of dot products, 16 lanes
//     at a time, k blocked by kcDot so the rows stay in L2.

var useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && os.Getenv("CTRECON_GEMM") != "openblas"

const (
	mrNN  = 8
	nrNN  = 48
	kcNN  = 192
	kcDot = 512
)

//go:noescape
func kernNN(kc int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, rows int, m1, m2, m3 uint64, useBeta int)

//go:noescape
func kernDot(n16 int, tail uint64, ap *[4]*float32, bp *[6]*float32, out *[24]float32)

var packPool = sync.Pool{New: func() any { return new([]float32) }}

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

func colMasks(w int) (m1, m2, m3 uint64) {
	mask := func(v int) uint64 {
		v = max(0, min(16, v))
		return (1 << uint(v)) - 1
	}
	return mask(w), mask(w - 16), mask(w - 32)
}

// packA writes rows [0, m) and columns [k0, k0+kc) of op(A) as panels of
// mrNN rows, k-major ([panel][k][8]), zero-padding the last panel.
func packA(dst []float32, tA bool, a []float32, lda, m, k0, kc int) {
	for i0 := 0; i0 < m; i0 += mrNN {
		p := dst[i0*kc : (i0+mrNN)*kc]
		rows := min(mrNN, m-i0)
		if tA { // op(A)[i][k] = a[k·lda+i]: 8 contiguous values per k
			for kk := 0; kk < kc; kk++ {
				src := a[(k0+kk)*lda+i0:][:rows]
				d := p[kk*mrNN : kk*mrNN+mrNN]
				copy(d, src)
				clear(d[rows:])
			}
			continue
		}
		for r := 0; r < mrNN; r++ {
			if r >= rows {
				for kk := 0; kk < kc; kk++ {
					p[kk*mrNN+r] = 0
				}
				continue
			}
			src := a[(i0+r)*lda+k0:][:kc]
			for kk, v := range src {
				p[kk*mrNN+r] = v
			}
		}
	}
}

func gemmNN(tA bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mp := (m + mrNN - 1) / mrNN * mrNN
	buf := packPool.Get().(*[]float32)
	if need := mp * min(k, kcNN); cap(*buf) < need {
		*buf = make([]float32, need)
	}
	pack := (*buf)[:cap(*buf)]
	for k0 := 0; k0 < k; k0 += kcNN {
		kc := min(kcNN, k-k0)
		packA(pack, tA, a, lda, m, k0, kc)
		bt, useBeta := beta, 1
		if k0 > 0 {
			bt = 1
		} else if beta == 0 {
			useBeta = 0
		}
		for j0 := 0; j0 < n; j0 += nrNN {
			m1, m2, m3 := colMasks(n - j0)
			bp := &b[k0*ldb+j0]
			for i0 := 0; i0 < m; i0 += mrNN {
				kernNN(kc, &pack[i0*kc], bp, ldb, &c[i0*ldc+j0], ldc, alpha, bt, min(mrNN, m-i0), m1, m2, m3, useBeta)
			}
		}
	}
	packPool.Put(buf)
}

// gemmDot computes C = alpha·A·Bᵀ + beta·C with A m×k (row stride lda) and
// B n×k (row stride ldb).
func gemmDot(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	var ap [4]*float32
	var bp [6]*float32
	var out [24]float32
	for k0 := 0; k0 < k; k0 += kcDot {
		kc := min(kcDot, k-k0)
		n16, tail := kc/16, uint64(1)<<uint(kc%16)-1
		bt := beta
		if k0 > 0 {
			bt = 1
		}
		for i0 := 0; i0 < m; i0 += 4 {
			ri := min(4, m-i0)
			for r := range ap {
				ap[r] = &a[(i0+min(r, ri-1))*lda+k0]
			}
			for j0 := 0; j0 < n; j0 += 6 {
				rj := min(6, n-j0)
				for s := range bp {
					bp[s] = &b[(j0+min(s, rj-1))*ldb+k0]
				}
				kernDot(n16, tail, &ap, &bp, &out)
				for r := 0; r < ri; r++ {
					row := c[(i0+r)*ldc+j0:][:rj]
					for s := range row {
						if bt == 0 {
							row[s] = alpha * out[r*6+s]
						} else {
							row[s] = alpha*out[r*6+s] + bt*row[s]
						}
					}
				}
			}
		}
	}
}
