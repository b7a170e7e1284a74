package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/pipeline"
	"github.com/ctrecon/ctrecon/radon"
)

// run executes ctrecon with args (as the shell would) and returns stdout.
func run(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	g = globals{}
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"-q"}, args...))
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, context.Background(), args...)
	if err != nil {
		t.Fatalf("ctrecon %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func TestPipelinePhantomSimulateFBP(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "phantom", "--kind", "shepp-logan", "--size", "64", "-o", p("sl.h5"))
	mustRun(t, "simulate", "-i", p("sl.h5"), "--angles", "60", "--noise", "0", "-o", p("scan.h5"))
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "64", "--analytic", "--angles", "60",
		"--noise", "0.05", "-o", p("ascan.h5"))
	mustRun(t, "fbp", "-i", p("scan.h5"), "-o", p("fbp.h5"))
	mustRun(t, "fbp", "-i", p("ascan.h5"), "--filter", "ramp", "-o", p("afbp.h5"))

	scan, err := h5io.ReadScan(p("ascan.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if scan.Angles() != 60 || scan.NDet != h5io.DefaultNDet(64) || scan.NoiseRel != 0.05 || !(scan.NoiseStd > 0) {
		t.Fatalf("scan metadata: %d angles, %d bins, η %v, σ %v", scan.Angles(), scan.NDet, scan.NoiseRel, scan.NoiseStd)
	}
	// The stored σ is η·mean|Ax| of the clean data: the residual against a
	// noise-free projection of the same phantom has that standard deviation.
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "64", "--analytic", "--angles", "60",
		"--noise", "0", "-o", p("clean.h5"))
	clean, _ := h5io.ReadScan(p("clean.h5"))
	var ss, sabs float64
	for i, v := range scan.Data {
		d := float64(v - clean.Data[i])
		ss += d * d
		sabs += math.Abs(float64(clean.Data[i]))
	}
	m := float64(len(scan.Data))
	if sd := math.Sqrt(ss / m); math.Abs(sd/scan.NoiseStd-1) > 0.05 { // 10980 samples: s.e. of sd ≈ 0.7%
		t.Fatalf("noise sd %v, file says %v", sd, scan.NoiseStd)
	}
	if want := 0.05 * sabs / m; math.Abs(scan.NoiseStd/want-1) > 1e-6 {
		t.Fatalf("noise_std %v, want η·mean|Ax| = %v", scan.NoiseStd, want)
	}
	// The command's output is radon.FBP (Hann, the default) of the stored
	// sinogram in the stored geometry, bit for bit: the CLI adds nothing.
	rc, err := h5io.ReadRecon(p("fbp.h5"))
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := h5io.ReadScan(p("scan.h5"))
	geo, _ := pipeline.ScanGeometry(ns)
	want := make([]float32, 64*64)
	if err := radon.FBP(want, ns.Sinogram(nil, 0), geo, radon.FBPSettings{Filter: radon.Hann}); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if want[i] != rc.Image.Data[i] {
			t.Fatalf("pixel %d: CLI %v, radon.FBP %v", i, rc.Image.Data[i], want[i])
		}
	}
	// Coarse sanity only (radon's tests hold the accuracy floors): an
	// all-zero image scores 12.9 dB here.
	truth, _ := h5io.ReadImage(p("sl.h5"))
	if psnr := metrics.PSNR(rc.Image.Data, truth.Image.Data, 1); psnr < 18 {
		t.Fatalf("FBP PSNR %v dB at 64², 60 angles, no noise", psnr)
	}
	if rc.Method != "fbp" {
		t.Fatalf("method %q", rc.Method)
	}
	// tv: radon.TV with the λ the file's noise_std gives, bit for bit.
	mustRun(t, "tv", "-i", p("ascan.h5"), "--iters", "100", "-o", p("tv.h5"))
	tvr, err := h5io.ReadRecon(p("tv.h5"))
	if err != nil {
		t.Fatal(err)
	}
	ageo, _ := pipeline.ScanGeometry(scan)
	wantTV := make([]float32, 64*64)
	if err := radon.TV(wantTV, scan.Sinogram(nil, 0), ageo,
		radon.TVSettings{Iters: 100, Lambda: radon.TVLambdaForNoise(ageo, scan.NoiseStd)}, nil); err != nil {
		t.Fatal(err)
	}
	for i := range wantTV {
		if wantTV[i] != tvr.Image.Data[i] {
			t.Fatalf("tv pixel %d: CLI %v, radon.TV %v", i, tvr.Image.Data[i], wantTV[i])
		}
	}
	out := mustRun(t, "info", p("scan.h5"), p("fbp.h5"))
	for _, want := range []string{"/exchange/data  float32 [60 1 93]", "@noise_std", "/recon/image  float32 [1 64 64]"} {
		if want == "@noise_std" { // noise-free scan: no noise_std attribute
			if strings.Contains(out, want) {
				t.Fatalf("info shows noise_std for a noise-free scan:\n%s", out)
			}
			continue
		}
		if !strings.Contains(out, want) {
			t.Fatalf("info output lacks %q:\n%s", want, out)
		}
	}
	mustRun(t, "plot", "-i", p("afbp.h5"), "--truth", p("ascan.h5"), "-o", p("fbp.png"))
	mustRun(t, "plot", "-i", p("ascan.h5"), "-o", p("sino.png"))
	for _, f := range []string{"fbp.png", "sino.png"} {
		if st, err := os.Stat(p(f)); err != nil || st.Size() < 1000 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
}

