package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/h5io"
)

// TestMain lets a test start ctrecon as a separate process (the test binary
// re-executed with CTRECON_RUN_MAIN=1), to run two at the same time.
func TestMain(m *testing.M) {
	if os.Getenv("CTRECON_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// sameRecon compares two reconstruction files: images, stds, samples and
// every group array bit for bit, except timings.
func sameRecon(t *testing.T, what, a, b string) {
	t.Helper()
	ra, err := h5io.ReadRecon(a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := h5io.ReadRecon(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ra.Image.Data, rb.Image.Data) || (ra.Std == nil) != (rb.Std == nil) ||
		(ra.Std != nil && !slices.Equal(ra.Std.Data, rb.Std.Data)) || !slices.Equal(ra.Samples, rb.Samples) {
		t.Fatalf("%s: images, stds or samples differ", what)
	}
	if len(ra.Groups) != len(rb.Groups) {
		t.Fatalf("%s: groups %d vs %d", what, len(ra.Groups), len(rb.Groups))
	}
	for _, g := range ra.Groups {
		h := rb.Group(g.Path)
		if h == nil {
			t.Fatalf("%s: %s missing", what, g.Path)
		}
		for i, ar := range g.Arrays {
			if ar.Name == "seconds" || ar.Name == "uq_seconds" {
				continue
			}
			if !slices.Equal(ar.Data, h.Arrays[i].Data) || !slices.Equal(ar.Shape, h.Arrays[i].Shape) {
				t.Fatalf("%s: %s/%s differs", what, g.Path, ar.Name)
			}
		}
	}
}

// TestVolumePartsMergeToTheWholeRun: a 3-slice volume fitted by two
// processes at the same time (slices 0:1 and 1:3) and merged is the volume
// fitted in one process, for dip and for uncertainty; and an interrupted
// volume run resumed ends with the same file as an uninterrupted one.
func TestVolumePartsMergeToTheWholeRun(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "ellipses", "--count", "3", "--size", "16", "--angles", "8", "-o", p("vol.h5"))
	dipArgs := []string{"dip", "-i", p("vol.h5"), "--stop", "max", "--iters", "30", "--checkpoint-every", "10", "--threads", "1"}
	mustRun(t, append(dipArgs, "-o", p("whole.h5"))...)

	// Two processes at once, as two tasks of a job array would run.
	var procs []*exec.Cmd
	for i, r := range []string{"0:1", "1:3"} {
		c := exec.Command(os.Args[0], append([]string{"-q"}, append(dipArgs, "--slices", r, "-o", p("part"+string(rune('1'+i))+".h5"))...)...)
		c.Env = append(os.Environ(), "CTRECON_RUN_MAIN=1")
		var out strings.Builder
		c.Stdout, c.Stderr = &out, &out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, c)
		t.Cleanup(func() { _ = out })
	}
	for _, c := range procs {
		if err := c.Wait(); err != nil {
			t.Fatalf("%v: %v", c.Args, err)
		}
	}
	// Arguments out of order: merge sorts by slice range.
	mustRun(t, "merge", "-o", p("merged.h5"), p("part2.h5"), p("part1.h5"))
	sameRecon(t, "dip parts merged", p("merged.h5"), p("whole.h5"))
	m, _ := h5io.ReadRecon(p("merged.h5"))
	if s, ss := m.SliceRange(); s != 0 || ss != 3 || m.Image.Slices != 3 {
		t.Fatalf("merged range %d:%d of %d", s, s+m.Image.Slices, ss)
	}
	if tab := m.Group(h5io.SlicesGroup); tab == nil || tab.Get("iterations") == nil || tab.Get("iterations").Data[2] != 30 {
		t.Fatalf("per-slice table missing or wrong: %+v", tab)
	}

	// Uncertainty: of the whole DIP volume in one run, against each DIP
	// part's uncertainty merged (the second part taking its slices in two
	// --slices runs).
	uqArgs := []string{"uncertainty", "-i", p("vol.h5"), "--mll-steps", "5", "--samples", "2", "--threads", "1"}
	mustRun(t, append(uqArgs, "--recon", p("whole.h5"), "-o", p("uqwhole.h5"))...)
	mustRun(t, append(uqArgs, "--recon", p("part1.h5"), "-o", p("uq1.h5"))...)
	mustRun(t, append(uqArgs, "--recon", p("part2.h5"), "--slices", "1:2", "-o", p("uq2a.h5"))...)
	mustRun(t, append(uqArgs, "--recon", p("part2.h5"), "--slices", "2:3", "-o", p("uq2b.h5"))...)
	if _, err := run(t, context.Background(), append(uqArgs, "--recon", p("part2.h5"), "--slices", "0:2", "-o", p("uqbad.h5"))...); err == nil ||
		!strings.Contains(err.Error(), "holds slices 1:3") {
		t.Errorf("uncertainty outside the DIP file's range: %v", err)
	}
	mustRun(t, "merge", "-o", p("uqmerged.h5"), p("uq2b.h5"), p("uq1.h5"), p("uq2a.h5"))
	sameRecon(t, "uncertainty parts merged", p("uqmerged.h5"), p("uqwhole.h5"))
	uq, _ := h5io.ReadRecon(p("uqmerged.h5"))
	if tab := uq.Group(h5io.SlicesGroup); tab == nil || tab.Get("sigma_y") == nil || tab.Get("iterations") == nil || tab.Get("test_loglik") == nil {
		t.Fatal("the uncertainty's per-slice table lacks σ_y, the DIP's iterations or the calibration")
	}

	// Interrupted during slice 1 (after its first checkpoint), resumed.
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	afterCheckpoint = func() {
		calls++
		if calls == 4 { // slice 0 checkpoints at 10 and 20; slice 1 at 10, 20
			cancel()
		}
	}
	_, err := run(t, ctx, append(dipArgs, "-o", p("resumed.h5"))...)
	afterCheckpoint = nil
	if err == nil {
		t.Fatal("the interrupted run finished")
	}
	if _, err := os.Stat(p("resumed.h5")); err == nil {
		t.Fatal("an interrupted volume run wrote its output")
	}
	if _, err := os.Stat(filepath.Join(p("resumed.h5.slices"), "slice-00000.h5")); err != nil {
		t.Fatalf("slice 0 was not kept: %v", err)
	}
	if _, err := run(t, context.Background(), append(dipArgs, "-o", p("resumed.h5"))...); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("a rerun without --resume: %v", err)
	}
	mustRun(t, append(dipArgs, "-o", p("resumed.h5"), "--resume")...)
	sameRecon(t, "interrupted and resumed", p("resumed.h5"), p("whole.h5"))
	for _, left := range []string{"resumed.h5.slices", "resumed.h5.ckpt"} {
		if _, err := os.Stat(p(left)); err == nil {
			t.Errorf("%s left behind", left)
		}
	}

	// Merge refuses parts of other scans and overlapping parts.
	mustRun(t, "simulate", "--phantom", "ellipses", "--count", "3", "--size", "16", "--angles", "8", "--seed", "9", "-o", p("other.h5"))
	mustRun(t, "dip", "-i", p("other.h5"), "--stop", "max", "--iters", "30", "--threads", "1", "--slices", "1:3", "-o", p("otherpart.h5"))
	for _, c := range []struct {
		parts []string
		want  string
	}{
		{[]string{p("part1.h5"), p("otherpart.h5")}, "different scan"},
		{[]string{p("part2.h5"), p("whole.h5")}, "overlap"},
	} {
		_, err := run(t, context.Background(), append([]string{"merge", "-o", p("bad.h5")}, c.parts...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("merge %v: %v, want %q", c.parts, err, c.want)
		}
	}
	if _, err := run(t, context.Background(), "merge", "-o", p("bad.h5")); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "PART...") {
		t.Errorf("merge without parts: %v, want a usage error (exit 2)", err)
	}
	if _, err := os.Stat(p("bad.h5")); err == nil {
		t.Error("a refused merge wrote its output")
	}
}

