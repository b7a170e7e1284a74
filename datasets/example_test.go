package datasets_test

import (
	"fmt"
	"path/filepath"

	"github.com/ctrecon/ctrecon/datasets"
)

// Hounsfield units to the scaled attenuation that ctrecon projects.
func ExampleMuFromHU() {
	hu := []float32{-1000, 0, 1000, 2000} // air, water, bone, dense bone
	mu := make([]float32, len(hu))
	datasets.MuFromHU(mu, hu)
	fmt.Printf("%.3f\n", mu)
	// Output: [0.000 0.333 0.667 1.000]
}

// The middle slice of the head CT at 128×128, if `make data` has run.
func ExampleCraniumSlices() {
	path, err := datasets.Locate(datasets.CraniumFile)
	if err != nil {
		fmt.Println(err) // says to run `make data`
		return
	}
	vol, err := datasets.CraniumSlices(filepath.Dir(path), 54, 55, 128)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(vol.N, len(vol.Slice(0)))
}
