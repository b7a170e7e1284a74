package main

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/pipeline"
	"github.com/ctrecon/ctrecon/radon"
)

// planFixture makes a 16² scan, its DIP, and an uncertainty file with
// posterior samples (and one without), as plan's input.
func planFixture(t *testing.T) (dir string, p func(string) string) {
	t.Helper()
	d := t.TempDir()
	p = func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "ellipses", "--size", "16", "--angles", "6", "-o", p("s.h5"))
	mustRun(t, "dip", "-i", p("s.h5"), "--stop", "max", "--iters", "30", "-o", p("dip.h5"))
	mustRun(t, "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--mll-steps", "20", "--samples", "64", "-o", p("uq.h5"))
	mustRun(t, "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--mll-steps", "20", "-o", p("uq0.h5"))
	return d, p
}

func TestPlanEndToEnd(t *testing.T) {
	_, p := planFixture(t)
	out := mustRun(t, "plan", "-i", p("s.h5"), "--recon", p("uq.h5"), "--next", "3", "--candidates", "60", "-o", p("plan.h5"))
	pl, err := h5io.ReadPlan(p("plan.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Candidates) != 60 || len(pl.Selected) != 3 || pl.Criterion != "eig" || len(pl.PredictedMeanStd) != 4 {
		t.Fatalf("plan: %d candidates, %d selected, criterion %q, %d predicted stds", len(pl.Candidates), len(pl.Selected), pl.Criterion, len(pl.PredictedMeanStd))
	}
	// The six measured angles (0°, 30°, …) are candidates too (every 3°):
	// their scores are NaN, and none is chosen.
	for i, c := range pl.Candidates {
		measured := math.Abs(math.Remainder(c, 30)) < 1e-6
		if measured != math.IsNaN(pl.Scores[i]) {
			t.Fatalf("candidate %g°: score %g (measured %v)", c, pl.Scores[i], measured)
		}
	}
	for i, a := range pl.Selected {
		if math.Abs(math.Remainder(a, 30)) < 1e-6 {
			t.Fatalf("chose the measured angle %g°", a)
		}
		// Each pick is the best free candidate of its round.
		row := pl.Scores[i*60 : (i+1)*60]
		best := math.Inf(-1)
		for _, v := range row {
			if !math.IsNaN(v) {
				best = math.Max(best, v)
			}
		}
		if v := row[int(math.Round(a/3))]; v != best {
			t.Fatalf("pick %d (%g°) scored %g, the round's best was %g", i, a, v, best)
		}
		// Conditioning lowers the predicted std.
		if !(pl.PredictedMeanStd[i+1] < pl.PredictedMeanStd[i]) {
			t.Fatalf("predicted mean std did not fall: %v", pl.PredictedMeanStd)
		}
	}
	if !strings.Contains(out, "predicted mean std") {
		t.Fatalf("output lacks the predicted std:\n%s", out)
	}
	if fi, err := os.Stat(p("plan.png")); err != nil || fi.Size() < 2000 {
		t.Fatalf("plan figure: %v", err)
	}
	// plot draws a plan file as plan drew it.
	mustRun(t, "plot", "-i", p("plan.h5"), "-o", p("replot.png"))
	if a, b := readFile(t, p("plan.png")), readFile(t, p("replot.png")); !bytes.Equal(a, b) {
		t.Fatalf("plot of the plan file differs from plan's figure (%d and %d bytes)", len(a), len(b))
	}
	// Excluded ranges are not chosen; a target std stops when reached.
	mustRun(t, "plan", "-i", p("s.h5"), "--recon", p("uq.h5"), "--next", "4", "--candidates", "60", "--exclude", "0:90", "--png", "none", "-o", p("plan2.h5"))
	pl2, _ := h5io.ReadPlan(p("plan2.h5"))
	for _, a := range pl2.Selected {
		if a <= 90 {
			t.Fatalf("chose %g° inside the excluded 0:90", a)
		}
	}
	target := (pl.PredictedROIStd[1] + pl.PredictedROIStd[2]) / 2 // reached by the second pick, not the first
	out = mustRun(t, "plan", "-i", p("s.h5"), "--recon", p("uq.h5"), "--candidates", "60", "--target-std", formatG(target), "--png", "none", "-o", p("plan3.h5"))
	pl3, _ := h5io.ReadPlan(p("plan3.h5"))
	if len(pl3.Selected) != 2 || !strings.Contains(out, "reached with 2") {
		t.Fatalf("target std %g: %d angles chosen, output:\n%s", target, len(pl3.Selected), out)
	}
	// A ROI plan.
	mustRun(t, "plan", "-i", p("s.h5"), "--recon", p("uq.h5"), "--next", "2", "--roi", "4:10,2:8", "--png", "none", "-o", p("plan4.h5"))
	// Without stored samples the model is rebuilt from the file: samples
	// drawn from it, or the exact posterior covariance.
	mustRun(t, "plan", "-i", p("s.h5"), "--recon", p("uq0.h5"), "--next", "2", "--samples", "32", "--png", "none", "-o", p("plan5.h5"))
	out = mustRun(t, "plan", "-i", p("s.h5"), "--recon", p("uq0.h5"), "--next", "3", "--candidates", "60", "--closed-form", "--png", "none", "-o", p("plan6.h5"))
	pl6, _ := h5io.ReadPlan(p("plan6.h5"))
	if len(pl6.Selected) != 3 || !strings.Contains(out, "exact posterior covariance") {
		t.Fatalf("closed-form plan: %v\n%s", pl6.Selected, out)
	}
	for i := 1; i < len(pl6.PredictedMeanStd); i++ {
		if !(pl6.PredictedMeanStd[i] < pl6.PredictedMeanStd[i-1]) {
			t.Fatalf("exact conditioning did not lower the std: %v", pl6.PredictedMeanStd)
		}
	}
}

// TestUncertaintyStoresItsModel: the hyperparameters written to
// /linearised rebuild the model the file was made from: its std, recomputed
// without a fit, is the file's std.
func TestUncertaintyStoresItsModel(t *testing.T) {
	_, p := planFixture(t)
	rc, err := h5io.ReadRecon(p("uq0.h5"))
	if err != nil {
		t.Fatal(err)
	}
	st, ok, err := linearised.ReadStored(p("uq0.h5"), rc)
	if err != nil || !ok || len(st.Hyper) != 1 || st.Centre != linearised.CentreInit {
		t.Fatalf("stored model: %v %v %+v", ok, err, st)
	}
	model, err := dip.ReadModel(p("uq0.h5"), rc)
	if err != nil {
		t.Fatal(err)
	}
	scan, _ := h5io.ReadScan(p("s.h5"))
	geo, _ := pipeline.ScanGeometry(scan)
	lm, err := st.Rebuild(context.Background(), model, 0, rc.Image.Slice(0), radon.NewProjector(geo), scan.Sinogram(nil, 0), linearised.DefaultDIPSettings(0))
	if err != nil {
		t.Fatal(err)
	}
	res, err := lm.Run(context.Background(), rand.New(rand.NewPCG(1, 2)), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Exact regime, closed-form variances; the hyperparameters went
	// through float32, and δ's truncated SVD is randomised: 1e-3 relative.
	for i, v := range res.Std {
		if w := rc.Std.Data[i]; math.Abs(float64(v-w)) > 1e-3*float64(w) {
			t.Fatalf("pixel %d: rebuilt std %g, file %g", i, v, w)
		}
	}
}

func formatG(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// TestPlanRefusesBadInput: each bad input is refused with a clear error and
// leaves no output file.
func TestPlanRefusesBadInput(t *testing.T) {
	_, p := planFixture(t)
	mustRun(t, "simulate", "--phantom", "ellipses", "--size", "16", "--angles", "7", "-o", p("other.h5"))
	mustRun(t, "simulate", "--phantom", "ellipses", "--size", "24", "--angles", "6", "-o", p("big.h5"))
	base := []string{"plan", "-i", p("s.h5"), "--recon", p("uq.h5"), "-o", p("bad.h5")}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--next", "0"}, "--next 0"},
		{[]string{"--candidates", "6", "--range", "0:180"}, "no candidate angle is left"},
		{[]string{"--exclude", "0:180"}, "no candidate angle is left"},
		{[]string{"--range", "0:400"}, "--range"},
		{[]string{"--range", "90:10"}, "--range"},
		{[]string{"--roi", "0:17,0:4"}, "inside the 16×16 image"},
		{[]string{"--roi", "5:5,0:4"}, "x0 < x1"},
		{[]string{"--roi", "a:b"}, "--roi"},
		{[]string{"--criterion", "entropy"}, "criterion"},
		{[]string{"--next", "200"}, "free"},
	} {
		_, err := run(t, context.Background(), append(base, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to mention %q", c.args, err, c.want)
		}
	}
	for _, c := range []struct {
		scan, recon, want string
	}{
		{"other.h5", "uq.h5", "another scan"},
		{"big.h5", "uq.h5", "do not belong together"},
		{"s.h5", "dip.h5", "ctrecon uncertainty"},
		{"s.h5", "missing.h5", "missing.h5"},
	} {
		_, err := run(t, context.Background(), "plan", "-i", p(c.scan), "--recon", p(c.recon), "-o", p("bad.h5"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with %s: err = %v, want it to mention %q", c.scan, c.recon, err, c.want)
		}
	}
	for _, f := range []string{"bad.h5", "bad.png"} {
		if _, err := os.Stat(p(f)); err == nil {
			t.Fatalf("a refused plan left %s behind", f)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
