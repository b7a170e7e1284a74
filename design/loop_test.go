package design

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

// loopImage is a 16² rectangles phantom scanned exactly at 24 candidate
// angles with 5% noise.
func loopImage(t *testing.T) *LoopImage {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 16
	ph := phantoms.RandomRectangles(rng, 3, 0.05)
	geo := radon.NewGeometry(n, radon.EqualAngles(24))
	full := ph.BinSinogram(geo)
	sigma := radon.AddNoise(full, full, 0.05, rng)
	return &LoopImage{Name: "rect0", Geo: geo, Full: full, Truth: ph.Image(n, 4), NoiseStd: sigma, NoiseRel: 0.05}
}

func smallLoop() LoopSettings {
	return LoopSettings{Start: 3, Budget: 9, RefitEvery: 3, Eval: []int{6, 9}, Samples: 32, DIPSeed: 3, Seed: 4, DIPIters: 40}
}

// TestAcquireResumeEndsWhereUninterruptedEnds: a run interrupted after its
// first saved step and continued from the saved (JSON round-tripped) state
// ends with the same angles and scores as one run straight through.
// eig-pilot, which fits the pilot again on resuming, too.
func TestAcquireResumeEndsWhereUninterruptedEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("several DIP fits and linearisations (~20 s a strategy)")
	}
	for _, strat := range []Strategy{LinEIG, LinEIGPilot} {
		t.Run(string(strat), func(t *testing.T) { testResume(t, strat) })
	}
}

