package main

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/metrics"
)

// TestPhotonCountsEndToEnd: simulate --photons writes DXchange raw data
// (counts, flats, darks) whose normalised line integrals are the attenuation
// times the clean ones up to Poisson noise of the recorded level, and fbp,
// dip and uncertainty run on it.
func TestPhotonCountsEndToEnd(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "32", "--analytic", "--angles", "40", "--photons", "1e4", "-o", p("raw.h5"))
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "32", "--analytic", "--angles", "40", "--noise", "0", "-o", p("clean.h5"))
	raw, err := h5io.ReadScan(p("raw.h5"))
	if err != nil {
		t.Fatal(err)
	}
	clean, _ := h5io.ReadScan(p("clean.h5"))
	if raw.Raw == nil || raw.Raw.NWhite != 4 || raw.Raw.NDark != 1 || raw.NoiseFromCounts {
		t.Fatalf("raw scan layout: %+v, noise from counts %v", raw.Raw, raw.NoiseFromCounts)
	}
	r, err := h5io.Open(p("raw.h5"))
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := r.AttrFloat("/exchange/data", "attenuation_scale")
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	var peak float64
	for _, v := range clean.Data {
		peak = math.Max(peak, float64(v))
	}
	if math.Abs(a*peak-2) > 1e-9 {
		t.Fatalf("attenuation %v: the densest ray has line integral %v, want 2", a, a*peak)
	}
	// Residual of the normalised counts against a·(clean line integrals):
	// Poisson noise of variance ≈ 1/count per ray (the flats add 1/(4·I0)),
	// so its mean square must match noise_std² = mean(1/count).
	var ss float64
	for i, v := range raw.Data {
		r := float64(v) - a*float64(clean.Data[i])
		ss += r * r
	}
	ms := ss / float64(len(raw.Data))
	want := raw.NoiseStd*raw.NoiseStd + 1/(4*1e4)
	// 1640 rays: the mean square has a relative s.e. of about √(2/1640) = 3.5%.
	if math.Abs(ms/want-1) > 0.15 {
		t.Fatalf("mean square noise %.4g, Poisson predicts %.4g", ms, want)
	}
	for i, v := range raw.GroundTruth.Data {
		if math.Abs(float64(v)-a*float64(clean.GroundTruth.Data[i])) > 1e-6 {
			t.Fatalf("ground truth pixel %d = %v, want a·image = %v", i, v, a*float64(clean.GroundTruth.Data[i]))
		}
	}
	mustRun(t, "fbp", "-i", p("raw.h5"), "-o", p("fbp.h5"))
	rc, err := h5io.ReadRecon(p("fbp.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if ps := metrics.PSNR(rc.Image.Data, raw.GroundTruth.Data, 0); !(ps > 18) {
		t.Errorf("FBP of the raw scan: PSNR %.2f dB", ps)
	}
	// DIP and uncertainty on a small raw scan (their noise level is the
	// recorded Poisson one).
	mustRun(t, "simulate", "--phantom", "ellipses", "--size", "16", "--angles", "8", "--photons", "1e4", "-o", p("small.h5"))
	mustRun(t, "dip", "-i", p("small.h5"), "--stop", "max", "--iters", "20", "-o", p("dip.h5"))
	mustRun(t, "uncertainty", "-i", p("small.h5"), "--recon", p("dip.h5"), "--mll-steps", "5", "-o", p("uq.h5"))

	// So few photons that dense rays count zero: reported, not NaN.
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "32", "--analytic", "--angles", "10", "--photons", "3",
		"--attenuation", "0.5", "-o", p("dark.h5"))
	out := mustRun(t, "fbp", "-i", p("dark.h5"), "-o", p("dfbp.h5"))
	if !strings.Contains(out, "at or below the dark field; clipped") {
		t.Errorf("zero counts not reported: %q", out)
	}
	rc, _ = h5io.ReadRecon(p("dfbp.h5"))
	for i, v := range rc.Image.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("pixel %d = %v", i, v)
		}
	}
	for _, bad := range [][]string{
		{"--photons", "1e4", "--noise", "0.05"},
		{"--photons", "-3"},
		{"--attenuation", "0.1"},
		{"--photons", "100", "--flats", "0"},
	} {
		args := append([]string{"simulate", "--phantom", "ellipses", "--size", "16", "-o", p("bad.h5")}, bad...)
		if _, err := run(t, context.Background(), args...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestCenterOffset: a scan simulated with the rotation axis 2.5 bins off
// the detector's centre records it, and FBP uses it; telling fbp --center 0
// (the wrong axis) must cost PSNR, telling it the truth must not.
func TestCenterOffset(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "48", "--analytic", "--angles", "90", "--noise", "0",
		"--center", "2.5", "-o", p("off.h5"))
	s, err := h5io.ReadScan(p("off.h5"))
	if err != nil || s.CenterOffset != 2.5 {
		t.Fatalf("center offset %v (%v)", s.CenterOffset, err)
	}
	psnr := func(extra ...string) float64 {
		out := p("f.h5")
		mustRun(t, append([]string{"fbp", "-i", p("off.h5"), "--filter", "ramp", "-o", out}, extra...)...)
		rc, err := h5io.ReadRecon(out)
		if err != nil {
			t.Fatal(err)
		}
		return metrics.PSNR(rc.Image.Data, s.GroundTruth.Data, 0)
	}
	right, told, wrong := psnr(), psnr("--center", "2.5"), psnr("--center", "0")
	t.Logf("FBP PSNR: file's axis %.2f dB, --center 2.5 %.2f dB, --center 0 %.2f dB", right, told, wrong)
	if right != told || !(wrong < right-3) {
		t.Errorf("axis offset not applied: %.2f / %.2f / %.2f dB", right, told, wrong)
	}
}
