package volume_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/volume"
)

// A per-slice job over slices 2:5 of a 6-slice scan is interrupted after
// slice 3 and resumed: the finished slices are skipped, the rest are done,
// and the parts assemble into one file's contents.
func Example() {
	dir, _ := os.MkdirTemp("", "volume-example")
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "recon.h5")
	job := volume.Job{Dir: volume.SliceDir(out), Fingerprint: "method=demo seed=1", Range: volume.Range{Lo: 2, Hi: 5}, ScanSlices: 6}
	interrupted := errors.New("interrupted")
	work := func(k int) (*h5io.Recon, error) {
		fmt.Println("computing slice", k)
		img := h5io.NewVolume(1, 2)
		for i := range img.Data {
			img.Data[i] = float32(k)
		}
		return &h5io.Recon{Method: "demo", Image: img}, nil
	}
	err := job.Each(false, nil, func(k int) (*h5io.Recon, error) {
		if k == 4 {
			return nil, interrupted
		}
		return work(k)
	})
	fmt.Println("first run:", err)
	err = job.Each(true, func(k int) error { fmt.Println("kept slice", k); return nil }, work)
	fmt.Println("resumed run:", err)
	rc, err := job.Assemble()
	if err != nil {
		panic(err)
	}
	fmt.Println("assembled", rc.Image.Slices, "slices:", rc.Image.Data)
	// Output:
	// computing slice 2
	// computing slice 3
	// first run: interrupted
	// kept slice 2
	// kept slice 3
	// computing slice 4
	// resumed run: <nil>
	// assembled 3 slices: [2 2 2 2 3 3 3 3 4 4 4 4]
}