func TestVolumeSliceBySlice(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "--seed", "7", "simulate", "--phantom", "rectangles", "--count", "3", "--size", "32",
		"--angles", "20", "--noise", "0", "-o", p("vol.h5"))
	mustRun(t, "fbp", "-i", p("vol.h5"), "-o", p("vfbp.h5"))
	rc, err := h5io.ReadRecon(p("vfbp.h5"))
	if err != nil {
		t.Fatal(err)
	}
	scan, _ := h5io.ReadScan(p("vol.h5"))
	if rc.Image.Slices != 3 {
		t.Fatalf("%d slices", rc.Image.Slices)
	}
	// Each slice is the reconstruction of its own phantom: it matches its
	// own truth better than its neighbour's.
	for k := 0; k < 3; k++ {
		own := metrics.MSE(rc.Image.Slice(k), scan.GroundTruth.Slice(k))
		other := metrics.MSE(rc.Image.Slice(k), scan.GroundTruth.Slice((k+1)%3))
		if !(own < other) {
			t.Fatalf("slice %d: MSE to own truth %v ≥ to another %v", k, own, other)
		}
	}
}

func TestBadUsageAndInputs(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "phantom", "--size", "16", "-o", p("img.h5"))
	os.WriteFile(p("junk.h5"), []byte("not hdf5"), 0o644)
	usage := [][]string{
		{"simulate", "-i", p("img.h5"), "--angles", "3", "--theta", "0,1", "-o", p("x.h5")},
		{"simulate", "-i", p("img.h5"), "-o", p("img.h5")},
		{"fbp", "-i", p("img.h5")},
		{"fbp", "-i", p("s.h5"), "--filter", "box", "-o", p("x.h5")},
		{"phantom", "--kind", "unicorn", "-o", p("x.h5")},
		{"phantom", "--bogus-flag"},
		{"dip", "-i", p("s.h5"), "--stop", "never", "-o", p("x.h5")},
		{"info"},
	}
	for _, args := range usage {
		_, err := run(t, context.Background(), args...)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("%v: err %v (exit %d), want a usage error (exit 2)", args, err, exitCode(errOrNil(err)))
		}
	}
	runtime := []struct {
		args []string
		want string
	}{
		{[]string{"fbp", "-i", p("missing.h5"), "-o", p("x.h5")}, "does not exist"},
		{[]string{"fbp", "-i", p("junk.h5"), "-o", p("x.h5")}, "not an HDF5 file"},
		{[]string{"fbp", "-i", p("img.h5"), "-o", p("x.h5")}, "is an image file, not a scan file (/exchange/data; made by ctrecon simulate)"},
		{[]string{"simulate", "-i", p("img.h5"), "--ndet", "-3", "-o", p("x.h5")}, "NDet"},
	}
	for _, c := range runtime {
		_, err := run(t, context.Background(), c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want one saying %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(p("x.h5")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed command left x.h5 behind")
	}
}

func errOrNil(err error) error {
	if err == nil {
		return errors.New("nil")
	}
	return err
}

func TestDIPResumeEndsWhereUninterruptedRunEnds(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "ellipses", "--size", "24", "--angles", "12", "-o", p("s.h5"))
	args := []string{"dip", "-i", p("s.h5"), "--stop", "max", "--iters", "60", "--checkpoint-every", "20", "--threads", "1"}
	mustRun(t, append(args, "-o", p("full.h5"))...)

	// Interrupt the second run right after its first checkpoint.
	ctx, cancel := context.WithCancel(context.Background())
	afterCheckpoint = cancel
	defer func() { afterCheckpoint = nil }()
	_, err := run(t, ctx, append(args, "-o", p("cut.h5"))...)
	afterCheckpoint = nil
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run returned %v", err)
	}
	if _, err := os.Stat(p("cut.h5")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("interrupted run wrote its output")
	}
	if _, err := run(t, context.Background(), append(args, "-o", p("cut.h5"))...); err == nil ||
		!strings.Contains(err.Error(), "--resume") {
		t.Fatalf("a rerun without --resume should point at --resume, got %v", err)
	}
	mustRun(t, append(args, "-o", p("cut.h5"), "--resume")...)
	a, _ := h5io.ReadRecon(p("full.h5"))
	b, err := h5io.ReadRecon(p("cut.h5"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Image.Data {
		if a.Image.Data[i] != b.Image.Data[i] {
			t.Fatalf("pixel %d: resumed %v, uninterrupted %v", i, b.Image.Data[i], a.Image.Data[i])
		}
	}
	pa, pb := a.Group("/dip").Get("params").Data, b.Group("/dip").Get("params").Data
	for i := range pa {
		if pa[i] != pb[i] {
			t.Fatalf("parameter %d differs after resume", i)
		}
	}
	if _, err := os.Stat(p("cut.h5.ckpt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("checkpoint left behind after a finished run")
	}
	// A different setting refuses the checkpoint instead of mixing runs.
	mustRun(t, "simulate", "--phantom", "ellipses", "--size", "24", "--angles", "12", "-o", p("s2.h5"))
	ctx2, cancel2 := context.WithCancel(context.Background())
	afterCheckpoint = cancel2
	run(t, ctx2, append(args, "-o", p("c2.h5"))...)
	afterCheckpoint = nil
	if _, err := run(t, context.Background(), "dip", "-i", p("s.h5"), "--stop", "max", "--iters", "61",
		"--checkpoint-every", "20", "--threads", "1", "-o", p("c2.h5"), "--resume"); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Fatalf("resume with other settings: %v", err)
	}
}

func TestDemoWritesItsFiles(t *testing.T) {
	d := t.TempDir()
	out := mustRun(t, "demo", "-o", d, "--size", "24", "--angles", "10", "--dip-iters", "20")
	for _, f := range []string{"phantom.h5", "scan.h5", "fbp.h5", "tv.h5", "dip.h5", "uq.h5", "plan.h5", "reconstructions.png", "uncertainty.png", "plan.png", "summary.txt"} {
		if st, err := os.Stat(filepath.Join(d, f)); err != nil || st.Size() == 0 {
			t.Errorf("demo did not write %s: %v", f, err)
		}
	}
	for _, m := range []string{"fbp", "tv", "dip"} {
		if !strings.Contains(out, "\n"+m+" ") {
			t.Errorf("summary lacks a %s row:\n%s", m, out)
		}
	}
	if !strings.Contains(out, "next 5 angles to measure") {
		t.Errorf("summary lacks the next angles:\n%s", out)
	}
}

// reconAttr returns a numeric /recon attribute as float64 (NaN if absent).
func reconAttr(rc *h5io.Recon, name string) float64 {
	for _, a := range rc.Attrs {
		if a.Name != name {
			continue
		}
		switch v := a.Value.(type) {
		case float64:
			return v
		case int64:
			return float64(v)
		case int:
			return float64(v)
		case int32:
			return float64(v)
		}
	}
	return math.NaN()
}

func TestUncertaintyEndToEnd(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "ellipses", "--size", "16", "--angles", "6", "-o", p("s.h5"))
	mustRun(t, "dip", "-i", p("s.h5"), "--stop", "max", "--iters", "30", "-o", p("dip.h5"))
	mustRun(t, "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--mll-steps", "5", "--samples", "3", "-o", p("uq.h5"))
	rc, err := h5io.ReadRecon(p("uq.h5"))
	if err != nil {
		t.Fatal(err)
	}
	dipRec, _ := h5io.ReadRecon(p("dip.h5"))
	if rc.Std == nil || len(rc.Samples) != 3*16*16 {
		t.Fatalf("std %v, %d sample values", rc.Std != nil, len(rc.Samples))
	}
	for i, v := range rc.Std.Data {
		if !(v > 0) {
			t.Fatalf("std[%d] = %v; with δ every pixel has a positive std", i, v)
		}
		if rc.Image.Data[i] != dipRec.Image.Data[i] {
			t.Fatalf("the predictive mean must be the DIP image (pixel %d)", i)
		}
	}
	if rc.Group("/dip") == nil {
		t.Fatal("the model did not travel to the uncertainty file")
	}
	// The scan has a ground truth, so the calibration is recorded, with
	// the Spearman's calibrated reference and its patch-wise version.
	for _, a := range []string{"test_loglik", "spearman", "spearman_calibrated", "spearman_patch"} {
		if v := reconAttr(rc, a); math.IsNaN(v) || (a != "test_loglik" && math.Abs(v) > 1) {
			t.Errorf("attribute %s = %v", a, v)
		}
	}
	// The matrix-free regime reports its subspace; a rank cap is honoured
	// and reported as such. (The zero-centred prior has the larger effective
	// dimension here, so a cap of 10 is reached before the tail tolerance.)
	for _, cap := range []int{0, 10} {
		out := p(fmt.Sprintf("mf%d.h5", cap))
		mustRun(t, "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--regime", "matrix-free", "--prior-mean", "zero", "--max-rank", strconv.Itoa(cap), "-o", out)
		mf, err := h5io.ReadRecon(out)
		if err != nil {
			t.Fatal(err)
		}
		rank, capped := reconAttr(mf, "subspace_rank"), reconAttr(mf, "subspace_capped")
		my := 6 * radon.DefaultNDet(16)
		if rank < 1 || rank > float64(my) || (cap > 0 && (rank != float64(cap) || capped != 1)) {
			t.Errorf("--max-rank %d: subspace rank %v of %d measurements, capped %v", cap, rank, my, capped)
		}
		for i, v := range mf.Std.Data {
			if !(v > 0) || math.IsInf(float64(v), 0) {
				t.Fatalf("--max-rank %d: std[%d] = %v", cap, i, v)
			}
		}
	}
	// --fit em runs in the matrix-free regime (the subspace's linear-model
	// evidence); an unknown --fit is a usage error.
	mustRun(t, "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--regime", "matrix-free", "--fit", "em", "-o", p("em.h5"))
	if em, err := h5io.ReadRecon(p("em.h5")); err != nil || reconAttr(em, "subspace_rank") < 1 {
		t.Fatalf("--fit em: %v", err)
	}
	if _, err := run(t, context.Background(), "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--fit", "bogus", "-o", p("x.h5")); !errors.As(err, new(usageError)) {
		t.Fatalf("--fit bogus: %v, want a usage error", err)
	}
	// Both prior centres run and are recorded, and give different stds; an
	// unknown centre is a usage error.
	stds := map[string][]float32{}
	for _, pm := range []string{"init", "zero"} {
		out := p("pm-" + pm + ".h5")
		mustRun(t, "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--mll-steps", "20", "--prior-mean", pm, "-o", out)
		rc, err := h5io.ReadRecon(out)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, a := range rc.Attrs {
			if a.Name == "prior_mean" {
				got, _ = a.Value.(string)
			}
		}
		if got != pm {
			t.Fatalf("--prior-mean %s recorded as %q", pm, got)
		}
		stds[pm] = rc.Std.Data
	}
	if slices.Equal(stds["init"], stds["zero"]) {
		t.Fatal("--prior-mean init and zero gave the same std")
	}
	if _, err := run(t, context.Background(), "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--prior-mean", "bogus", "-o", p("x.h5")); !errors.As(err, new(usageError)) {
		t.Fatalf("--prior-mean bogus: %v, want a usage error", err)
	}
	// The g-prior runs in both regimes, is recorded, and changes the std;
	// zero probes is a usage error.
	for _, regime := range []string{"exact", "matrix-free"} {
		out := p("g-" + regime + ".h5")
		mustRun(t, "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--mll-steps", "20", "--regime", regime, "--g-prior", "--g-prior-probes", "16", "-o", out)
		rc, err := h5io.ReadRecon(out)
		if err != nil {
			t.Fatal(err)
		}
		if reconAttr(rc, "g_prior") != 1 {
			t.Fatalf("%s: g_prior attribute %v", regime, reconAttr(rc, "g_prior"))
		}
		for i, v := range rc.Std.Data {
			if !(v > 0) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s g-prior: std[%d] = %v", regime, i, v)
			}
		}
		if regime == "exact" && slices.Equal(rc.Std.Data, stds["init"]) {
			t.Fatal("--g-prior left the std unchanged")
		}
	}
	// The EM of 2210.04994 under its g-prior.
	mustRun(t, "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--regime", "matrix-free", "--fit", "em", "--g-prior", "-o", p("emg.h5"))
	if rc, err := h5io.ReadRecon(p("emg.h5")); err != nil || reconAttr(rc, "g_prior") != 1 || reconAttr(rc, "subspace_rank") < 1 {
		t.Fatalf("--fit em --g-prior: %v", err)
	}
	if _, err := run(t, context.Background(), "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--g-prior", "--g-prior-probes", "0", "-o", p("x.h5")); !errors.As(err, new(usageError)) {
		t.Fatalf("--g-prior-probes 0: %v, want a usage error", err)
	}
	// The same model against another scan is refused.
	mustRun(t, "--seed", "2", "simulate", "--phantom", "ellipses", "--size", "16", "--angles", "6", "-o", p("other.h5"))
	if _, err := run(t, context.Background(), "uncertainty", "-i", p("other.h5"), "--recon", p("dip.h5"), "-o", p("x.h5")); err == nil ||
		!strings.Contains(err.Error(), "another scan") {
		t.Fatalf("mismatched scan: %v", err)
	}
	// A reconstruction without a model is refused.
	mustRun(t, "fbp", "-i", p("s.h5"), "-o", p("fbp.h5"))
	if _, err := run(t, context.Background(), "uncertainty", "-i", p("s.h5"), "--recon", p("fbp.h5"), "-o", p("x.h5")); err == nil ||
		!strings.Contains(err.Error(), "no trained DIP model") {
		t.Fatalf("recon without model: %v", err)
	}
}

