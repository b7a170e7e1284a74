package pipeline

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/figures"
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

// TestDipCurvesPairToEqual: the curves psnr.png and results.h5 get from a
// summary: each strategy's mean, its paired difference to equal spacing
// (equal's own zero), and no differences for a strategy that lacks a pair
// at some count (drawn without the paired panel rather than half of it).
func TestDipCurvesPairToEqual(t *testing.T) {
	run := func(img string, s design.Strategy, dip ...float64) *design.RunState {
		r := &design.RunState{Image: img, Strategy: s, Done: true}
		for i, v := range dip {
			if !math.IsNaN(v) {
				r.Evals = append(r.Evals, design.Eval{Angles: 10 * (i + 1), DIPPSNR: v, TVPSNR: v})
			}
		}
		return r
	}
	runs := []*design.RunState{
		run("a", design.EqualSpace, 20, 30), run("a", design.LinEIG, 21, 33), run("a", design.GoldenSeq, 19, 30),
		run("b", design.EqualSpace, 24, 32), run("b", design.LinEIG, 26, 33), run("b", design.GoldenSeq, 24, math.NaN()),
	}
	sm := design.Summarise(runs, []int{10, 20})
	curves := dipCurves(sm, []design.Strategy{design.LinEIG, design.EqualSpace, design.GoldenSeq, design.RandomSeq})
	if len(curves) != 3 {
		t.Fatalf("%d curves, want 3 (random has no runs)", len(curves))
	}
	eig, equal, golden := curves[0], curves[1], curves[2]
	if !slices.Equal(eig.Mean, []float64{23.5, 33}) || !slices.Equal(eig.Diff, []float64{1.5, 2}) || math.Abs(eig.DiffSE[0]-0.5) > 1e-12 {
		t.Errorf("eig: mean %v, paired %v ± %v; want [23.5 33], [1.5 2] ± [0.5 …]", eig.Mean, eig.Diff, eig.DiffSE)
	}
	if !slices.Equal(equal.Diff, []float64{0, 0}) || !slices.Equal(equal.DiffSE, []float64{0, 0}) {
		t.Errorf("equal's own difference %v ± %v, want zeros", equal.Diff, equal.DiffSE)
	}
	// golden at 20 angles: one run, so its s.e. (NaN) is written as 0.
	if !slices.Equal(golden.Angles, []float64{10, 20}) || golden.SE[1] != 0 || !slices.Equal(golden.Diff, []float64{-0.5, 0}) {
		t.Errorf("golden: angles %v, s.e. %v, paired %v", golden.Angles, golden.SE, golden.Diff)
	}
	runs = append(runs, run("c", design.LinEIG, 30, 30)) // no equal on c: eig's mean moves, its paired difference does not
	curves = dipCurves(design.Summarise(runs, []int{10, 20}), []design.Strategy{design.LinEIG, design.EqualSpace})
	if curves[0].Mean[0] == 23.5 || curves[0].Diff[0] != 1.5 {
		t.Errorf("with an unpaired run: eig mean %v, paired %v", curves[0].Mean, curves[0].Diff)
	}
	// Two seeds of image a: the paired s.e. is over the images a and b
	// (differences 1.5 = mean of 1 and 2, and 2), not over the three runs.
	runs = append(runs, run("a/seed1", design.EqualSpace, 20, 30), run("a/seed1", design.LinEIG, 22, 32))
	for _, r := range runs {
		if !strings.Contains(r.Image, "/") {
			r.Image += "/seed0"
		}
	}
	sm = design.Summarise(runs, []int{10, 20})
	sm.Cluster(func(r string) string { img, _, _ := strings.Cut(r, "/"); return img })
	curves = dipCurves(sm, []design.Strategy{design.LinEIG})
	if want := 0.25; math.Abs(curves[0].Diff[0]-1.75) > 1e-12 || math.Abs(curves[0].DiffSE[0]-want) > 1e-12 {
		t.Errorf("clustered: eig − equal at 10 angles %v ± %v, want 1.75 ± %g (image means 1.5 and 2)", curves[0].Diff[0], curves[0].DiffSE[0], want)
	}
}

func TestDIPCurvesRoundTripThroughResults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.h5")
	want := []figures.StrategyCurve{
		{Name: "eig", Angles: []float64{10, 20}, Mean: []float64{23.5, 33}, SE: []float64{0.5, 0}, Diff: []float64{1.5, 2}, DiffSE: []float64{0.5, 1}},
		{Name: "random", Angles: []float64{10}, Mean: []float64{21}, SE: []float64{0.25}},
	}
	w, err := h5io.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range want {
		w.Float64("/study/"+c.Name+"/psnr_dip", []int{1, len(c.Angles)}, c.Mean, h5io.DatasetOptions{})
	}
	w.Float64("/study/old/psnr_dip", []int{1, 1}, []float64{20}, h5io.DatasetOptions{}) // no curve: an older results file
	writeDIPCurves(w, want)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	rd, err := h5io.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	got, err := ReadDIPCurves(rd, []string{"random", "equal", "eig"}) // equal: not in the file, skipped
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0], want[1]) || !reflect.DeepEqual(got[1], want[0]) {
		t.Fatalf("read back %+v,\nwant %+v (in the order asked)", got, []figures.StrategyCurve{want[1], want[0]})
	}
	if _, err := ReadDIPCurves(rd, []string{"old"}); err == nil || !strings.Contains(err.Error(), "--report") {
		t.Errorf("a strategy without its curve: err %v, want one naming `design --report`", err)
	}
}

