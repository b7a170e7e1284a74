package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/phantoms"
)

// TestDesignResumeEndsWhereUninterruptedEnds: `ctrecon design` interrupted
// after its first saved step and continued with --resume writes the same
// table and results as a run straight through; without --resume it refuses
// to overwrite a study, and with other settings it refuses to mix them.
func TestDesignResumeEndsWhereUninterruptedEnds(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "rectangles", "--size", "16", "--angles", "24", "-o", p("full.h5"))
	args := func(out string) []string {
		return []string{"design", "--full", p("full.h5"), "--start", "3", "--budget", "6", "--refit-every", "3", "--eval", "3,6",
			"--samples", "16", "--dip-iters", "20", "--strategies", "eig,equal,golden", "-o", p(out)}
	}
	mustRun(t, args("whole")...)
	ctx, cancel := context.WithCancel(context.Background())
	afterDesignSave = cancel
	_, err := run(t, ctx, args("part")...)
	afterDesignSave = nil
	if err == nil {
		t.Fatal("the interrupted run did not stop")
	}
	if _, err := os.Stat(p("part/table.md")); err == nil {
		t.Fatal("an interrupted study wrote its table")
	}
	if _, err := run(t, context.Background(), args("part")...); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("rerun without --resume: err = %v", err)
	}
	other := append(args("part"), "--resume", "--samples", "8")
	if _, err := run(t, context.Background(), other...); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Fatalf("resume with other settings: err = %v", err)
	}
	cf := append(args("cf"), "--closed-form")
	if _, err := run(t, context.Background(), cf...); err == nil || !strings.Contains(err.Error(), "--regime exact") {
		t.Fatalf("--closed-form with the matrix-free default: err = %v", err)
	}
	if _, err := os.Stat(p("cf")); err == nil {
		t.Fatal("a refused --closed-form run made its output folder")
	}
	// A fan-beam full scan is refused (the study's baselines are parallel
	// beam), pointing to plan, with no output.
	mustRun(t, "simulate", "--phantom", "rectangles", "--size", "16", "--angles", "24", "--geometry", "fan",
		"--source-distance", "30", "--detector-distance", "20", "-o", p("fan.h5"))
	fan := args("fan")
	fan[2] = p("fan.h5")
	if _, err := run(t, context.Background(), fan...); err == nil || !strings.Contains(err.Error(), "ctrecon plan plans fan-beam scans") {
		t.Fatalf("design on a fan-beam scan: err = %v", err)
	}
	if _, err := os.Stat(p("fan")); err == nil {
		t.Fatal("a refused fan-beam study made its output folder")
	}
	// --report tabulates what is saved so far, computing nothing: only
	// images on which every strategy finished enter the tables (none yet);
	// the run under way is named.
	mustRun(t, append(args("part"), "--report")...)
	if b, err := os.ReadFile(p("part/table.md")); err != nil || strings.Contains(string(b), "| eig |") ||
		!strings.Contains(string(b), "Runs under way: full:0/seed0 eig (") {
		t.Fatalf("report of the partial study: %v\n%s", err, b)
	}
	mustRun(t, append(args("part"), "--resume")...)
	a, _ := os.ReadFile(p("whole/table.md"))
	b, _ := os.ReadFile(p("part/table.md"))
	// The first line names the output-independent settings; the cost table
	// holds wall times, which differ run to run.
	strip := func(s []byte) string { x, _, _ := strings.Cut(string(s), "Cost of one refit"); return x }
	if strip(a) != strip(b) || !strings.Contains(string(a), "| eig |") {
		t.Fatalf("resumed table differs:\n%s\n---\n%s", a, b)
	}
	r1, err := h5io.Open(p("whole/results.h5"))
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, _ := h5io.Open(p("part/results.h5"))
	defer r2.Close()
	for _, ds := range []string{"/study/eig/psnr_dip", "/study/eig/acquired_candidates", "/study/golden/psnr_tv", "/study/equal/ssim_dip"} {
		x, _, err1 := r1.Float64(ds, 2)
		y, _, err2 := r2.Float64(ds, 2)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", ds, err1, err2)
		}
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("%s[%d]: %g uninterrupted, %g resumed", ds, i, x[i], y[i])
			}
		}
	}
}

// TestDesignPartsMergeToTheWhole: a study spread over two folders by
// --images and joined by --report --merge gives the table and results of
// the same study run in one folder; parts run with other settings, and
// --merge without --report, are refused.
func TestDesignPartsMergeToTheWhole(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "rectangles", "--size", "16", "--count", "2", "--angles", "24", "-o", p("full.h5"))
	args := func(out string, extra ...string) []string {
		a := []string{"design", "--full", p("full.h5"), "--start", "3", "--budget", "6", "--refit-every", "3", "--eval", "3,6",
			"--samples", "16", "--dip-iters", "20", "--strategies", "eig,equal", "-o", p(out)}
		return append(a, extra...)
	}
	mustRun(t, args("whole")...)
	mustRun(t, args("a", "--images", "0:1")...)
	mustRun(t, args("b", "--images", "1:2")...)
	mustRun(t, args("all", "--report", "--merge", p("a")+","+p("b"))...)
	strip := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		x, _, _ := strings.Cut(string(b), "Cost of one refit")
		return x
	}
	whole, merged := strip(p("whole/table.md")), strip(p("all/table.md"))
	if whole != merged || !strings.Contains(whole, "2 runs") {
		t.Fatalf("merged table differs from the whole study's:\n%s\n---\n%s", whole, merged)
	}
	if a := strip(p("a/table.md")); !strings.Contains(a, "1 runs") {
		t.Fatalf("part a's table does not hold one image:\n%s", a)
	}
	// The per-image rows give each rectangles phantom's orientation, the
	// one the scan's seed draws.
	for k := range 2 {
		ph, err := phantoms.Builtin("rectangles", 1, k)
		if err != nil {
			t.Fatal(err)
		}
		deg, _ := ph.RectangleOrientation()
		if row := fmt.Sprintf("| full:%d/seed0 | %.0f° |", k, deg); !strings.Contains(merged, row) {
			t.Errorf("merged table lacks the row %q:\n%s", row, merged)
		}
	}
	if _, err := run(t, context.Background(), args("c", "--images", "1:2", "--samples", "8")...); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, context.Background(), args("bad", "--report", "--merge", p("a")+","+p("c"))...); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Fatalf("merging a part with other settings: err = %v", err)
	}
	if _, err := run(t, context.Background(), args("bad2", "--merge", p("a"))...); err == nil || !strings.Contains(err.Error(), "--report") {
		t.Fatalf("--merge without --report: err = %v", err)
	}
	if _, err := run(t, context.Background(), args("bad3", "--images", "1:5")...); err == nil {
		t.Fatal("--images beyond the two images was accepted")
	}
}
