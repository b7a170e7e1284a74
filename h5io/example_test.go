package h5io_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ctrecon/ctrecon/h5io"
)

func ExampleWriteScan() {
	dir, _ := os.MkdirTemp("", "h5io")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "scan.h5")
	scan := &h5io.Scan{
		ThetaDeg: []float64{0, 90}, Slices: 1, NDet: 3,
		Data:      []float32{1, 2, 3, 4, 5, 6},
		ImageSize: 2, DetSpacing: 1,
	}
	if err := h5io.WriteScan(path, scan); err != nil {
		fmt.Println(err)
		return
	}
	back, _ := h5io.ReadScan(path)
	fmt.Println(back.Angles(), back.NDet, back.Sinogram(nil, 0))
	// Output: 2 3 [1 2 3 4 5 6]
}
