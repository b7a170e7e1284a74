package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/radon"
	"github.com/ctrecon/ctrecon/volume"
)

// TestSettingsMatchEarlierRuns: the settings string is a file contract
// (merge joins parts only when it matches, resume compares it), so it must
// stay what earlier versions wrote. The two strings are the /recon settings
// attributes of the head-CT volume runs of docs/RESULTS.md (plain warm start
// and --min-iters 100), written before the run moved out of the CLI.
func TestSettingsMatchEarlierRuns(t *testing.T) {
	fit := dip.FitSettings{MaxIter: 3000, LR: 1e-4, Gamma: 5e-4, Tau: 1, Seed: 1}
	v := DIPVolume{Preset: "medium", Input: "fbp", Stop: "discrepancy", WarmStart: true, Fit: fit}
	if got, want := v.Settings(), "preset=medium input=fbp iters=3000 lr=0.0001 tv=0.0005 stop=discrepancy tau=1 holdout=0 seed=1 warm_start=true"; got != want {
		t.Errorf("settings\n  %s\nwant\n  %s", got, want)
	}
	v.Fit.MinIter = 100
	if got, want := v.Settings(), "preset=medium input=fbp iters=3000 lr=0.0001 tv=0.0005 stop=discrepancy tau=1 holdout=0 seed=1 warm_start=true min_iters=100"; got != want {
		t.Errorf("settings\n  %s\nwant\n  %s", got, want)
	}
}

// tinyScan is a 16² parallel scan of random images over 8 angles.
func tinyScan(t *testing.T, slices int) *h5io.Scan {
	t.Helper()
	const n, na = 16, 8
	geo := radon.NewGeometry(n, radon.EqualAngles(na))
	p := radon.NewProjector(geo)
	rng := rand.New(rand.NewPCG(3, 4))
	s := &h5io.Scan{ThetaDeg: make([]float64, na), Slices: slices, NDet: geo.NDet, ImageSize: n, DetSpacing: 1,
		Data: make([]float32, na*slices*geo.NDet), NoiseStd: 0.01}
	for a, th := range geo.Angles {
		s.ThetaDeg[a] = th * 180 / 3.141592653589793
	}
	img, sino := make([]float32, n*n), make([]float32, geo.SinoLen())
	for k := 0; k < slices; k++ {
		for i := range img {
			img[i] = rng.Float32()
		}
		p.Apply(sino, img)
		for a := 0; a < na; a++ {
			copy(s.Data[(a*slices+k)*geo.NDet:(a*slices+k+1)*geo.NDet], sino[a*geo.NDet:(a+1)*geo.NDet])
		}
	}
	return s
}

// tinyJob is a short DIP fit of a 2-slice tiny scan.
func tinyJob(t *testing.T, out string) *DIPVolume { return tinyJobN(t, out, 2) }

func tinyJobN(t *testing.T, out string, slices int) *DIPVolume {
	arch, err := dip.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	s := tinyScan(t, slices)
	return &DIPVolume{Scan: s, Out: out, Range: volume.Range{Lo: 0, Hi: s.Slices}, Preset: "small", Arch: arch,
		Fit: dip.FitSettings{MaxIter: 6, LR: 1e-3, Tau: 1, Seed: 1}, Input: "fbp", Stop: "max", CheckpointEvery: 2}
}

// TestDIPVolumeRefusesBeforeWriting: a memory refusal, an interrupted run's
// checkpoint without Resume, and bad settings each stop the run with
// nothing written.
func TestDIPVolumeRefusesBeforeWriting(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "dip.h5")
	nothingWritten := func(what string) {
		t.Helper()
		for _, p := range []string{out, volume.SliceDir(out)} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s: %s was written", what, p)
			}
		}
	}
	full := errors.New("no memory")
	v := tinyJob(t, out)
	v.CheckMemory = func(string, int64) error { return full }
	if err := v.Run(context.Background()); !errors.Is(err, full) {
		t.Errorf("memory check: %v", err)
	}
	nothingWritten("memory")

	v = tinyJob(t, out)
	if err := os.WriteFile(out+".ckpt", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := v.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("checkpoint without Resume: %v", err)
	}
	nothingWritten("checkpoint")
	os.Remove(out + ".ckpt")

	for _, bad := range []func(*DIPVolume){
		func(v *DIPVolume) { v.Stop = "never" },
		func(v *DIPVolume) { v.Input = "zeros" },
		func(v *DIPVolume) { v.CheckpointEvery = 0 },
		func(v *DIPVolume) { v.Range = volume.Range{Lo: 1, Hi: 3} },
	} {
		v = tinyJob(t, out)
		bad(v)
		if err := v.Run(context.Background()); err == nil {
			t.Errorf("%+v: no error", v)
		}
		nothingWritten("bad settings")
	}
}

// TestDIPVolumeResumes: a run interrupted at its second checkpoint and
// resumed ends with the image and models of an uninterrupted run, bit for
// bit.
func TestDIPVolumeResumes(t *testing.T) {
	dir := t.TempDir()
	whole := tinyJob(t, filepath.Join(dir, "whole.h5"))
	if err := whole.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	part := tinyJob(t, filepath.Join(dir, "part.h5"))
	ctx, cancel := context.WithCancel(context.Background())
	saves := 0
	part.AfterCheckpoint = func() {
		if saves++; saves == 4 { // slice 1, mid-fit
			cancel()
		}
	}
	if err := part.Run(ctx); err == nil {
		t.Fatal("the interrupted run did not report its interruption")
	}
	if _, err := os.Stat(part.Out + ".ckpt"); err != nil {
		t.Fatalf("no checkpoint after the interruption: %v", err)
	}
	part.AfterCheckpoint, part.Resume = nil, true
	var log []string
	part.Logf = func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }
	if err := part.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// It skipped slice 0 and continued slice 1 from its checkpoint.
	if joined := strings.Join(log, "\n"); !strings.Contains(joined, "slice 0: done in an earlier run") ||
		!strings.Contains(joined, "slice 1, iteration 4") {
		t.Errorf("the resumed run's log does not show it resuming:\n%s", joined)
	}
	a, err := h5io.ReadRecon(whole.Out)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h5io.ReadRecon(part.Out)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range a.Image.Data {
		if b.Image.Data[i] != x {
			t.Fatalf("pixel %d: resumed %g, uninterrupted %g", i, b.Image.Data[i], x)
		}
	}
	ma, err := dip.ReadModel(dir, a)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := dip.ReadModel(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range ma.Params {
		if mb.Params[i] != x {
			t.Fatalf("parameter %d: resumed %g, uninterrupted %g", i, mb.Params[i], x)
		}
	}
}

// fitted runs a tiny DIP fit of the given slice count into dir and returns
// it with its file and trained models.
func fitted(t *testing.T, dir string, slices int) (*DIPVolume, *h5io.Recon, *dip.Model) {
	t.Helper()
	fit := tinyJobN(t, filepath.Join(dir, "dip.h5"), slices)
	if err := fit.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rc, err := h5io.ReadRecon(fit.Out)
	if err != nil {
		t.Fatal(err)
	}
	model, err := dip.ReadModel(fit.Out, rc)
	if err != nil {
		t.Fatal(err)
	}
	return fit, rc, model
}
