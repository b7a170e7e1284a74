package figures

import "testing"

// TestOrthoSlices: on a volume whose value encodes its own position
// (v = 10000·slice + 100·row + col), every plane holds exactly the voxels
// it names.
func TestOrthoSlices(t *testing.T) {
	const s, n = 4, 5
	vol := make([]float32, s*n*n)
	for k := 0; k < s; k++ {
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				vol[(k*n+i)*n+j] = float32(10000*k + 100*i + j)
			}
		}
	}
	ax, co, sa, err := OrthoSlices(vol, s, n, 2, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if ax[i*n+j] != float32(20000+100*i+j) {
				t.Fatalf("axial (%d, %d) = %v", i, j, ax[i*n+j])
			}
		}
	}
	for k := 0; k < s; k++ {
		for c := 0; c < n; c++ {
			if co[k*n+c] != float32(10000*k+300+c) {
				t.Fatalf("coronal (%d, %d) = %v", k, c, co[k*n+c])
			}
			if sa[k*n+c] != float32(10000*k+100*c+1) {
				t.Fatalf("sagittal (%d, %d) = %v", k, c, sa[k*n+c])
			}
		}
	}
	for _, at := range [][3]int{{4, 0, 0}, {0, 5, 0}, {0, 0, -1}} {
		if _, _, _, err := OrthoSlices(vol, s, n, at[0], at[1], at[2]); err == nil {
			t.Errorf("voxel %v accepted", at)
		}
	}
	if _, _, _, err := OrthoSlices(vol[1:], s, n, 0, 0, 0); err == nil {
		t.Error("wrong length accepted")
	}
}
