package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/h5io"
)

// TestTruncatedDetectorWarns: 3 bins for a 32² image reconstructs, but with
// a warning on stderr; the default detector gets none.
func TestTruncatedDetectorWarns(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "32", "--angles", "10", "--ndet", "3", "-o", p("narrow.h5"))
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "32", "--angles", "10", "-o", p("full.h5"))
	for _, c := range []struct {
		scan string
		warn bool
	}{{"narrow.h5", true}, {"full.h5", false}} {
		for _, args := range [][]string{{"fbp"}, {"tv", "--iters", "5"}} {
			cmd := args[0]
			out := mustRun(t, append(args, "-i", p(c.scan), "-o", p(cmd+c.scan))...)
			got := strings.Contains(out, "does not cover the 32×32 image")
			if got != c.warn {
				t.Errorf("%s %s: warning %v, want %v; output:\n%s", cmd, c.scan, got, c.warn, out)
			}
			if got && !strings.Contains(out, "truncated") {
				t.Errorf("%s %s: the warning does not say the projections are truncated:\n%s", cmd, c.scan, out)
			}
		}
	}
	// The default detector, and the image size a file without image_size
	// gets, always cover the image.
	for n := 1; n <= 600; n++ {
		if truncatedWarns(t, n, h5io.DefaultNDet(n), 1) {
			t.Fatalf("the default detector for N = %d (%d bins) is called truncated", n, h5io.DefaultNDet(n))
		}
	}
	for _, sp := range []float64{0.5, 1, 1.5, 2.5} {
		for nd := 1; nd < 400; nd += 7 {
			n := h5io.ImageSizeForDetector(nd, sp)
			if float64(h5io.DefaultNDet(n)) > float64(nd)*sp {
				continue // too narrow for any image: its "at least 1"
			}
			if truncatedWarns(t, n, nd, sp) {
				t.Fatalf("ImageSizeForDetector(%d, %g) = %d is called truncated", nd, sp, n)
			}
		}
	}
}

// truncatedWarns reports whether warnTruncated warns about a one-angle
// parallel-beam scan of an n×n image with ndet bins of width spacing.
func truncatedWarns(t *testing.T, n, ndet int, spacing float64) bool {
	t.Helper()
	var b strings.Builder
	s := &h5io.Scan{ThetaDeg: []float64{0}, Slices: 1, NDet: ndet, ImageSize: n, DetSpacing: spacing}
	warnTruncated(&b, "x.h5", s)
	return b.Len() > 0
}

// TestScanRankRefused: /exchange/data of rank 1 or 4 is refused with an
// error that names the dataset and its shape.
func TestScanRankRefused(t *testing.T) {
	d := t.TempDir()
	for _, shape := range [][]int{{10}, {10, 1, 45, 1}} {
		path := filepath.Join(d, "rank.h5")
		w, err := h5io.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		n := 1
		for _, s := range shape {
			n *= s
		}
		theta := make([]float64, shape[0])
		for i := range theta {
			theta[i] = 18 * float64(i)
		}
		w.Float32("/exchange/data", shape, make([]float32, n), h5io.DatasetOptions{})
		w.Float64("/exchange/theta", []int{len(theta)}, theta, h5io.DatasetOptions{})
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		_, err = run(t, context.Background(), "fbp", "-i", path, "-o", filepath.Join(d, "out.h5"))
		want := "/exchange/data has rank " + map[int]string{1: "1 (shape [10])", 4: "4 (shape [10 1 45 1])"}[len(shape)]
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("rank %d: error %v, want one saying %q", len(shape), err, want)
		}
	}
}
