package linearised

// The exact regime's hot spots are float64 dense algebra: the K_yy terms
// (GEMM, 6·m_y²·n flops), a Cholesky factorisation and inverse of K_yy per
// MLL step, and the GEMMs of the posterior variances. OpenBLAS does the
// factorisation and inverse 5× faster than gonum's pure-Go LAPACK (19 ms
// vs 100 ms at m_y = 940 on the 2-core machine). The project links
// OpenBLAS already (internal/blas); the Fortran and CBLAS symbols need no
// LAPACKE.
//
// OpenBLAS stays at one thread here too: large GEMMs and triangular
// solves are split into row blocks over par.For, and the factorisation and
// inverse run on one core. OpenBLAS's own threads wait for each other by
// spinning, so when other processes share the cores a multi-threaded call
// stalls whenever one of its threads is descheduled: `ctrecon uncertainty`
// on the demo's scan (32², exact regime) took 401–434 s with two OpenBLAS
// threads beside two busy processes on the 2-core machine, and 104 s with
// one, while alone on the machine the two threads saved only 7% (46 s
// against 49–50 s). Go's workers block instead of spinning.

// #cgo LDFLAGS: -lopenblas
// void dpotrf_(char*, int*, double*, int*, int*);
// void dpotri_(char*, int*, double*, int*, int*);
// void cblas_dgemm(int order, int ta, int tb, int m, int n, int k, double alpha,
//	const double *a, int lda, const double *b, int ldb, double beta, double *c, int ldc);
// void cblas_dtrsm(int order, int side, int uplo, int ta, int diag, int m, int n,
//	double alpha, const double *a, int lda, double *b, int ldb);
import "C"

import (
	_ "github.com/ctrecon/ctrecon/internal/blas" // its init pins OpenBLAS to one thread
	"github.com/ctrecon/ctrecon/internal/par"
)

// rowGrain is the fewest rows of C (or of a triangular solve's B) one
// par.For worker takes: below it the split costs more than it saves.
const rowGrain = 32

// dgemmRows is dgemm with the rows of C split over par.For, each block a
// single-threaded OpenBLAS call (the rows of op(A) start at a[lo·lda], or at
// a[lo] when A is transposed).
func dgemmRows(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	par.ForGrain(m, rowGrain, func(lo, hi int) {
		off := lo * lda
		if tA {
			off = lo
		}
		dgemm(tA, tB, hi-lo, n, k, alpha, a[off:], lda, b, ldb, beta, c[lo*ldc:], ldc)
	})
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
	C.dpotrf_(&uplo, &n, (*C.double)(&a[0]), &n, &info)
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
	C.dpotri_(&uplo, &n, (*C.double)(&a[0]), &n, &info)
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
	// Each row's solve is independent: row blocks over par.For.
	par.ForGrain(k, rowGrain, func(lo, hi int) {
		bl := (*C.double)(&b[lo*m])
		C.cblas_dtrsm(rowMajor, right, upper, noTrans, nonUnit, C.int(hi-lo), C.int(m), 1, (*C.double)(&u[0]), C.int(m), bl, C.int(m))
		C.cblas_dtrsm(rowMajor, right, upper, trans, nonUnit, C.int(hi-lo), C.int(m), 1, (*C.double)(&u[0]), C.int(m), bl, C.int(m))
	})
}
