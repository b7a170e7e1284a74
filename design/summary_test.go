package design

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestSummarisePairsRunsByImage: means over images, differences to equal
// spacing paired on the same image, and the per-image rows, on runs whose
// scores are made up so every number is known.
func TestSummarisePairsRunsByImage(t *testing.T) {
	run := func(img string, s Strategy, dip ...float64) *RunState {
		r := &RunState{Image: img, Strategy: s, Done: true}
		for i, v := range dip {
			if !math.IsNaN(v) { // NaN: not scored at that count
				r.Evals = append(r.Evals, Eval{Angles: 10 * (i + 1), DIPPSNR: v, TVPSNR: v - 1})
			}
		}
		return r
	}
	nan := math.NaN()
	runs := []*RunState{
		run("a", EqualSpace, 20, 30),
		run("a", LinEIG, 21, 32),
		run("b", EqualSpace, 22, 34),
		run("b", LinEIG, 22, nan),
		run("c", LinEIG, 40, 40), // no equal on c: in the means, not in the differences
	}
	sm := Summarise(runs, []int{10, 20})
	eig := sm.Cells[LinEIG]
	if got := eig[0].DIP; got.N != 3 || math.Abs(got.Mean-83.0/3) > 1e-12 {
		t.Errorf("eig at 10: %+v, want the mean of 21, 22, 40", got)
	}
	if got := eig[0].DIPvsEqual; got.N != 2 || got.Mean != 0.5 || math.Abs(got.SE-0.5) > 1e-12 {
		t.Errorf("eig − equal at 10: %+v, want 0.5 ± 0.5 over a and b", got)
	}
	if got := eig[1].DIPvsEqual; got.N != 1 || got.Mean != 2 {
		t.Errorf("eig − equal at 20: %+v, want 2 from a alone (b not scored)", got)
	}
	if got := eig[1].TVvsEqual; got.Mean != 2 {
		t.Errorf("TV difference %+v, want 2", got)
	}
	if len(sm.PerImage) != 2 || sm.PerImage[0].Image != "a" || sm.PerImage[1].Image != "b" {
		t.Fatalf("per-image rows %+v, want a and b (c has no equal-spacing run)", sm.PerImage)
	}
	if a, b := sm.PerImage[0].DIPvsEqual[LinEIG], sm.PerImage[1].DIPvsEqual[LinEIG]; a != 1.5 || b != 0 {
		t.Errorf("per-image eig − equal: a %g (want mean of 1 and 2), b %g (want 0, its one count)", a, b)
	}
	var md bytes.Buffer
	sm.Markdown(&md)
	if !strings.Contains(md.String(), "| a | 1.50 |") || !strings.Contains(md.String(), "| b | 0.00 |") {
		t.Errorf("Markdown lacks the per-image rows:\n%s", md.String())
	}
}

