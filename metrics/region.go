package metrics

import "fmt"

// ObjectThreshold and ObjectDilate define the default object region: the
// pixels whose true value exceeds 0.01 (images are scaled to about [0, 1]),
// grown by one pixel so that the object's edges count.
const (
	ObjectThreshold = 0.01
	ObjectDilate    = 1
)

// ObjectMask marks the pixels of an n×n image whose value exceeds thresh,
// grown by dilate pixels (square neighbourhood): the "object region" on
// which accuracy and calibration are reported besides all pixels. Empty
// background, where a sigmoid output saturates, is easy and flatters the
// all-pixel numbers (DESIGN.md §5). Every command and study uses this one
// definition; ObjectRegion gives it with the defaults.
func ObjectMask(img []float32, n int, thresh float32, dilate int) []bool {
	if len(img) != n*n {
		panic(fmt.Errorf("metrics: ObjectMask: %d pixels for %d×%d", len(img), n, n))
	}
	mask := make([]bool, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if img[i*n+j] <= thresh {
				continue
			}
			for a := max(0, i-dilate); a <= min(n-1, i+dilate); a++ {
				for b := max(0, j-dilate); b <= min(n-1, j+dilate); b++ {
					mask[a*n+b] = true
				}
			}
		}
	}
	return mask
}

// ObjectRegion is ObjectMask with ObjectThreshold and ObjectDilate.
func ObjectRegion(truth []float32, n int) []bool {
	return ObjectMask(truth, n, ObjectThreshold, ObjectDilate)
}