// TestWarmStartContinuesFromThePreviousSlice: two identical slices, a
// fixed budget of 150 iterations (early in the fit, where PSNR still
// rises). Fitted from the seed both slices end identical; with --warm-start
// the second starts from the first's trained weights, so it ends where
// about 300 iterations would, with a higher PSNR than the cold fit.
func TestWarmStartContinuesFromThePreviousSlice(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "ellipses", "--size", "16", "--angles", "10", "-o", p("one.h5"))
	s, err := h5io.ReadScan(p("one.h5"))
	if err != nil {
		t.Fatal(err)
	}
	two := *s
	two.Slices = 2
	two.Data = make([]float32, 2*len(s.Data))
	gt := h5io.NewVolume(2, 16)
	copy(gt.Data, s.GroundTruth.Data)
	copy(gt.Data[256:], s.GroundTruth.Data)
	two.GroundTruth = &gt
	for k := 0; k < 2; k++ {
		two.SetSinogram(k, s.Sinogram(nil, 0))
	}
	if err := h5io.WriteScan(p("two.h5"), &two); err != nil {
		t.Fatal(err)
	}
	psnr := func(extra ...string) []float32 {
		out := p("w.h5")
		mustRun(t, append([]string{"dip", "-i", p("two.h5"), "--stop", "max", "--iters", "150", "--threads", "1", "-o", out}, extra...)...)
		rc, err := h5io.ReadRecon(out)
		if err != nil {
			t.Fatal(err)
		}
		return rc.Group(h5io.SlicesGroup).Get("psnr").Data
	}
	cold, warm := psnr(), psnr("--warm-start")
	t.Logf("PSNR per slice: cold %v, warm start %v", cold, warm)
	if cold[0] != cold[1] || warm[0] != cold[0] {
		t.Fatalf("identical slices fitted from the seed must end identical: cold %v, warm %v", cold, warm)
	}
	if !(warm[1] > cold[1]+0.1) {
		t.Fatalf("the warm-started slice did not continue the fit: %.2f vs %.2f dB", warm[1], cold[1])
	}
}

