package design

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ctrecon/ctrecon/radon"
)

func newRNG(t *testing.T, k uint64) *rand.Rand {
	t.Helper()
	const seed = 20261203
	t.Logf("seed %d+%d", seed, k)
	return rand.New(rand.NewPCG(seed, k))
}

// lowRankGaussian returns a covariance Σ = L Lᵀ (npix×npix, rank r) and a
// function drawing S samples L ε from it.
func lowRankGaussian(rng *rand.Rand, npix, r int) ([]float64, func(S int) []float32) {
	L := make([]float64, npix*r)
	for i := range L {
		L[i] = 0.3 * rng.NormFloat64()
	}
	sig := make([]float64, npix*npix)
	for i := 0; i < npix; i++ {
		for j := 0; j < npix; j++ {
			var s float64
			for k := 0; k < r; k++ {
				s += L[i*r+k] * L[j*r+k]
			}
			sig[i*npix+j] = s
		}
	}
	draw := func(S int) []float32 {
		x := make([]float32, S*npix)
		e := make([]float64, r)
		for s := 0; s < S; s++ {
			for k := range e {
				e[k] = rng.NormFloat64()
			}
			for i := 0; i < npix; i++ {
				var v float64
				for k := 0; k < r; k++ {
					v += L[i*r+k] * e[k]
				}
				x[s*npix+i] = float32(v)
			}
		}
		return x
	}
	return sig, draw
}

