//go:build !amd64

package sgemm

// Compute computes C = alpha·op(A)·op(B) + beta·C like blas.Sgemm when it
// can and reports whether it did; the arguments are already checked.
func Compute(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	return false
}

const useAVX512 = false
