package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/linearised"
)

// TestDesignFingerprintMatchesTheRunningStudy: the fingerprint is what a
// study resumes by; with the 64² study's settings (docs/studies/design-64)
// it must be what that study's state.json holds, so the study resumes
// under this code.
func TestDesignFingerprintMatchesTheRunningStudy(t *testing.T) {
	b, err := os.ReadFile("../docs/studies/design-64/rect64-state.json")
	if err != nil {
		t.Skip("the study's state is not in this checkout:", err)
	}
	var st struct{ Fingerprint string }
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	s := &DesignStudy{Loop: design.LoopSettings{Regime: linearised.MatrixFreeRegime, Start: 5, Budget: 40, RefitEvery: 5,
		Eval: []int{10, 20, 30, 40}, Samples: 256, Seed: 1}, RegimeName: "matrix-free", DIPSeeds: []int{0, 1}, Threads: 1}
	if got := s.fingerprint([]string{"rect64-full.h5#3931231ca0c92497"}); got != st.Fingerprint {
		t.Errorf("fingerprint\n  %s\nthe study's\n  %s", got, st.Fingerprint)
	}
	if names := DesignScanNames(st.Fingerprint); len(names) != 1 || names[0] != "rect64-full.h5" {
		t.Errorf("scan names %v", names)
	}
}

// TestDesignStudyRefusesScansItCannotScore: a scan without a ground truth
// or a noise level is refused before the folder is made.
func TestDesignStudyRefusesScansItCannotScore(t *testing.T) {
	dir := t.TempDir()
	scan := tinyScan(t, 1)
	noNoise := *scan
	truth := h5io.NewVolume(1, scan.ImageSize)
	noNoise.GroundTruth, noNoise.NoiseStd = &truth, 0
	for what, s := range map[string]*h5io.Scan{"no truth": scan, "no noise level": &noNoise} {
		st := &DesignStudy{Scans: []*h5io.Scan{s}, Paths: []string{"s.h5"}, Out: filepath.Join(dir, "study"),
			Strategies: []design.Strategy{design.EqualSpace}, Loop: design.LoopSettings{Start: 2, Budget: 4, RefitEvery: 1, Eval: []int{4}, Samples: 2, Seed: 1},
			RegimeName: "auto", DIPSeeds: []int{0}}
		if err := st.Run(context.Background()); err == nil {
			t.Errorf("%s: no error", what)
		}
		if _, err := os.Stat(st.Out); err == nil {
			t.Errorf("%s: the study's folder was made", what)
		}
	}
}

func TestDesignRunImageParsesRunNames(t *testing.T) {
	for run, want := range map[string]int{"rect64-full:10/seed1": 10, "rect64-full:0/seed0": 0, "a:b:3/seed0": 3, "full:7": 7} {
		if k, err := DesignRunImage(run); err != nil || k != want {
			t.Errorf("DesignRunImage(%q) = %d, %v; want %d", run, k, err, want)
		}
	}
	for _, bad := range []string{"", "rect64-full/seed0", "x:-1/seed0", "x:y/seed0"} {
		if _, err := DesignRunImage(bad); err == nil {
			t.Errorf("DesignRunImage(%q) accepted", bad)
		}
	}
	// The names the study gives its images parse back to their index.
	if k, err := DesignRunImage(designImageName("/tmp/x/rect64-full.h5", 12) + "/seed1"); err != nil || k != 12 {
		t.Errorf("round trip: %d, %v", k, err)
	}
}