// countingBar records a progress bar's total and skipped steps.
type countingBar struct{ total, skipped, added int }

func (b *countingBar) Add(n int)       { b.added += n }
func (b *countingBar) Skip(n int)      { b.skipped += n }
func (b *countingBar) Describe(string) {}
func (b *countingBar) Finish()         {}

// TestDesignResumeSkipsOnlyItsOwnRuns: a resumed study over part of the
// images counts as done only the finished runs it was asked for, not every
// run its state holds (a state copied from a wider study), so its bar
// never passes its total.
func TestDesignResumeSkipsOnlyItsOwnRuns(t *testing.T) {
	scan := tinyScanWithTruth(t, 2)
	var bars []*countingBar
	study := func(images string) *DesignStudy {
		return &DesignStudy{Scans: []*h5io.Scan{scan}, Paths: []string{"s.h5"}, Out: filepath.Join(t.TempDir(), "study"),
			Strategies: []design.Strategy{design.EqualSpace}, Loop: design.LoopSettings{Start: 2, Budget: 4, RefitEvery: 1, Eval: []int{4}, Samples: 2, Seed: 1, DIPIters: 5},
			RegimeName: "auto", DIPSeeds: []int{0}, Images: images, Threads: 1,
			Hooks: Hooks{NewBar: func(total int, _ string) Progress { b := &countingBar{total: total}; bars = append(bars, b); return b }}}
	}
	all := study("")
	if err := all.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	part := study("1:2")
	part.Out, part.Resume = all.Out, true
	if err := part.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := bars[len(bars)-1]
	if b.total != 1 || b.skipped != 1 || b.added != 0 {
		t.Errorf("resumed over image 1 of 2 (both done): total %d, skipped %d, added %d; want 1, 1, 0", b.total, b.skipped, b.added)
	}

	// The bar weighs runs by their cost: a finished lin-DIP EIG run (put
	// into the state as if run) counts design.LinEIG.RunCost() steps.
	editState(t, all.Out, func(st *designState) { copyRunsAs(st, design.EqualSpace, design.LinEIG) })
	both := study("1:2")
	both.Out, both.Resume = all.Out, true
	both.Strategies = []design.Strategy{design.LinEIG, design.EqualSpace}
	if err := both.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b = bars[len(bars)-1]
	if want := design.LinEIG.RunCost() + 1; want == 2 || b.total != want || b.skipped != want || b.added != 0 {
		t.Errorf("resumed with a finished eig and equal run: total %d, skipped %d, added %d; want %d, %d, 0 (eig's cost above equal's 1)", b.total, b.skipped, b.added, want, want)
	}
}

// TestDesignReportCountsOnlyItsStrategies: a report over a state that also
// holds another strategy's runs (as when an extra part's report merges the
// main parts) tables and counts only the strategies it was given.
func TestDesignReportCountsOnlyItsStrategies(t *testing.T) {
	scan := tinyScanWithTruth(t, 2)
	s := &DesignStudy{Scans: []*h5io.Scan{scan}, Paths: []string{"s.h5"}, Out: filepath.Join(t.TempDir(), "study"),
		Strategies: []design.Strategy{design.EqualSpace}, Loop: design.LoopSettings{Start: 2, Budget: 4, RefitEvery: 1, Eval: []int{4}, Samples: 2, Seed: 1, DIPIters: 5},
		RegimeName: "auto", DIPSeeds: []int{0}, Threads: 1}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A finished golden-angle run on each image, and an unfinished one on
	// a third, put into the state as a merged part's would be.
	editState(t, s.Out, func(st *designState) {
		copyRunsAs(st, design.EqualSpace, design.GoldenSeq)
		st.Runs["other:9/seed0/golden"] = &design.RunState{Strategy: design.GoldenSeq, Image: "other:9/seed0", Acquired: []int{1, 2}}
	})
	s.Report = true
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(s.Out, "table.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "of 2 started; 2 of 2 strategy runs finished") {
		t.Errorf("counts: want 2 images started and 2 of 2 runs finished:\n%s", md)
	}
	if strings.Contains(string(md), "golden") || strings.Contains(string(md), "other:9") {
		t.Errorf("the table mentions a strategy it was not given:\n%s", md)
	}
}

// tinyScanWithTruth is tinyScan with a ground truth, so that a design study
// can score it.
func tinyScanWithTruth(t *testing.T, slices int) *h5io.Scan {
	scan := tinyScan(t, slices)
	truth := h5io.NewVolume(slices, scan.ImageSize)
	for i := range truth.Data {
		truth.Data[i] = float32(i%7) / 7
	}
	scan.GroundTruth = &truth
	return scan
}

// editState rewrites the state.json of the study in dir through edit.
func editState(t *testing.T, dir string, edit func(*designState)) {
	t.Helper()
	path := filepath.Join(dir, "state.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st designState
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	edit(&st)
	if raw, err = json.Marshal(&st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyRunsAs adds to st a copy of each run of strategy from, as a run of
// strategy to on the same image and seed (as if it had been run).
func copyRunsAs(st *designState, from, to design.Strategy) {
	for key, r := range maps.Clone(st.Runs) {
		if base, ok := strings.CutSuffix(key, "/"+string(from)); ok {
			c := *r
			c.Strategy = to
			st.Runs[base+"/"+string(to)] = &c
		}
	}
}
