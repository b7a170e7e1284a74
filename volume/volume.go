package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ctrecon/ctrecon/h5io"
)

// Range is the half-open slice range [Lo, Hi) of a scan.
type Range struct{ Lo, Hi int }

// Len is the number of slices in r.
func (r Range) Len() int { return r.Hi - r.Lo }

func (r Range) String() string { return fmt.Sprintf("%d:%d", r.Lo, r.Hi) }

// ParseRange reads "a:b" (slices a to b−1; either end may be left out: ":b",
// "a:", ":"; a single "k" is k:k+1) against a scan of n slices. Empty s is
// the whole scan. Ranges outside [0, n) or empty are errors.
func ParseRange(s string, n int) (Range, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Range{0, n}, nil
	}
	num := func(t string, def int) (int, error) {
		t = strings.TrimSpace(t)
		if t == "" {
			return def, nil
		}
		v, err := strconv.Atoi(t)
		if err != nil {
			return 0, fmt.Errorf("slice range %q: %q is not a whole number", s, t)
		}
		return v, nil
	}
	var r Range
	var err error
	if lo, hi, ok := strings.Cut(s, ":"); ok {
		if r.Lo, err = num(lo, 0); err != nil {
			return r, err
		}
		if r.Hi, err = num(hi, n); err != nil {
			return r, err
		}
	} else {
		if r.Lo, err = num(s, 0); err != nil {
			return r, err
		}
		r.Hi = r.Lo + 1
	}
	if r.Lo < 0 || r.Hi > n || r.Lo >= r.Hi {
		return r, fmt.Errorf("slice range %s is empty or outside the scan's %d slice(s) (0:%d)", r, n, n)
	}
	return r, nil
}

// Job is per-slice work on the slices Range of a scan of ScanSlices slices,
// whose finished slices are kept in Dir, each as a one-slice reconstruction
// file stamped with Fingerprint (the scan and every setting that changes a
// slice's result).
type Job struct {
	Dir         string
	Fingerprint string
	Range       Range
	ScanSlices  int
}

const attrFingerprint = "job_fingerprint"

// SliceDir is the folder a command keeps out's finished slices in.
func SliceDir(out string) string { return out + ".slices" }

func (j Job) path(k int) string { return filepath.Join(j.Dir, fmt.Sprintf("slice-%05d.h5", k)) }

// Start prepares the job's folder. A folder from an earlier run is an error
// unless resume is set (then its slices are reused); resume without one
// starts afresh.
func (j Job) Start(resume bool) error {
	if _, err := os.Stat(j.Dir); err == nil && !resume {
		return fmt.Errorf("%s holds finished slices of an interrupted run: add --resume to continue it, or delete the folder to start again", j.Dir)
	}
	return os.MkdirAll(j.Dir, 0o777)
}

// Done reports whether slice k is finished. A slice file made with another
// fingerprint is an error (resuming with other settings would mix them).
func (j Job) Done(k int) (bool, error) {
	if _, err := os.Stat(j.path(k)); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	rc, err := j.Load(k)
	return rc != nil, err
}

// Load reads finished slice k.
func (j Job) Load(k int) (*h5io.Recon, error) {
	rc, err := h5io.ReadRecon(j.path(k))
	if err != nil {
		return nil, err
	}
	if fp, _ := rc.AttrString(attrFingerprint); fp != j.Fingerprint {
		return nil, fmt.Errorf("%s was made with other settings:\n  %s\nnow:\n  %s\nresume with the same flags, or delete %s", j.path(k), fp, j.Fingerprint, j.Dir)
	}
	if s, _ := rc.SliceRange(); s != k || rc.Image.Slices != 1 {
		return nil, fmt.Errorf("%s does not hold slice %d alone", j.path(k), k)
	}
	return rc, nil
}

// Save writes finished slice k (a one-slice reconstruction) atomically,
// stamped with its place in the scan and the job's fingerprint.
func (j Job) Save(k int, rc *h5io.Recon) error {
	if rc.Image.Slices != 1 {
		return fmt.Errorf("volume: slice %d: a slice result holds %d slices", k, rc.Image.Slices)
	}
	rc.SetSliceRange(k, j.ScanSlices)
	rc.SetAttr(attrFingerprint, j.Fingerprint)
	return h5io.WriteRecon(j.path(k), rc)
}

// Assemble merges the finished slices of the job's range into one file's
// contents (h5io.MergeRecon); every slice must be finished.
func (j Job) Assemble() (*h5io.Recon, error) {
	var parts []*h5io.Recon
	var names []string
	for k := j.Range.Lo; k < j.Range.Hi; k++ {
		rc, err := j.Load(k)
		if err != nil {
			return nil, err
		}
		parts, names = append(parts, rc), append(names, j.path(k))
	}
	out, err := h5io.MergeRecon(parts, names)
	if err != nil {
		return nil, err
	}
	// The fingerprint names the process's settings, not the file's content.
	var keep []h5io.Attr
	for _, a := range out.Attrs {
		if a.Name != attrFingerprint {
			keep = append(keep, a)
		}
	}
	out.Attrs = keep
	return out, nil
}

// Each starts the job (Start) and runs do for every slice of its range
// that is not finished, saving each result as it comes; skip, when not nil,
// is called instead for the slices an earlier run finished (in order, so a
// warm start can pick up the last one). If it fails before a slice is
// finished it leaves nothing behind (Abandon).
func (j Job) Each(resume bool, skip func(k int) error, do func(k int) (*h5io.Recon, error)) (err error) {
	if err := j.Start(resume); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			j.Abandon()
		}
	}()
	for k := j.Range.Lo; k < j.Range.Hi; k++ {
		done, err := j.Done(k)
		if err != nil {
			return err
		}
		if done {
			if skip != nil {
				if err := skip(k); err != nil {
					return err
				}
			}
			continue
		}
		rc, err := do(k)
		if err != nil {
			return err
		}
		if err := j.Save(k, rc); err != nil {
			return err
		}
	}
	return nil
}

// Abandon removes the job's folder if no slice was finished in it (a run
// refused or failed before its first slice leaves nothing behind that a
// rerun would have to --resume).
func (j Job) Abandon() {
	if entries, err := os.ReadDir(j.Dir); err == nil && len(entries) == 0 {
		os.Remove(j.Dir)
	}
}

// Clean removes the job's folder (after the output is written).
func (j Job) Clean() error { return os.RemoveAll(j.Dir) }

// AssemblyBytes is about what Assemble holds at once for slices of n² pixels
// with perSlice other float32 values each (parameters, samples, inputs): the
// parts and the merged copy.
func AssemblyBytes(slices, n int, perSlice int64) int64 {
	return 2 * int64(slices) * (int64(n*n) + perSlice) * 4
}
