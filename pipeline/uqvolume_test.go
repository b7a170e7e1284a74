package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/volume"
)

// defaultUQ are uncertainty's flag defaults.
func defaultUQ() UQOptions {
	return UQOptions{Regime: "auto", Fit: "auto", Steps: 1000, Rank: 300, PriorMean: "init", GPriorProbes: 64, Seed: 1}
}

// TestUQSettingsMatchEarlierRuns: the settings string is a file contract
// (merge, resume); this one is the /recon settings attribute of the head-CT
// volume's uncertainty parts (docs/RESULTS.md), written with the defaults
// before the run moved out of the CLI.
func TestUQSettingsMatchEarlierRuns(t *testing.T) {
	want := "regime=auto fit=auto steps=1000 samples=0 delta=true nofit=false fixnoise=false predcp=false rank=300 maxrank=0 samplecg=false prior=init gprior=false/64 seed=1"
	if got := defaultUQ().Settings(); got != want {
		t.Errorf("settings\n  %s\nwant\n  %s", got, want)
	}
}

// TestUQOptionsCheckNamesTheFlag: the defaults pass; each bad option is
// refused with the uncertainty flag that sets it in the message.
func TestUQOptionsCheckNamesTheFlag(t *testing.T) {
	if err := defaultUQ().Check(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for flag, mod := range map[string]func(*UQOptions){
		"--regime":         func(o *UQOptions) { o.Regime = "dense" },
		"--fit":            func(o *UQOptions) { o.Fit = "adam" },
		"--prior-mean":     func(o *UQOptions) { o.PriorMean = "fbp" },
		"--g-prior-probes": func(o *UQOptions) { o.GPriorProbes = 0 },
		"--mll-steps":      func(o *UQOptions) { o.Steps = 0 },
		"--samples":        func(o *UQOptions) { o.Samples = -1 },
		"--max-rank":       func(o *UQOptions) { o.MaxRank = -2 },
	} {
		o := defaultUQ()
		mod(&o)
		if err := o.Check(); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("bad %s: %v", flag, err)
		}
	}
}

// TestUQVolumeEndToEnd linearises a tiny two-slice DIP fit, refuses bad
// options and a range outside the DIP file with nothing written, and
// writes a std for every pixel of the slices asked for.
func TestUQVolumeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	fit, rc, model := fitted(t, dir, 2)
	job := func(out string) *UQVolume {
		o := defaultUQ()
		o.Steps = 5
		return &UQVolume{Scan: fit.Scan, Recon: rc, ReconPath: fit.Out, Model: model, Out: filepath.Join(dir, out), Options: o, Threads: 1}
	}
	for what, bad := range map[string]func(*UQVolume){
		"regime":     func(v *UQVolume) { v.Options.Regime = "fast" },
		"fit":        func(v *UQVolume) { v.Options.Fit = "guess" },
		"prior mean": func(v *UQVolume) { v.Options.PriorMean = "half" },
		"range":      func(v *UQVolume) { v.Range = volume.Range{Lo: 1, Hi: 3} },
		"fix noise without a noise level": func(v *UQVolume) {
			s := *v.Scan
			s.NoiseStd = 0
			v.Scan, v.Options.FixNoise = &s, true
		},
	} {
		v := job("bad.h5")
		bad(v)
		if err := v.Run(context.Background()); err == nil {
			t.Errorf("%s: no error", what)
		}
		for _, p := range []string{v.Out, volume.SliceDir(v.Out)} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s: %s written", what, p)
			}
		}
	}
	v := job("uq.h5")
	v.Range = volume.Range{Lo: 1, Hi: 2}
	if err := v.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, err := h5io.ReadRecon(v.Out)
	if err != nil {
		t.Fatal(err)
	}
	if out.Std == nil || out.Std.Slices != 1 || len(out.Std.Data) != 16*16 {
		t.Fatalf("std %+v", out.Std)
	}
	for i, s := range out.Std.Data {
		if !(s > 0) {
			t.Fatalf("pixel %d: std %g", i, s)
		}
	}
	if lo, _ := out.SliceRange(); lo != 1 {
		t.Errorf("slice start %d, want 1", lo)
	}
	if got, _ := out.AttrString(h5io.AttrSettings); !strings.Contains(got, "steps=5") {
		t.Errorf("settings attribute %q", got)
	}
}
