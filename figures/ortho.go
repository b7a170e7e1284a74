package figures

import "fmt"

// OrthoSlices returns the three orthogonal planes of a volume of slices×n×n
// values (row-major [slice][row][col]) through the voxel (k, i, j): the
// axial plane (slice k, n×n), the coronal plane (row i of every slice,
// slices×n: slice index down, column across) and the sagittal plane
// (column j of every slice, slices×n: slice index down, row across). A
// position outside the volume is an error.
func OrthoSlices(vol []float32, slices, n, k, i, j int) (axial, coronal, sagittal []float32, err error) {
	if len(vol) != slices*n*n {
		return nil, nil, nil, fmt.Errorf("figures: a %d×%d×%d volume needs %d values, got %d", slices, n, n, slices*n*n, len(vol))
	}
	if k < 0 || k >= slices || i < 0 || i >= n || j < 0 || j >= n {
		return nil, nil, nil, fmt.Errorf("figures: voxel (%d, %d, %d) is outside the %d×%d×%d volume", k, i, j, slices, n, n)
	}
	axial = append([]float32(nil), vol[k*n*n:(k+1)*n*n]...)
	coronal = make([]float32, slices*n)
	sagittal = make([]float32, slices*n)
	for s := 0; s < slices; s++ {
		copy(coronal[s*n:(s+1)*n], vol[s*n*n+i*n:s*n*n+(i+1)*n])
		for r := 0; r < n; r++ {
			sagittal[s*n+r] = vol[s*n*n+r*n+j]
		}
	}
	return axial, coronal, sagittal, nil
}
