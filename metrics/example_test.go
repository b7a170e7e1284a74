package metrics_test

import (
	"fmt"

	"github.com/ctrecon/ctrecon/metrics"
)

// A 4×4 image with one bright pixel, and a reconstruction that is off by
// 0.1 everywhere: PSNR against the truth's range (1), and the object region
// (the bright pixel grown by one).
func Example() {
	n := 4
	truth := make([]float32, n*n)
	truth[1*n+1] = 1
	rec := make([]float32, n*n)
	for i := range rec {
		rec[i] = truth[i] + 0.1
	}
	fmt.Printf("PSNR %.1f dB\n", metrics.PSNR(rec, truth, 0)) // 10·log10(1/0.01)
	obj := metrics.ObjectRegion(truth, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if obj[i*n+j] {
				fmt.Print("#")
			} else {
				fmt.Print(".")
			}
		}
		fmt.Println()
	}
	// Output:
	// PSNR 20.0 dB
	// ###.
	// ###.
	// ###.
	// ....
}