// TestPlotVolume: --volume draws the three planes of an image volume and of
// a reconstruction with its std (two rows), and refuses a voxel outside the
// volume, --at without --volume, and a 2D dataset.
func TestPlotVolume(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "phantom", "--kind", "ellipses", "--count", "3", "--size", "16", "-o", p("vol.h5"))
	mustRun(t, "plot", p("vol.h5"), "--volume", "-o", p("v.png"))
	mustRun(t, "simulate", "-i", p("vol.h5"), "--angles", "6", "-o", p("s.h5"))
	mustRun(t, "dip", "-i", p("s.h5"), "--stop", "max", "--iters", "5", "-o", p("dip.h5"))
	mustRun(t, "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--mll-steps", "2", "-o", p("uq.h5"))
	mustRun(t, "plot", p("uq.h5"), "--volume", "--at", "2,0,15", "-o", p("uq.png"))
	one, err := os.Stat(p("v.png"))
	if err != nil {
		t.Fatal(err)
	}
	two, err := os.Stat(p("uq.png"))
	if err != nil {
		t.Fatal(err)
	}
	// A row of three panels with colour bars is tens of kB; two rows more.
	if one.Size() < 10000 || two.Size() <= one.Size() {
		t.Errorf("PNG sizes %d (one row) and %d (image and std)", one.Size(), two.Size())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plot", p("vol.h5"), "--volume", "--at", "3,0,0", "-o", p("x.png")}, "outside"},
		{[]string{"plot", p("vol.h5"), "--volume", "--at", "1,2", "-o", p("x.png")}, "k,i,j"},
		{[]string{"plot", p("vol.h5"), "--at", "1,2,3", "-o", p("x.png")}, "--at is for --volume"},
		{[]string{"plot", p("s.h5"), "--volume", "--dataset", "/exchange/theta", "-o", p("x.png")}, "[slices][N][N] stack"},
	} {
		if _, err := run(t, context.Background(), c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args[1:], err, c.want)
		}
	}
	if _, err := os.Stat(p("x.png")); err == nil {
		t.Error("a refused plot wrote its PNG")
	}
}

// TestStudyFBPBestSearchesCutoffs: with 5% noise and 20 angles the best FBP
// is a window cut below Nyquist, so the oracle fbp-best (windows × cutoffs)
// must beat plain Hann at cutoff 1 by more than 1 dB on each image (measured
// 1.2–1.6 dB on these draws at 32²; 2–7 dB at 128², docs/RESULTS.md).
func TestStudyFBPBestSearchesCutoffs(t *testing.T) {
	d := t.TempDir()
	vals := filepath.Join(d, "v.json")
	mustRun(t, "study", "--images", "ellipses:2", "--size", "32", "--angles", "20", "--methods", "fbp", "--values", vals)
	b, err := os.ReadFile(vals)
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Method, Metric string
		Values         []float64
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	psnr := map[string][]float64{}
	for _, r := range rows {
		if r.Metric == "psnr" {
			psnr[r.Method] = r.Values
		}
	}
	if len(psnr["fbp"]) != 2 || len(psnr["fbp-best"]) != 2 {
		t.Fatalf("values: %v", psnr)
	}
	for i := range psnr["fbp"] {
		if gain := psnr["fbp-best"][i] - psnr["fbp"][i]; !(gain > 1) {
			t.Errorf("image %d: fbp-best %.2f dB, fbp %.2f dB", i, psnr["fbp-best"][i], psnr["fbp"][i])
		}
	}
}
