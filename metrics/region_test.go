package metrics

import "testing"

func TestObjectMaskGrowsByDilate(t *testing.T) {
	img := make([]float32, 25)
	img[12] = 1 // centre of 5×5
	m := ObjectMask(img, 5, 0.5, 1)
	for i, v := range m {
		r, c := i/5, i%5
		want := r >= 1 && r <= 3 && c >= 1 && c <= 3
		if v != want {
			t.Fatalf("pixel (%d,%d): %v, want %v", r, c, v, want)
		}
	}
}

func TestObjectRegionThreshold(t *testing.T) {
	// A value at the threshold is background; just above it is object.
	img := make([]float32, 49)
	img[0] = ObjectThreshold
	img[48] = 2 * ObjectThreshold
	m := ObjectRegion(img, 7)
	if m[0] || m[1] {
		t.Fatal("a pixel at the threshold counted as object")
	}
	if !m[48] || !m[40] || m[32] {
		t.Fatalf("corner object grown wrongly: %v %v %v", m[48], m[40], m[32])
	}
}
