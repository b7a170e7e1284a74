package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/h5io"
)

func TestParseRange(t *testing.T) {
	for _, c := range []struct {
		s    string
		want Range
	}{{"", Range{0, 10}}, {"2:5", Range{2, 5}}, {":3", Range{0, 3}}, {"7:", Range{7, 10}}, {":", Range{0, 10}}, {"4", Range{4, 5}}, {" 1 : 2 ", Range{1, 2}}} {
		r, err := ParseRange(c.s, 10)
		if err != nil || r != c.want {
			t.Errorf("%q: %v, %v; want %v", c.s, r, err, c.want)
		}
	}
	for _, s := range []string{"5:5", "6:2", "-1:3", "0:11", "10", "a:b", "1.5:3"} {
		if r, err := ParseRange(s, 10); err == nil {
			t.Errorf("%q accepted as %v", s, r)
		}
	}
}

func oneSlice(v float32) *h5io.Recon {
	rc := &h5io.Recon{Method: "dip", Image: h5io.NewVolume(1, 2)}
	for i := range rc.Image.Data {
		rc.Image.Data[i] = v
	}
	rc.Groups = []h5io.Group{{Path: h5io.SlicesGroup, Arrays: []h5io.Array{{Name: "iterations", Shape: []int{1}, Data: []float32{v}}}}}
	return rc
}

func TestJobSavesResumesAndAssembles(t *testing.T) {
	d := t.TempDir()
	j := Job{Dir: SliceDir(filepath.Join(d, "out.h5")), Fingerprint: "tv=1", Range: Range{1, 4}, ScanSlices: 6}
	if err := j.Start(false); err != nil {
		t.Fatal(err)
	}
	for k := 1; k < 3; k++ {
		if err := j.Save(k, oneSlice(float32(k))); err != nil {
			t.Fatal(err)
		}
	}
	// An interrupted run's folder is not silently reused or overwritten.
	if err := j.Start(false); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("restart without --resume: %v", err)
	}
	if err := j.Start(true); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[int]bool{1: true, 2: true, 3: false} {
		if done, err := j.Done(k); err != nil || done != want {
			t.Errorf("Done(%d) = %v, %v; want %v", k, done, err, want)
		}
	}
	// Other settings: refused, naming both.
	other := j
	other.Fingerprint = "tv=2"
	if _, err := other.Done(1); err == nil || !strings.Contains(err.Error(), "tv=2") {
		t.Errorf("other settings: %v", err)
	}
	if _, err := j.Assemble(); err == nil {
		t.Error("assembled with slice 3 missing")
	}
	if err := j.Save(3, oneSlice(3)); err != nil {
		t.Fatal(err)
	}
	out, err := j.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	if s, ss := out.SliceRange(); s != 1 || ss != 6 || out.Image.Slices != 3 {
		t.Fatalf("assembled slices %d from %d of %d", out.Image.Slices, s, ss)
	}
	if out.Image.Data[0] != 1 || out.Image.Data[4] != 2 || out.Image.Data[8] != 3 || out.Group(h5io.SlicesGroup).Arrays[0].Data[2] != 3 {
		t.Fatal("slices assembled out of order")
	}
	if _, ok := out.AttrString(attrFingerprint); ok {
		t.Error("the job fingerprint leaked into the output")
	}
	if err := j.Clean(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(j.Dir); !os.IsNotExist(err) {
		t.Error("folder left after Clean")
	}
}

// TestEachSkipsFinishedSlicesAndCleansUpAFailedStart: Each runs do for the
// unfinished slices only and skip, in order, for the finished ones; a run
// that fails before finishing a slice leaves no folder behind, one that
// fails later keeps its finished slices for a resume.
func TestEachSkipsFinishedSlicesAndCleansUpAFailedStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out.h5.slices")
	j := Job{Dir: dir, Fingerprint: "fp", Range: Range{Lo: 2, Hi: 5}, ScanSlices: 6}
	boom := errors.New("boom")
	if err := j.Each(false, nil, func(k int) (*h5io.Recon, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("first slice failing: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a run that finished no slice left its folder")
	}
	var did []int
	if err := j.Each(false, nil, func(k int) (*h5io.Recon, error) {
		if k == 4 {
			return nil, boom
		}
		did = append(did, k)
		return oneSlice(float32(k)), nil
	}); !errors.Is(err, boom) {
		t.Fatalf("third slice failing: %v", err)
	}
	var skipped []int
	did = nil
	if err := j.Each(true, func(k int) error { skipped = append(skipped, k); return nil }, func(k int) (*h5io.Recon, error) {
		did = append(did, k)
		return oneSlice(float32(k)), nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(skipped) != "[2 3]" || fmt.Sprint(did) != "[4]" {
		t.Errorf("resume skipped %v and ran %v, want [2 3] and [4]", skipped, did)
	}
	out, err := j.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	if out.Image.Slices != 3 {
		t.Errorf("assembled %d slices", out.Image.Slices)
	}
}