// A study split with --first and joined with --merge gives the same
// accuracy tables as one run over all images (seeds follow the draw).
func TestStudySplitMergeEqualsWholeRun(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	args := []string{"-q", "study", "--size", "16", "--angles", "6,10", "--methods", "fbp,tv"}
	whole := mustRun(t, append(args, "--images", "ellipses:3")...)
	mustRun(t, append(args, "--images", "ellipses:2", "--values", p("a.json"))...)
	mustRun(t, append(args, "--images", "ellipses:1", "--first", "2", "--values", p("b.json"))...)
	merged := mustRun(t, "-q", "study", "--merge", p("a.json")+","+p("b.json"))
	// Compare from the PSNR table to the timing table (timings differ).
	cut := func(s string) string {
		i := strings.Index(s, "PSNR")
		j := strings.Index(s, "Seconds per")
		if i < 0 || j < i {
			t.Fatalf("no PSNR/SSIM tables in:\n%s", s)
		}
		return s[i:j]
	}
	if cut(whole) != cut(merged) {
		t.Fatalf("merged tables differ from the whole run:\n%s\nvs\n%s", cut(merged), cut(whole))
	}
	if !strings.Contains(merged, "ellipses (3 image(s))") {
		t.Errorf("merged table does not count 3 images:\n%s", merged)
	}
}

