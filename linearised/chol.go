package linearised

// The exact MLL step is dominated by a Cholesky factorisation and inverse
// of the m_y×m_y K_yy; OpenBLAS's LAPACK does both 5× faster than gonum's
// pure-Go LAPACK (19 ms vs 100 ms at m_y = 940 on the 2-core machine).
// The project links OpenBLAS already (internal/blas); the Fortran symbols
// need no LAPACKE.

// #cgo LDFLAGS: -lopenblas
// void dpotrf_(char*, int*, double*, int*, int*);
// void dpotri_(char*, int*, double*, int*, int*);
import "C"

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
