package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/pipeline"
	"github.com/ctrecon/ctrecon/radon"
)

// TestSIRTCommand: ctrecon sirt writes radon.SIRT of the stored sinogram in
// the stored geometry, bit for bit, with method "sirt", and on a 32²
// Shepp–Logan scan with 60 angles and 5% noise it beats FBP with either
// filter.
func TestSIRTCommand(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "32", "--angles", "60", "--noise", "0.05", "-o", p("scan.h5"))
	mustRun(t, "fbp", "-i", p("scan.h5"), "-o", p("hann.h5"))
	mustRun(t, "fbp", "-i", p("scan.h5"), "--filter", "ramp", "-o", p("ramp.h5"))
	mustRun(t, "sirt", "-i", p("scan.h5"), "-o", p("sirt.h5"))
	mustRun(t, "sirt", "-i", p("scan.h5"), "--nonneg", "-o", p("nonneg.h5"))
	mustRun(t, "sirt", "-i", p("scan.h5"), "--nonneg", "--discrepancy", "--iters", "2000", "-o", p("disc.h5"))

	scan, err := h5io.ReadScan(p("scan.h5"))
	if err != nil {
		t.Fatal(err)
	}
	geo, err := pipeline.ScanGeometry(scan)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, geo.ImageLen())
	if err := radon.SIRT(want, radon.NewProjector(geo), scan.Sinogram(nil, 0), radon.SIRTSettings{}, nil); err != nil {
		t.Fatal(err)
	}
	psnr := map[string]float64{}
	for _, f := range []string{"hann", "ramp", "sirt", "nonneg", "disc"} {
		rc, err := h5io.ReadRecon(p(f + ".h5"))
		if err != nil {
			t.Fatal(err)
		}
		psnr[f] = metrics.PSNR(rc.Image.Data, scan.GroundTruth.Data, 0)
		if f == "sirt" {
			if rc.Method != "sirt" || reconAttr(rc, "iters") != radon.DefaultSIRTIters {
				t.Fatalf("method %q, iters %v", rc.Method, reconAttr(rc, "iters"))
			}
			for i := range want {
				if rc.Image.Data[i] != want[i] {
					t.Fatalf("pixel %d: CLI %v, radon.SIRT %v", i, rc.Image.Data[i], want[i])
				}
			}
		}
		if f == "disc" {
			if n := reconAttr(rc, "iters_run"); !(n > 10 && n < 2000) {
				t.Errorf("--discrepancy ran %v iterations", n)
			}
		}
	}
	t.Logf("PSNR (dB): FBP Hann %.2f, ramp %.2f; SIRT %.2f, x ≥ 0 %.2f, at the discrepancy principle %.2f",
		psnr["hann"], psnr["ramp"], psnr["sirt"], psnr["nonneg"], psnr["disc"])
	// Measured (seed 1, bit for bit the same for any thread count): FBP
	// 20.7 (Hann) and 25.0 dB (ramp); SIRT 27.3, 31.4 with x ≥ 0, 29.2
	// stopped at the discrepancy principle (111 iterations). The floors
	// sit 0.8–1.4 dB under these; SIRT beats the better FBP by 2.3 dB.
	if !(psnr["sirt"] >= 26.5 && psnr["sirt"] > max(psnr["hann"], psnr["ramp"])+1) {
		t.Errorf("SIRT %.2f dB: want ≥ 26.5 and 1 dB above FBP (%.2f, %.2f)", psnr["sirt"], psnr["hann"], psnr["ramp"])
	}
	if !(psnr["nonneg"] >= 30 && psnr["disc"] >= 28) {
		t.Errorf("SIRT x ≥ 0 %.2f dB (want ≥ 30), at the discrepancy principle %.2f (want ≥ 28)", psnr["nonneg"], psnr["disc"])
	}

	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "32", "--angles", "10", "--noise", "0", "-o", p("clean.h5"))
	for _, args := range [][]string{
		{"sirt", "-i", p("clean.h5"), "--discrepancy", "-o", p("x.h5")}, // no noise_std in the file
		{"sirt", "-i", p("clean.h5"), "--iters", "0", "-o", p("x.h5")},
	} {
		if _, err := run(t, context.Background(), args...); err == nil || exitCode(err) != 2 {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
}