// In the matrix-free regime --samples k stores k samples, but the std still
// comes from at least 256: asking for 2 samples must not make it noisier.
func TestMatrixFreeSamplesDoNotSetTheStdSampleCount(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "ellipses", "--size", "16", "--angles", "6", "-o", p("s.h5"))
	mustRun(t, "dip", "-i", p("s.h5"), "--stop", "max", "--iters", "30", "-o", p("dip.h5"))
	for _, k := range []string{"0", "2"} {
		mustRun(t, "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--regime", "matrix-free", "--samples", k, "-o", p("uq"+k+".h5"))
	}
	a, _ := h5io.ReadRecon(p("uq0.h5"))
	b, _ := h5io.ReadRecon(p("uq2.h5"))
	if len(b.Samples) != 2*16*16 || len(a.Samples) != 0 {
		t.Fatalf("stored %d and %d sample values, want 0 and %d", len(a.Samples), len(b.Samples), 2*16*16)
	}
	// Same seed, same draws: the std maps are identical.
	for i := range a.Std.Data {
		if a.Std.Data[i] != b.Std.Data[i] {
			t.Fatalf("pixel %d: std %g without samples, %g with --samples 2", i, a.Std.Data[i], b.Std.Data[i])
		}
	}
}

// Merging runs that time the linearised model at some angle counts only
// leaves the missing cells empty (it used to dereference a nil cell).
func TestStudyMergePartialTimings(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	base := []string{"-q", "study", "--size", "16", "--images", "ellipses:1", "--dip-iters", "20", "--mll-steps", "5"}
	mustRun(t, append(base, "--angles", "6", "--methods", "dip,lin", "--values", p("a.json"))...)
	mustRun(t, append(base, "--angles", "10", "--methods", "dip,const", "--values", p("b.json"))...)
	merged := mustRun(t, "-q", "study", "--merge", p("a.json")+","+p("b.json"))
	i := strings.Index(merged, "Seconds for the linearised model")
	if i < 0 {
		t.Fatalf("no timing table for lin:\n%s", merged)
	}
	if row := merged[i:]; !strings.Contains(row, "| lin |") || !strings.Contains(row, "| – |") {
		t.Fatalf("timing table should show lin at 6 angles and – at 10:\n%s", row)
	}
}