func TestCompareNatural(t *testing.T) {
	want := []string{"img:1/seed0", "img:1/seed1", "img:2/seed0", "img:10/seed0", "img:10/seed2", "img:011/seed0", "img:100/seed0", "img:a"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, compareNatural)
	if !slices.Equal(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
	if compareNatural("a", "a") != 0 || compareNatural("a", "ab") >= 0 {
		t.Error("equal strings or a prefix ordered wrongly")
	}
}

// TestPerImageByOrientation: with the rectangles' orientation known, the
// per-image table shows it, the differences are split by the angle to the
// nearer axis (images without one stay out of the split), and the share of
// each strategy's first picks near the rectangles' edge directions is
// tabulated the same way.
func TestPerImageByOrientation(t *testing.T) {
	// pick: the pilot (candidate 0), then EdgePicks acquisitions at one
	// candidate, whose angle is its index in degrees.
	run := func(img string, s Strategy, dip float64, pick int) *RunState {
		r := &RunState{Image: img, Strategy: s, Done: true, Evals: []Eval{{Angles: 10, DIPPSNR: dip}}}
		if s != EqualSpace {
			r.Acquired = []int{0}
			for range EdgePicks {
				r.Acquired = append(r.Acquired, pick)
			}
		}
		return r
	}
	runs := []*RunState{
		run("a", EqualSpace, 20, 0), run("a", MaternEIG, 21, 95), // +1 at 92° (2° off); picks 3° from an edge
		run("b", EqualSpace, 20, 0), run("b", MaternEIG, 23, 133), // +3 at 178° (2° off); picks 45° from both
		run("c", EqualSpace, 20, 0), run("c", MaternEIG, 18, 149), // −2 at 50° (40° off); picks 9° from φ₀ + 90°
		run("d", EqualSpace, 20, 0), run("d", MaternEIG, 30, 0), // unknown orientation
	}
	sm := Summarise(runs, []int{10})
	cand := make([]float64, 180)
	for i := range cand {
		cand[i] = float64(i)
	}
	phi := map[string]float64{"a": 92, "b": 178, "c": 50}
	sm.Orient(runs, 1, 5, func(image string) (float64, []float64, bool) { d, ok := phi[image]; return d, cand, ok })
	var md bytes.Buffer
	sm.Markdown(&md)
	out := md.String()
	for _, want := range []string{
		"| a | 92° | 1.00 |", "| d | – | 10.00 |",
		"| all (3) | within 15° of an axis (2) | 15°–30° off (0) | 30°–45° off (1) |",
		"| matern | 0.667 ± 1.5 | 2 ± 1 | – | -2 |",     // paired differences: a, b, c; a and b; c
		"| matern | 0.667 ± 0.33 | 0.5 ± 0.5 | – | 1 |", // edge shares 1, 0, 1
		"| strategy | batch 1 | batch 2 | batch 3 |\n|---|---|---|---|\n| matern | 0.667 ± 0.33 | 0.667 ± 0.33 | 0.667 ± 0.33 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if _, ok := sm.PerImage[3].EdgeShare[MaternEIG]; ok || !math.IsNaN(sm.PerImage[3].OrientationDeg) {
		t.Errorf("image d has no known orientation but got %+v", sm.PerImage[3])
	}
}

// TestOrientationTablesCountImages: with two DIP seeds of one image, the
// tables by orientation and by batch average the image's seeds first, so
// their counts and s.e. are over images, as their titles say; a batch's
// share counts only that batch's picks.
func TestOrientationTablesCountImages(t *testing.T) {
	// picks: the pilot (candidate 0), then the given candidates, whose
	// angle is their index in degrees.
	run := func(img string, s Strategy, dip float64, picks ...int) *RunState {
		r := &RunState{Image: img, Strategy: s, Done: true, Evals: []Eval{{Angles: 10, DIPPSNR: dip}}}
		if s != EqualSpace {
			r.Acquired = append([]int{0}, picks...)
		}
		return r
	}
	five := func(c int) []int { return []int{c, c, c, c, c} }
	cat := func(b ...[]int) []int { return slices.Concat(b...) }
	runs := []*RunState{
		// a (92°): +1 and +3; seed 0's second batch at 45°, off both edges (43° from φ₀ + 90°)
		run("a/seed0", EqualSpace, 20), run("a/seed0", MaternEIG, 21, cat(five(95), five(45), five(95))...),
		run("a/seed1", EqualSpace, 20), run("a/seed1", MaternEIG, 23, cat(five(95), five(95), five(95))...),
		// c (50°): −2, every pick 9° from φ₀ + 90°
		run("c/seed0", EqualSpace, 20), run("c/seed0", MaternEIG, 18, cat(five(149), five(149), five(149))...),
	}
	sm := Summarise(runs, []int{10})
	sm.Cluster(func(r string) string { img, _, _ := strings.Cut(r, "/"); return img })
	cand := make([]float64, 180)
	for i := range cand {
		cand[i] = float64(i)
	}
	phi := map[string]float64{"a": 92, "c": 50}
	sm.Orient(runs, 1, 5, func(run string) (float64, []float64, bool) {
		img, _, _ := strings.Cut(run, "/")
		d, ok := phi[img]
		return d, cand, ok
	})
	var md bytes.Buffer
	sm.Markdown(&md)
	out := md.String()
	for _, want := range []string{
		"| strategy | all (2) | within 15° of an axis (1) | 15°–30° off (0) | 30°–45° off (1) |",
		"| matern | 0 ± 2 | 2 | – | -2 |", // images a (mean of +1, +3) and c
		// first 15 picks: a's seeds 10/15 and 1 (mean 5/6), c 1
		"| matern | 0.917 ± 0.083 | 0.833 | – | 1 |",
		// batches: a (1, 1), (0, 1), (1, 1) against c's 1, 1, 1
		"| matern | 1 ± 0 | 0.75 ± 0.25 | 1 ± 0 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestClusterCountsImagesNotRuns: with two seeds per image, the clustered
// paired difference averages each image's seeds first, so its s.e. is over
// the images; an image whose two seeds agree adds one value, not two.
func TestClusterCountsImagesNotRuns(t *testing.T) {
	run := func(img string, s Strategy, dip float64) *RunState {
		return &RunState{Image: img, Strategy: s, Done: true, Evals: []Eval{{Angles: 10, DIPPSNR: dip, TVPSNR: 2 * dip}}}
	}
	runs := []*RunState{
		run("a/seed0", EqualSpace, 20), run("a/seed0", LinEIG, 21),
		run("a/seed1", EqualSpace, 20), run("a/seed1", LinEIG, 21),
		run("b/seed0", EqualSpace, 20), run("b/seed0", LinEIG, 23),
		run("b/seed1", EqualSpace, 20), run("b/seed1", LinEIG, 25),
		run("c/seed0", LinEIG, 30), // no equal: in no difference
	}
	sm := Summarise(runs, []int{10})
	sm.Cluster(func(r string) string { img, _, _ := strings.Cut(r, "/"); return img })
	if sm.Images != 2 {
		t.Errorf("%d images paired with equal spacing, want 2 (c has none)", sm.Images)
	}
	// image means 1 and 4: mean 2.5, s.e. = sd/√2 = 1.5.
	got := sm.ByImage[LinEIG][0]
	if got.DIPvsEqual.N != 2 || math.Abs(got.DIPvsEqual.Mean-2.5) > 1e-12 || math.Abs(got.DIPvsEqual.SE-1.5) > 1e-12 {
		t.Errorf("clustered DIP difference %+v, want 2.5 ± 1.5 over 2 images", got.DIPvsEqual)
	}
	if got.TVvsEqual.N != 2 || math.Abs(got.TVvsEqual.Mean-5) > 1e-12 {
		t.Errorf("clustered TV difference %+v, want mean 5", got.TVvsEqual)
	}
	// unclustered: four runs 1, 1, 3, 5 with a smaller s.e. than the images'.
	if plain := sm.Cells[LinEIG][0].DIPvsEqual; plain.N != 4 || plain.SE >= got.DIPvsEqual.SE {
		t.Errorf("per-run difference %+v: want 4 runs and an s.e. below the clustered one", plain)
	}
	if _, ok := sm.ByImage[EqualSpace]; ok {
		t.Error("equal spacing has a difference to itself")
	}
	var md bytes.Buffer
	sm.Markdown(&md)
	if !strings.Contains(md.String(), "over the 2 images") || !strings.Contains(md.String(), "| eig | 2.5 ± 1.5 |") {
		t.Errorf("Markdown lacks the clustered table:\n%s", md.String())
	}
}

// TestSignTestP against binomial tails worked by hand.
func TestSignTestP(t *testing.T) {
	for _, c := range []struct {
		k, n int
		want float64
	}{
		{16, 16, 2.0 / 65536}, // all ahead: 2·2⁻¹⁶
		{0, 16, 2.0 / 65536},
		{8, 16, 1},           // an even split
		{4, 5, 2 * 6.0 / 32}, // P(X ≥ 4) = (5 + 1)/32
		{0, 0, 1},
	} {
		if got := signTestP(c.k, c.n); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("signTestP(%d, %d) = %g, want %g", c.k, c.n, got, c.want)
		}
	}
}

// TestAheadCountsImages: Ahead averages each image's seeds before counting
// and leaves ties out.
func TestAheadCountsImages(t *testing.T) {
	run := func(img string, s Strategy, dip float64) *RunState {
		return &RunState{Image: img, Strategy: s, Done: true, Evals: []Eval{{Angles: 10, DIPPSNR: dip}}}
	}
	runs := []*RunState{
		run("a/seed0", EqualSpace, 20), run("a/seed0", LinEIG, 23), // a: +3 and −1, mean +1: ahead
		run("a/seed1", EqualSpace, 20), run("a/seed1", LinEIG, 19),
		run("b/seed0", EqualSpace, 20), run("b/seed0", LinEIG, 19), // b: behind
		run("c/seed0", EqualSpace, 20), run("c/seed0", LinEIG, 20), // c: a tie
	}
	sm := Summarise(runs, []int{10})
	if k, n, _ := sm.Ahead(LinEIG); k != 1 || n != 3 {
		t.Errorf("per run: ahead %d of %d, want 1 of 3 (a/seed0 ahead, a/seed1 and b behind, c tied)", k, n)
	}
	sm.Cluster(func(r string) string { img, _, _ := strings.Cut(r, "/"); return img })
	if k, n, p := sm.Ahead(LinEIG); k != 1 || n != 2 || p != 1 {
		t.Errorf("per image: ahead %d of %d (p %g), want 1 of 2, p 1", k, n, p)
	}
}

// TestAgainstPairsRunsAndCountsImages: Against(eig) is eig's score minus
// the other's on the same run, each image's seeds averaged first, per
// angle count and over the counts; runs without both strategies are left
// out, and equal spacing is not among the others.
func TestAgainstPairsRunsAndCountsImages(t *testing.T) {
	run := func(img string, s Strategy, d10, d20 float64) *RunState {
		return &RunState{Image: img, Strategy: s, Done: true, Evals: []Eval{{Angles: 10, DIPPSNR: d10}, {Angles: 20, DIPPSNR: d20}}}
	}
	runs := []*RunState{
		// image a, two seeds: eig − var = +2/+0 (seed 0) and −1/+1 (seed 1):
		// at 10 angles (2 − 1)/2 = 0.5, at 20 (0 + 1)/2 = 0.5, overall 0.5.
		run("a/seed0", EqualSpace, 20, 25), run("a/seed0", LinEIG, 22, 26), run("a/seed0", LinVar, 20, 26),
		run("a/seed1", EqualSpace, 20, 25), run("a/seed1", LinEIG, 20, 27), run("a/seed1", LinVar, 21, 26),
		// image b: eig − var = −1 at 10, −2 at 20, overall −1.5.
		run("b/seed0", EqualSpace, 20, 25), run("b/seed0", LinEIG, 20, 25), run("b/seed0", LinVar, 21, 27),
		// image c has no var run: left out of eig − var.
		run("c/seed0", EqualSpace, 20, 25), run("c/seed0", LinEIG, 30, 30),
	}
	sm := Summarise(runs, []int{10, 20})
	sm.Cluster(func(r string) string { img, _, _ := strings.Cut(r, "/"); return img })
	vs := sm.Against(LinEIG)
	if len(vs) != 1 || vs[0].Other != LinVar {
		t.Fatalf("Against(eig) compares with %v, want var alone (equal spacing has its own tables)", vs)
	}
	v := vs[0]
	want := []float64{(0.5 - 1) / 2, (0.5 - 2) / 2}
	for i, w := range want {
		if math.Abs(v.ByEval[i].Mean-w) > 1e-12 || v.ByEval[i].N != 2 {
			t.Errorf("at %d angles: %v, want mean %g over 2 images", sm.Evals[i], v.ByEval[i], w)
		}
	}
	if math.Abs(v.Overall.Mean-(0.5-1.5)/2) > 1e-12 || v.Overall.N != 2 {
		t.Errorf("over the counts: %v, want mean %g over 2 images", v.Overall, (0.5-1.5)/2)
	}
	if v.Ahead != 1 || v.N != 2 || v.P != 1 {
		t.Errorf("eig ahead on %d of %d (p %g), want 1 of 2, p 1", v.Ahead, v.N, v.P)
	}
	var md bytes.Buffer
	sm.Markdown(&md)
	if !strings.Contains(md.String(), "eig against each other strategy") || !strings.Contains(md.String(), "| var | -0.25 ± 0.75 | -0.75 ± 1.2 | -0.5 ± 1 | 1 of 2 | 1 |") {
		t.Errorf("Markdown lacks the comparison row:\n%s", md.String())
	}
	if sm := Summarise(runs, []int{10, 20}); len(sm.Against(LinEIGPilot)) != 0 {
		t.Error("Against a strategy without runs should be empty")
	}
}
