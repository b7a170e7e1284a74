package main

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/pipeline"
)

// TestFanBeamEndToEnd: a fan-beam scan simulated from the exact line
// integrals records its geometry, and fbp, tv, dip and uncertainty run on it
// unchanged through the Operator.
func TestFanBeamEndToEnd(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "64", "--analytic", "--geometry", "fan",
		"--source-distance", "100", "--detector-distance", "60", "--angles", "240", "--noise", "0", "-o", p("fan.h5"))
	s, err := h5io.ReadScan(p("fan.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Geometry != "fan" || s.SourceDistance != 100 || s.DetectorDistance != 60 || s.Detector != "flat" ||
		s.ThetaDeg[1] != 1.5 || s.DetSpacing != 1.6 {
		t.Fatalf("fan scan metadata: %+v (θ₁ = %v°)", s.Geometry, s.ThetaDeg[1])
	}
	geo, err := pipeline.ScanGeometry(s)
	if err != nil || !geo.Covers() {
		t.Fatalf("geometry %v, covers %v", err, geo.Covers())
	}
	// Parallel beam at the same angular step (120 angles over 180°).
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "64", "--analytic", "--angles", "120", "--noise", "0", "-o", p("par.h5"))
	psnrOf := func(rec, truth string) float64 {
		rc, err := h5io.ReadRecon(rec)
		if err != nil {
			t.Fatal(err)
		}
		sc, _ := h5io.ReadScan(truth)
		return metrics.PSNR(rc.Image.Data, sc.GroundTruth.Data, 0)
	}
	mustRun(t, "fbp", "-i", p("fan.h5"), "--filter", "ramp", "-o", p("ffbp.h5"))
	mustRun(t, "fbp", "-i", p("par.h5"), "--filter", "ramp", "-o", p("pfbp.h5"))
	fp, pp := psnrOf(p("ffbp.h5"), p("fan.h5")), psnrOf(p("pfbp.h5"), p("par.h5"))
	t.Logf("FBP 64²: fan %.2f dB, parallel %.2f dB", fp, pp)
	if !(fp >= pp-1) { // the radon package's acceptance: within 1 dB at the same angular step
		t.Errorf("fan FBP %.2f dB, more than 1 dB below parallel beam's %.2f", fp, pp)
	}
	mustRun(t, "tv", "-i", p("fan.h5"), "-o", p("ftv.h5"))
	if tp := psnrOf(p("ftv.h5"), p("fan.h5")); !(tp > 20) {
		t.Errorf("TV on the fan scan: %.2f dB", tp)
	}

	// DIP and uncertainty on a small fan scan, as on a parallel one.
	mustRun(t, "simulate", "--phantom", "ellipses", "--size", "16", "--geometry", "fan", "--detector", "arc",
		"--source-distance", "30", "--detector-distance", "20", "--angles", "5", "-o", p("s.h5"))
	mustRun(t, "dip", "-i", p("s.h5"), "--stop", "max", "--iters", "30", "-o", p("dip.h5"))
	mustRun(t, "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--mll-steps", "5", "--samples", "32", "-o", p("uq.h5"))
	rc, err := h5io.ReadRecon(p("uq.h5"))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range rc.Std.Data {
		if !(v > 0) {
			t.Fatalf("std[%d] = %v on the fan scan", i, v)
		}
	}
	// plan on the fan scan: candidates over the full circle by default, and
	// only the measured views themselves (0°, 72°, …, 288°) are taken: the
	// opposite views (180°, 252°, …) are other rays in fan beam.
	mustRun(t, "plan", "-i", p("s.h5"), "--recon", p("uq.h5"), "--next", "2", "--candidates", "72", "--png", "none", "-o", p("plan.h5"))
	pl, err := h5io.ReadPlan(p("plan.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Candidates) != 72 || pl.Candidates[71] != 355 {
		t.Fatalf("fan-beam candidates: %d, last %g°; want 72 over [0°, 360°)", len(pl.Candidates), pl.Candidates[len(pl.Candidates)-1])
	}
	for i, c := range pl.Candidates {
		measured := math.Abs(math.Remainder(c, 72)) < 1e-6
		if measured != math.IsNaN(pl.Scores[i]) {
			t.Fatalf("candidate %g°: score %g, measured %v", c, pl.Scores[i], measured)
		}
	}
	if r, _ := pl.AttrString("range"); r != "0:360" {
		t.Errorf("plan's range attribute %q, want the default 0:360", r)
	}
	for _, a := range pl.Selected {
		if math.Abs(math.Remainder(a, 72)) < 1e-6 {
			t.Fatalf("chose the measured view %g°", a)
		}
	}
}

func TestFanBeamBadFlags(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--source-distance", "50"}, "--geometry fan"},
		{[]string{"--geometry", "fan"}, "--source-distance"},
		{[]string{"--geometry", "fan", "--source-distance", "20"}, "half diagonal"},
		{[]string{"--geometry", "cone", "--source-distance", "50"}, "unknown beam"},
		{[]string{"--geometry", "fan", "--source-distance", "50", "--detector", "round"}, "unknown detector"},
	} {
		args := append([]string{"simulate", "--phantom", "ellipses", "--size", "32", "-o", p("x.h5")}, c.args...)
		_, err := run(t, context.Background(), args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
	if m, _ := filepath.Glob(p("*")); len(m) != 0 {
		t.Errorf("refused runs left files: %v", m)
	}
}