// studyValue reads the one value of method and metric from a study
// --values file (of one image at one angle count).
func studyValue(t *testing.T, file, method, metric string) float64 {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var recs []pipeline.StudyRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Method == method && r.Metric == metric && len(r.Values) == 1 {
			return r.Values[0]
		}
	}
	t.Fatalf("%s: no %s %s value", file, method, metric)
	return 0
}

// study --g-prior fits the linearised model under the g-prior: same DIP,
// a different (finite) calibration of lin.
func TestStudyGPrior(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	base := []string{"-q", "study", "--size", "16", "--images", "ellipses:1", "--dip-iters", "20", "--mll-steps", "5", "--angles", "6", "--methods", "dip,lin"}
	mustRun(t, append(base, "--values", p("plain.json"))...)
	mustRun(t, append(base, "--g-prior", "--values", p("g.json"))...)
	a, b := studyValue(t, p("plain.json"), "lin", "ll-all"), studyValue(t, p("g.json"), "lin", "ll-all")
	if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(b, 0) || a == b {
		t.Fatalf("lin test LL %g without the g-prior, %g with it", a, b)
	}
}

// study --dip-tv sets the DIP's TV weight for every image: a huge weight
// flattens the DIP (lower PSNR than the default), and a negative weight
// other than -1 is refused.
func TestStudyDIPTV(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	base := []string{"-q", "study", "--size", "16", "--images", "ellipses:1", "--dip-iters", "60", "--angles", "10", "--methods", "dip"}
	mustRun(t, append(base, "--values", p("default.json"))...)
	mustRun(t, append(base, "--dip-tv", "10", "--values", p("flat.json"))...)
	if a, b := studyValue(t, p("default.json"), "dip", "psnr"), studyValue(t, p("flat.json"), "dip", "psnr"); !(b < a-1) {
		t.Fatalf("DIP PSNR %g with the default TV weight, %g with γ = 10: the weight did not reach the fit", a, b)
	}
	if _, err := run(t, context.Background(), append(base, "--dip-tv", "-0.5")...); !errors.As(err, new(usageError)) {
		t.Fatalf("--dip-tv -0.5: %v", err)
	}
}