func testResume(t *testing.T, strat Strategy) {
	img := loopImage(t)
	set := smallLoop()
	whole, err := Acquire(context.Background(), img, strat, set, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Acquired) != 9 || len(whole.Evals) != 2 || len(whole.Refits) != 2 || !whole.Done {
		t.Fatalf("whole run: %d angles, %d evals, %d refits, done %v", len(whole.Acquired), len(whole.Evals), len(whole.Refits), whole.Done)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var saved []byte
	_, err = Acquire(ctx, img, strat, set, nil, func(st *RunState) error {
		saved, _ = json.Marshal(st)
		cancel()
		return nil
	}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v", err)
	}
	var st RunState
	if err := json.Unmarshal(saved, &st); err != nil {
		t.Fatal(err)
	}
	if st.Done || len(st.Acquired) != 6 {
		t.Fatalf("saved state after the first step: %d angles, done %v", len(st.Acquired), st.Done)
	}
	resumed, err := Acquire(context.Background(), img, strat, set, &st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resumed.Acquired, whole.Acquired) || !reflect.DeepEqual(resumed.Evals, whole.Evals) {
		t.Fatalf("resumed %v %+v\nwhole   %v %+v", resumed.Acquired, resumed.Evals, whole.Acquired, whole.Evals)
	}
}

// TestAcquirePilotIsNotAdaptive: eig-pilot's choices after the pilot do
// not depend on what the later angles measure (the full scan's other rows
// replaced by another phantom's), while eig's do; it fits the DIP once
// and keeps the pilot's hyperparameters.
func TestAcquirePilotIsNotAdaptive(t *testing.T) {
	if testing.Short() {
		t.Skip("six lin-DIP runs (~1 min)")
	}
	img := loopImage(t)
	other := *img
	other.Full = append([]float32(nil), img.Full...)
	rng := rand.New(rand.NewPCG(7, 8))
	alt := phantoms.RandomRectangles(rng, 3, 0.05).BinSinogram(img.Geo)
	radon.AddNoise(alt, alt, 0.05, rng)
	set := smallLoop()
	set.Eval = []int{set.Budget}
	b := img.Geo.NDet
	pilot := []int{0, 8, 16}
	for c := range len(img.Geo.Angles) {
		if c != pilot[0] && c != pilot[1] && c != pilot[2] {
			copy(other.Full[c*b:(c+1)*b], alt[c*b:(c+1)*b])
		}
	}
	ctx := context.Background()
	run := func(im *LoopImage, s Strategy) *RunState {
		st, err := Acquire(ctx, im, s, set, nil, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		return st
	}
	a, b2 := run(img, LinEIGPilot), run(&other, LinEIGPilot)
	if !reflect.DeepEqual(a.Acquired, b2.Acquired) {
		t.Errorf("eig-pilot chose %v, and %v when the later angles measure another object", a.Acquired, b2.Acquired)
	}
	if a.Refits[0].Regime != "exact" {
		t.Fatalf("regime %s: the matrix-free check below assumes the exact one here", a.Refits[0].Regime)
	}
	mf := set // the matrix-free regime (the 64² study's) samples differently
	mf.Regime = linearised.MatrixFreeRegime
	m1, err := Acquire(ctx, img, LinEIGPilot, mf, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Acquire(ctx, &other, LinEIGPilot, mf, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m1.Acquired, m2.Acquired) {
		t.Errorf("matrix-free eig-pilot chose %v, and %v when the later angles measure another object", m1.Acquired, m2.Acquired)
	}
	if e, e2 := run(img, LinEIG), run(&other, LinEIG); reflect.DeepEqual(e.Acquired, e2.Acquired) {
		t.Fatalf("eig chose %v on both scans: the test cannot tell adaptive from not", e.Acquired)
	}
	if len(a.Refits) != 2 || a.Refits[1].DIPSeconds > 0.01 {
		t.Errorf("refits %+v: want the second without a DIP fit", a.Refits)
	}
	first := set
	first.Budget, first.Eval = set.Start+set.RefitEvery, []int{set.Start + set.RefitEvery}
	p, err := Acquire(ctx, img, LinEIGPilot, first, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Hyper, a.Hyper) {
		t.Errorf("hyperparameters after the run %+v, the pilot's %+v", a.Hyper, p.Hyper)
	}
}

// TestAcquireBaselines: the non-adaptive strategies acquire what they
// specify (the pilot then their sequence; equal spacing at every count),
// and every strategy is scored at every evaluation count.
func TestAcquireBaselines(t *testing.T) {
	img := loopImage(t)
	set := smallLoop()
	set.DIPIters = 5
	ctx := context.Background()
	pilot := []int{0, 8, 16} // 3 of 24 candidates, equally spaced
	for _, s := range []Strategy{EqualSpace, RandomSeq, GoldenSeq, IsoEIG, MaternEIG, MaternRadialEIG} {
		st, err := Acquire(ctx, img, s, set, nil, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if len(st.Evals) != 2 || st.Evals[0].Angles != 6 || st.Evals[1].Angles != 9 {
			t.Fatalf("%s: evaluations %+v", s, st.Evals)
		}
		for _, e := range st.Evals {
			if math.IsNaN(e.DIPPSNR) || math.IsNaN(e.TVPSNR) || !(e.TVPSNR > 5) {
				t.Fatalf("%s: scores %+v", s, e)
			}
		}
		if s == EqualSpace {
			if len(st.Acquired) != 0 {
				t.Fatalf("equal keeps no sequence, got %v", st.Acquired)
			}
			continue
		}
		seen := map[int]bool{}
		for i, c := range st.Acquired {
			if seen[c] {
				t.Fatalf("%s acquired %d twice: %v", s, c, st.Acquired)
			}
			seen[c] = true
			if i < 3 && c != pilot[i] {
				t.Fatalf("%s does not start from the pilot: %v", s, st.Acquired)
			}
		}
		if len(st.Acquired) != 9 {
			t.Fatalf("%s acquired %d angles, want 9", s, len(st.Acquired))
		}
	}
	if err := (LoopSettings{Start: 5, Budget: 30}).Check(24); err == nil {
		t.Fatal("a budget above the candidates accepted")
	}
}

// TestAcquireClosedForm: in the exact regime the lin-DIP strategy can
// choose from the exact posterior covariance; it acquires distinct new
// angles after the pilot, and the choice is timed.
func TestAcquireClosedForm(t *testing.T) {
	img := loopImage(t)
	set := smallLoop()
	set.Budget, set.Eval, set.DIPIters, set.ClosedForm = 6, []int{6}, 10, true
	st, err := Acquire(context.Background(), img, LinEIG, set, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, c := range st.Acquired {
		if seen[c] {
			t.Fatalf("acquired %d twice: %v", c, st.Acquired)
		}
		seen[c] = true
	}
	if len(st.Acquired) != 6 || len(st.Refits) != 1 || st.Refits[0].Regime != "exact" {
		t.Fatalf("closed form: %v, refits %+v", st.Acquired, st.Refits)
	}
	// The pixel-Gaussian baseline from its dense posterior.
	iso, err := Acquire(context.Background(), img, IsoEIG, set, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(iso.Acquired) != 6 {
		t.Fatalf("closed-form iso acquired %v", iso.Acquired)
	}
}

// A lin-DIP refit in the matrix-free regime records its subspace model
// (rank within the measurements, not capped with the default memory).
func TestAcquireRecordsSubspace(t *testing.T) {
	if testing.Short() {
		t.Skip("a DIP fit and a linearisation")
	}
	img := loopImage(t)
	set := smallLoop()
	set.Regime = linearised.MatrixFreeRegime
	set.Budget = set.Start + set.RefitEvery
	set.Eval = []int{set.Budget}
	st, err := Acquire(context.Background(), img, LinEIG, set, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	my := set.Start * img.Geo.NDet
	if len(st.Refits) != 1 || st.Refits[0].Regime != "matrix-free" || st.Refits[0].SubspaceRank < 1 || st.Refits[0].SubspaceRank > my || st.Refits[0].Capped {
		t.Fatalf("refits %+v (m_y %d)", st.Refits, my)
	}
}