// TestSampleCriteriaConvergeToClosedForm: on a linear-Gaussian model where
// the EIG is known exactly (a dense Σ), the sample estimates converge to
// it as the samples grow, and diag-EIG ≥ EIG (Hadamard) in both.
func TestSampleCriteriaConvergeToClosedForm(t *testing.T) {
	rng := newRNG(t, 1)
	const n = 8
	geo := radon.NewGeometry(n, nil)
	cands, err := NewCandidates(12, Interval{0, math.Pi}, math.Pi, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sig, draw := lowRankGaussian(rng, n*n, 10)
	const noiseVar = 0.05
	ctx := context.Background()
	for _, crit := range []Criterion{EIG, DiagEIG, Variance} {
		exact, err := ClosedForm(geo, cands, sig, noiseVar, crit, nil)
		if err != nil {
			t.Fatal(err)
		}
		var errs []float64
		for _, S := range []int{32, 512, 8192} {
			p, err := Select(ctx, geo, cands, []SliceSamples{{X: draw(S), S: S, NoiseVar: noiseVar}}, 1, Settings{Criterion: crit}, rng, nil)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for c, v := range p.Scores[0] {
				worst = math.Max(worst, math.Abs(v-exact[c])/exact[c])
			}
			errs = append(errs, worst)
		}
		t.Logf("%v: worst relative error at 32/512/8192 samples: %.3g %.3g %.3g", crit, errs[0], errs[1], errs[2])
		// The sample covariance of S draws has relative error ~√(2/S): 1.6%
		// at 8192; the criteria inherit it (EIG through a log, damped).
		if errs[2] > 0.05 || errs[2] > errs[0] {
			t.Fatalf("%v does not converge to the closed form: %v", crit, errs)
		}
	}
	eig, _ := ClosedForm(geo, cands, sig, noiseVar, EIG, nil)
	deig, _ := ClosedForm(geo, cands, sig, noiseVar, DiagEIG, nil)
	for c := range eig {
		if deig[c] < eig[c]-1e-9 {
			t.Fatalf("candidate %d: diag-EIG %g < EIG %g", c, deig[c], eig[c])
		}
	}
	// The sample estimates obey it too: both come from one Ĉ.
	S := 64
	x := draw(S)
	pe, _ := Select(ctx, geo, cands, []SliceSamples{{X: x, S: S, NoiseVar: noiseVar}}, 1, Settings{Criterion: EIG}, rng, nil)
	pd, _ := Select(ctx, geo, cands, []SliceSamples{{X: x, S: S, NoiseVar: noiseVar}}, 1, Settings{Criterion: DiagEIG}, rng, nil)
	for c := range pe.Scores[0] {
		if pd.Scores[0][c] < pe.Scores[0][c]-1e-6*pe.Scores[0][c] {
			t.Fatalf("samples: candidate %d: diag-EIG %g < EIG %g", c, pd.Scores[0][c], pe.Scores[0][c])
		}
	}
}

// TestDualMatchesPrimal: with fewer samples than bins the EIG is computed
// in the S×S dual; it must equal the bins×bins primal of the same samples.
func TestDualMatchesPrimal(t *testing.T) {
	rng := newRNG(t, 2)
	const n, S = 8, 6 // 13 bins > 6 samples
	_, draw := lowRankGaussian(rng, n*n, 10)
	x := draw(S)
	s := &sliceState{s: S, noiseVar: 0.1}
	geo := radon.NewGeometry(n, []float64{0.3})
	P := radon.NewProjector(geo)
	s.z = make([]float32, S*geo.NDet)
	P.ApplyBatch(s.z, x, S)
	dual, err := s.score(0, 1, geo.NDet, EIG)
	if err != nil {
		t.Fatal(err)
	}
	b := geo.NDet
	m := make([]float64, b*b)
	for r := 0; r < S; r++ {
		for i := 0; i < b; i++ {
			for j := 0; j < b; j++ {
				m[i*b+j] += float64(s.z[r*b+i]) * float64(s.z[r*b+j]) / S
			}
		}
	}
	primal, err := halfLogDetI(m, b, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(dual-primal) > 1e-5*primal { // float32 Gram against float64
		t.Fatalf("dual EIG %g, primal %g", dual, primal)
	}
}

// stripeSamples are images made of column stripes (strong, seen whole at 0°
// and π) and row stripes (weaker, seen at π/2 and 3π/2).
func stripeSamples(rng *rand.Rand, n, S int, av, ah float64) []float32 {
	x := make([]float32, S*n*n)
	for s := 0; s < S; s++ {
		for j := 0; j < n; j++ {
			a := float32(av * rng.NormFloat64())
			for i := 0; i < n; i++ {
				x[s*n*n+i*n+j] += a
			}
		}
		for i := 0; i < n; i++ {
			a := float32(ah * rng.NormFloat64())
			for j := 0; j < n; j++ {
				x[s*n*n+i*n+j] += a
			}
		}
	}
	return x
}

// TestJointBatchAvoidsRedundantAngles: candidates 0 and π measure the same
// rays (reversed). Scored once, they are the two best, so top-k takes both;
// the joint choice conditions on the first and takes an angle that adds
// information instead.
func TestJointBatchAvoidsRedundantAngles(t *testing.T) {
	rng := newRNG(t, 3)
	const n, S = 8, 2000
	geo := radon.NewGeometry(n, nil)
	cands, err := NewCandidates(4, Interval{0, 2 * math.Pi}, math.Pi, nil, nil) // 0, π/2, π, 3π/2
	if err != nil {
		t.Fatal(err)
	}
	x := stripeSamples(rng, n, S, 1.25, 0.4)
	ctx := context.Background()
	sl := []SliceSamples{{X: x, S: S, NoiseVar: 1}}
	top, err := Select(ctx, geo, cands, sl, 2, Settings{TopK: true}, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	joint, err := Select(ctx, geo, cands, sl, 2, Settings{}, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first scores %v; top-k %v, joint %v (second-round scores %v)", top.Scores[0], top.Chosen, joint.Chosen, joint.Scores[1])
	tk := slices.Clone(top.Chosen)
	slices.Sort(tk)
	if !slices.Equal(tk, []int{0, 2}) {
		t.Fatalf("top-k chose %v; the test needs 0 and π to be the two best alone", top.Chosen)
	}
	if joint.Chosen[1]%2 != 1 {
		t.Fatalf("joint choice %v took the redundant angle second", joint.Chosen)
	}
	// Conditioning lowers the predicted std, and the joint pair lowers it more.
	if !(joint.MeanStd[2] < joint.MeanStd[1] && joint.MeanStd[1] < joint.MeanStd[0]) || !(joint.MeanStd[2] < top.MeanStd[2]) {
		t.Fatalf("predicted mean std: joint %v, top-k %v", joint.MeanStd, top.MeanStd)
	}
}

// TestROIIgnoresOutside: criteria with a ROI depend only on the samples'
// ROI pixels: changing every other pixel leaves the scores unchanged, and
// the ROI changes them against the whole image.
func TestROIIgnoresOutside(t *testing.T) {
	rng := newRNG(t, 4)
	const n, S = 8, 64
	geo := radon.NewGeometry(n, nil)
	cands, _ := NewCandidates(10, Interval{0, math.Pi}, math.Pi, nil, nil)
	_, draw := lowRankGaussian(rng, n*n, 10)
	x := draw(S)
	roi := make([]bool, n*n)
	for i := 2; i < 5; i++ {
		for j := 1; j < 4; j++ {
			roi[i*n+j] = true
		}
	}
	y := slices.Clone(x)
	for r := 0; r < S; r++ {
		for j, in := range roi {
			if !in {
				y[r*n*n+j] = float32(5 * rng.NormFloat64())
			}
		}
	}
	ctx := context.Background()
	for _, crit := range []Criterion{EIG, DiagEIG, Variance} {
		set := Settings{Criterion: crit, ROI: roi}
		a, err := Select(ctx, geo, cands, []SliceSamples{{X: x, S: S, NoiseVar: 0.1}}, 1, set, rng, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Select(ctx, geo, cands, []SliceSamples{{X: y, S: S, NoiseVar: 0.1}}, 1, set, rng, nil)
		whole, _ := Select(ctx, geo, cands, []SliceSamples{{X: x, S: S, NoiseVar: 0.1}}, 1, Settings{Criterion: crit}, rng, nil)
		if !slices.Equal(a.Scores[0], b.Scores[0]) {
			t.Fatalf("%v: ROI scores changed with pixels outside the ROI: %v vs %v", crit, a.Scores[0], b.Scores[0])
		}
		if slices.Equal(a.Scores[0], whole.Scores[0]) {
			t.Fatalf("%v: the ROI made no difference", crit)
		}
	}
}

// TestCandidatesViewPeriod: a measured parallel-beam view takes the
// candidate opposite it (the same rays reversed), a fan-beam view does not.
func TestCandidatesViewPeriod(t *testing.T) {
	deg := math.Pi / 180
	measured := []float64{10 * deg}
	for _, c := range []struct {
		beam radon.Beam
		free int
	}{{radon.Parallel, 36 - 2}, {radon.Fan, 36 - 1}} {
		cands, err := NewCandidates(36, Interval{0, 2 * math.Pi}, ViewPeriod(c.beam), measured, nil) // every 10°
		if err != nil {
			t.Fatal(err)
		}
		if f := cands.NumFree(); f != c.free || cands.Free[1] || cands.Free[19] != (c.beam == radon.Fan) {
			t.Errorf("%v beam: %d free, 10° free %v, 190° free %v", c.beam, f, cands.Free[1], cands.Free[19])
		}
	}
	if _, err := NewCandidates(36, Interval{0, math.Pi}, 0, nil, nil); err == nil {
		t.Error("a zero view period was accepted")
	}
}

func TestCandidatesAndBaselines(t *testing.T) {
	deg := math.Pi / 180
	cands, err := NewCandidates(200, Interval{0, math.Pi}, math.Pi, []float64{0, 36 * deg, 180 * deg}, []Interval{{30 * deg, 31 * deg}})
	if err != nil {
		t.Fatal(err)
	}
	// 0° (and 180° ≡ 0°), 36°, and 30.6° (the one candidate inside the
	// exclusion; they are 0.9° apart).
	if f := cands.NumFree(); f != 200-3 {
		t.Fatalf("%d free candidates, want 197", f)
	}
	// Equal: k angles nearest to iπ/k, distinct, none taken.
	all, _ := NewCandidates(200, Interval{0, math.Pi}, math.Pi, nil, nil)
	eq, err := all.Equal(8, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range eq {
		if want := i * 25; c != want { // 200/8 candidates apart, exactly
			t.Fatalf("equal: %v, want multiples of 25", eq)
		}
	}
	eq7, _ := all.Equal(7, 0)
	for i, c := range eq7 {
		if d := math.Abs(all.Angles[c] - float64(i)*math.Pi/7); d > math.Pi/400+1e-12 {
			t.Fatalf("equal 7: candidate %d is %.4g rad from its target", c, d)
		}
	}
	eqm, _ := cands.Equal(5, 0) // 0° taken: the nearest free one
	if eqm[0] != 1 {
		t.Fatalf("equal with 0° measured starts at candidate %d, want 1", eqm[0])
	}
	// Golden: the first angles are jπ/φ mod π.
	gd, err := all.Golden(5, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range gd {
		want := math.Mod(float64(j+1)*GoldenAngle, math.Pi)
		if math.Abs(all.Angles[c]-want) > math.Pi/400+1e-12 {
			t.Fatalf("golden %d: %.4f rad, want %.4f", j, all.Angles[c], want)
		}
	}
	if g, _ := all.Golden(200, 0, 0); len(g) != 200 {
		t.Fatal("golden cannot fill every candidate")
	}
	// Random: seeded, distinct, free.
	r1, _ := cands.Random(50, rand.New(rand.NewPCG(1, 2)))
	r2, _ := cands.Random(50, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(r1, r2) {
		t.Fatal("random is not reproducible from its seed")
	}
	seen := map[int]bool{}
	for _, c := range r1 {
		if seen[c] || !cands.Free[c] {
			t.Fatalf("random picked %d twice or taken", c)
		}
		seen[c] = true
	}
	if _, err := cands.Equal(198, 0); err == nil {
		t.Fatal("more angles than free candidates accepted")
	}
	if _, err := cands.Random(0, rand.New(rand.NewPCG(1, 2))); err == nil {
		t.Fatal("k = 0 accepted")
	}
}

// stripeCovariance is the exact covariance of stripeSamples.
func stripeCovariance(n int, av, ah float64) []float64 {
	npix := n * n
	sig := make([]float64, npix*npix)
	for p := 0; p < npix; p++ {
		for q := 0; q < npix; q++ {
			if p%n == q%n { // same column stripe
				sig[p*npix+q] += av * av
			}
			if p/n == q/n { // same row stripe
				sig[p*npix+q] += ah * ah
			}
		}
	}
	return sig
}

// TestSelectDenseConditionsLikeTheSamples: with the exact covariance,
// SelectDense's first scores are the closed form, it avoids the redundant
// angle as the sample version does (and top-k does not), and its
// second-round scores, after exact conditioning, are what the samples'
// ensemble conditioning converges to.
func TestSelectDenseConditionsLikeTheSamples(t *testing.T) {
	rng := newRNG(t, 5)
	const n = 8
	geo := radon.NewGeometry(n, nil)
	cands, _ := NewCandidates(4, Interval{0, 2 * math.Pi}, math.Pi, nil, nil)
	const av, ah = 1.25, 0.4
	sig := stripeCovariance(n, av, ah)
	ctx := context.Background()
	exact, err := SelectDense(ctx, geo, cands, sig, 1, 0, 2, Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	top, _ := SelectDense(ctx, geo, cands, sig, 1, 0, 2, Settings{TopK: true}, nil)
	cf, _ := ClosedForm(geo, cands, sig, 1, EIG, nil)
	for c := range cf {
		if math.Abs(exact.Scores[0][c]-cf[c]) > 1e-9*cf[c] {
			t.Fatalf("first-round score %d: %g, closed form %g", c, exact.Scores[0][c], cf[c])
		}
	}
	if exact.Chosen[1]%2 != 1 || top.Chosen[1]%2 != 0 {
		t.Fatalf("dense joint %v, top-k %v: want the joint pick to avoid the redundant angle", exact.Chosen, top.Chosen)
	}
	const S = 20000
	samp, err := Select(ctx, geo, cands, []SliceSamples{{X: stripeSamples(rng, n, S, av, ah), S: S, NoiseVar: 1}}, 2, Settings{}, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if samp.Chosen[0] != exact.Chosen[0] && samp.Chosen[0] != (exact.Chosen[0]+2)%4 {
		t.Fatalf("first picks differ: samples %d, exact %d", samp.Chosen[0], exact.Chosen[0])
	}
	for c, v := range exact.Scores[1] {
		if math.IsNaN(v) || math.IsNaN(samp.Scores[1][c]) {
			continue
		}
		// 20000 samples: ~1% per entry of Ĉ; the conditioning adds the
		// noise of its own estimate; 5% bounds both.
		if math.Abs(samp.Scores[1][c]/v-1) > 0.05 {
			t.Fatalf("second-round score %d: samples %g, exact %g", c, samp.Scores[1][c], v)
		}
	}
	for i := range exact.MeanStd {
		if math.Abs(samp.MeanStd[i]/exact.MeanStd[i]-1) > 0.03 {
			t.Fatalf("predicted mean std %d: samples %g, exact %g", i, samp.MeanStd[i], exact.MeanStd[i])
		}
	}
}
