package linearised

// The exact regime's hot spots are float64 dense algebra: the K_yy terms
// (GEMM, 6·m_y²·n flops), a Cholesky factorisation and inverse of K_yy per
// MLL step, and the GEMMs of the posterior variances. OpenBLAS does the
// factorisation and inverse 5× faster than gonum's pure-Go LAPACK (19 ms
// vs 100 ms at m_y = 940 on the 2-core machine). The project links
// OpenBLAS already (internal/blas, which keeps it at one thread per call:
// the callers here parallelise with par.For); the Fortran and CBLAS symbols
// need no LAPACKE.

// #cgo LDFLAGS: -lopenblas
// void dpotrf_(char*, int*, double*, int*, int*);
// void dpotri_(char*, int*, double*, int*, int*);
// void cblas_dgemm(int order, int ta, int tb, int m, int n, int k, double alpha,
//	const double *a, int lda, const double *b, int ldb, double beta, double *c, int ldc);
// void cblas_dtrsm(int order, int side, int uplo, int ta, int diag, int m, int n,
//	double alpha, const double *a, int lda, double *b, int ldb);
import "C"

import (
	"github.com/ctrecon/ctrecon/internal/blas"
	"github.com/ctrecon/ctrecon/internal/par"
)

// withBLASThreads runs f (large OpenBLAS calls from this goroutine —
// Cholesky, inverse, big GEMMs — with nothing else using OpenBLAS
// meanwhile) with OpenBLAS at par.Threads() threads: each is a single call,
// so the project's usual one-thread setting would leave the other cores
// idle (at m_y = 820 the factorisation and inverse were half of an MLL
// step's time on one core).
func withBLASThreads(f func()) {
	if t := par.Threads(); t > 1 {
		blas.SetOpenBLASThreads(t)
		defer blas.SetOpenBLASThreads(1)
	}
	f()
}

// dgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float64
// matrices (op(A) m×k, op(B) k×n, strides lda, ldb, ldc), on the calling
// goroutine.
func dgemm(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		if k == 0 && beta != 1 {
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					c[i*ldc+j] *= beta
				}
			}
		}
		return
	}
	const rowMajor, noTrans, trans = 101, 111, 112
	ta, tb := C.int(noTrans), C.int(noTrans)
	if tA {
		ta = trans
	}
	if tB {
		tb = trans
	}
	C.cblas_dgemm(rowMajor, ta, tb, C.int(m), C.int(n), C.int(k), C.double(alpha),
		(*C.double)(&a[0]), C.int(lda), (*C.double)(&b[0]), C.int(ldb), C.double(beta),
		(*C.double)(&c[0]), C.int(ldc))
}

// cholUpper factorises the SPD matrix whose upper triangle is stored
// row-major in a (m×m, stride m) as K = UᵀU, U overwriting that triangle.
// A row-major upper triangle is a column-major lower one, hence 'L'.
func cholUpper(a []float64, m int) bool {
	if m == 0 {
		return true
	}
	uplo := C.char('L')
	n := C.int(m)
	var info C.int
	withBLASThreads(func() { C.dpotrf_(&uplo, &n, (*C.double)(&a[0]), &n, &info) })
	return info == 0
}

// cholInvUpper overwrites the factor U from cholUpper by the upper
// triangle of K⁻¹.
func cholInvUpper(a []float64, m int) bool {
	if m == 0 {
		return true
	}
	uplo := C.char('L')
	n := C.int(m)
	var info C.int
	withBLASThreads(func() { C.dpotri_(&uplo, &n, (*C.double)(&a[0]), &n, &info) })
	return info == 0
}

// cholSolveRows overwrites the k rows of b (k × m, row-major) by the
// solutions x of (UᵀU) x = b_row, for the upper factor U from cholUpper:
// X = B U⁻¹ U⁻ᵀ by two triangular solves from the right.
func cholSolveRows(u []float64, m int, b []float64, k int) {
	if m == 0 || k == 0 {
		return
	}
	const rowMajor, right, upper, noTrans, trans, nonUnit = 101, 142, 121, 111, 112, 131
	withBLASThreads(func() {
		C.cblas_dtrsm(rowMajor, right, upper, noTrans, nonUnit, C.int(k), C.int(m), 1, (*C.double)(&u[0]), C.int(m), (*C.double)(&b[0]), C.int(m))
		C.cblas_dtrsm(rowMajor, right, upper, trans, nonUnit, C.int(k), C.int(m), 1, (*C.double)(&u[0]), C.int(m), (*C.double)(&b[0]), C.int(m))
	})
}
