package blas

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
// int openblas_get_num_threads(void);
// char* openblas_get_corename(void);
import "C"

import (
	"github.com/ctrecon/ctrecon/internal/sgemm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

func init() {
	blas32.Use(netlib.Implementation{})
	// One OpenBLAS thread: callers parallelise with par.For (see doc.go).
	C.openblas_set_num_threads(1)
}

// CoreName is the name of the OpenBLAS kernel set in use (e.g. "Haswell",
// "SkylakeX"), for benchmark records. OpenBLAS picks it at load time from
// the CPU, or from the environment variable OPENBLAS_CORETYPE; on the
// AVX-512 development machine the AVX-512 kernels run sgemm ~1.6× faster
// than the AVX2 ("Haswell") ones (docs/BENCHMARKS.md).
func CoreName() string { return C.GoString(C.openblas_get_corename()) }

// OpenBLASThreads returns the thread count OpenBLAS uses inside one call.
func OpenBLASThreads() int { return int(C.openblas_get_num_threads()) }

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// where op(X) is X or Xᵀ according to tA and tB; op(A) is m×k, op(B) is
// k×n, C is m×n, and lda, ldb, ldc are the row strides. It runs on the
// calling goroutine with OpenBLAS's own thread count (1 by default).
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if beta != 1 {
			for i := 0; i < m; i++ {
				row := c[i*ldc : i*ldc+n]
				for j := range row {
					row[j] *= beta
				}
			}
		}
		return
	}
	checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if sgemm.Compute(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	blas32.Implementation().Sgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// checkGemm panics, as gonum's BLAS does, when a stride is smaller than a
// row or a slice is too short for the matrix it holds: the assembly
// kernels index raw pointers.
func checkGemm(tA, tB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) {
		panic("blas: Sgemm stride smaller than a row")
	}
	if la < (ar-1)*lda+ac || lb < (br-1)*ldb+bc || lc < (m-1)*ldc+n {
		panic("blas: Sgemm slice too short")
	}
}
