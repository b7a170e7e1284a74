package linearised

import (
	"context"
	"math"
	"testing"
)

func TestRunRegimesAgree(t *testing.T) {
	rng := newRNG(t, 50)
	p, pr := testProblem(t, rng, 20)
	randomHyper(pr, rng)
	h := pr.H.Clone()
	ctx := context.Background()
	if r, _ := ChooseRegime(p, pr, Settings{}); r != ExactRegime {
		t.Fatalf("Auto chose %v for m_y = 20", r)
	}
	if r, _ := ChooseRegime(p, pr, Settings{MaxExactObs: 10}); r != MatrixFreeRegime {
		t.Fatalf("Auto chose %v for m_y = 20 > MaxExactObs", r)
	}
	ex, err := Run(ctx, p, pr, Settings{SkipFit: true}, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	pr.H = h.Clone()
	const k = 3000
	mf, err := Run(ctx, p, pr, Settings{Regime: MatrixFreeRegime, SkipFit: true, Samples: k, KeepSamples: true,
		MatrixFree: MatrixFreeSettings{Batch: 500, CG: CGSettings{RTol: 1e-7}}}, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Regime != ExactRegime || mf.Regime != MatrixFreeRegime || len(mf.Samples) != k*36 {
		t.Fatalf("regimes %v, %v; %d sample values", ex.Regime, mf.Regime, len(mf.Samples))
	}
	// δ uses the same A and σ_y²: identical up to the randomized SVD, which
	// is exact here (rank 100 ≥ min(m_y, N²)).
	if relDiff(ex.Delta, mf.Delta) > 1e-4 || !(ex.Delta > 0) {
		t.Fatalf("δ exact %g, matrix-free %g", ex.Delta, mf.Delta)
	}
	// Variance from k samples: relative standard error √(2/k); 5 of them.
	for i := range ex.Variance {
		if relDiff(ex.Variance[i], mf.Variance[i]) > 5*math.Sqrt(2.0/k) {
			t.Fatalf("pixel %d: exact %g, matrix-free %g", i, ex.Variance[i], mf.Variance[i])
		}
		want := math.Sqrt(ex.Variance[i] + ex.Delta)
		if relDiff(float64(ex.Std[i]), want) > 1e-6 {
			t.Fatalf("std %g, want √(var+δ) = %g", ex.Std[i], want)
		}
	}
}

func TestRunFitsNoiseLevel(t *testing.T) {
	// Data from the linear model itself with known noise: the fitted σ_y²
	// must come out near the truth.
	rng := newRNG(t, 51)
	blocks, n := testBlocks()
	npix, my := 36, 400
	J := randDense(rng, npix, n, 0.3)
	A := randDense(rng, my, npix, 0.5)
	pr, _ := NewPrior(blocks, n)
	theta := make([]float32, n)
	pr.Sample(theta, 1, rng)
	x := make([]float32, npix)
	J.Apply(x, theta)
	const sigma = 0.3
	y := make([]float32, my)
	A.Apply(y, x)
	for i := range y {
		y[i] += float32(sigma * rng.NormFloat64())
	}
	// x̂ = Jθ (linear model, θ* = 0): the residual is pure noise.
	p := &Problem{J: J, Blocks: blocks, A: A, Y: y, Xhat: x, Theta: theta}
	res, err := Run(context.Background(), p, nil, Settings{MLL: MLLSettings{Steps: 600, LR: 0.05}}, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := math.Sqrt(math.Exp(res.Hyper.LogNoise))
	// ‖y − Ax̂‖²/m_y estimates σ² with relative sd √(2/400) ≈ 7%, and the
	// MLL's optimum is pulled by the log-det term by O(n/m_y); 25% bounds both.
	if relDiff(got, sigma) > 0.25 {
		t.Fatalf("fitted σ_y = %g, true %g", got, sigma)
	}
}

func TestResultSolveBothRegimes(t *testing.T) {
	rng := newRNG(t, 52)
	p, pr := testProblem(t, rng, 20)
	randomHyper(pr, rng)
	h := pr.H.Clone()
	ctx := context.Background()
	b := randVec(rng, 3*20, 1)
	var sols [2][]float32
	for i, reg := range []Regime{ExactRegime, MatrixFreeRegime} {
		pr.H = h.Clone()
		res, err := Run(ctx, p, pr, Settings{Regime: reg, SkipFit: true, Samples: 8,
			MatrixFree: MatrixFreeSettings{CG: CGSettings{RTol: 1e-7}}}, rng, nil)
		if err != nil {
			t.Fatal(err)
		}
		sols[i] = make([]float32, 3*20)
		if err := res.Solve(ctx, sols[i], b, 3, rng); err != nil {
			t.Fatal(err)
		}
		s := make([]float32, 2*36)
		if err := res.DrawSamples(ctx, s, 2, rng); err != nil {
			t.Fatal(err)
		}
	}
	// Cholesky vs CG at RTol 1e-7 on a K_yy with cond ≲ 1e3: 1e-3 relative.
	var num, den float64
	for i := range sols[0] {
		d := float64(sols[0][i] - sols[1][i])
		num += d * d
		den += float64(sols[0][i]) * float64(sols[0][i])
	}
	if math.Sqrt(num/den) > 1e-3 {
		t.Fatalf("exact and CG solves differ by %g", math.Sqrt(num/den))
	}
}

func TestCancelledContext(t *testing.T) {
	rng := newRNG(t, 53)
	p, pr := testProblem(t, rng, 20)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewExact(ctx, p, pr, ExactSettings{}); err != context.Canceled {
		t.Fatalf("NewExact: err = %v, want context.Canceled", err)
	}
	if _, err := Run(ctx, p, nil, Settings{Regime: MatrixFreeRegime}, rng, nil); err != context.Canceled {
		t.Fatalf("Run: err = %v, want context.Canceled", err)
	}
}

// TestPriorMean: a prior centred at μ is the zero-mean model of θ̄ − μ, so
// the exact regime's loss and gradient with (θ̄, μ) equal those with
// (θ̄ − μ, none); a prior mean of the wrong length is refused.
func TestPriorMean(t *testing.T) {
	rng := newRNG(t, 41)
	prob, prior := testProblem(t, rng, 12)
	randomHyper(prior, rng)
	mu := randVec(rng, len(prob.Theta), 0.3)
	shifted := *prob
	shifted.Theta = make([]float32, len(prob.Theta))
	for i := range mu {
		shifted.Theta[i] = prob.Theta[i] - mu[i]
	}
	withMean := *prob
	withMean.PriorMean = mu
	loss := func(p *Problem) (float64, Hyper) {
		e, err := NewExact(context.Background(), p, prior, ExactSettings{})
		if err != nil {
			t.Fatal(err)
		}
		var g Hyper
		l, err := e.Loss(&g)
		if err != nil {
			t.Fatal(err)
		}
		return l, g
	}
	l1, g1 := loss(&withMean)
	l2, g2 := loss(&shifted)
	l0, _ := loss(prob)
	if math.Abs(l1-l2) > 1e-9*math.Abs(l2) || l1 == l0 {
		t.Fatalf("loss with mean %v, shifted %v, without mean %v", l1, l2, l0)
	}
	for b := range g1.LogVar {
		if math.Abs(g1.LogVar[b]-g2.LogVar[b]) > 1e-9*(1+math.Abs(g2.LogVar[b])) {
			t.Fatalf("block %d: gradient %v vs %v", b, g1.LogVar[b], g2.LogVar[b])
		}
	}
	bad := *prob
	bad.PriorMean = mu[:3]
	if _, err := NewExact(context.Background(), &bad, prior, ExactSettings{}); err == nil {
		t.Fatal("a prior mean of the wrong length was accepted")
	}
}

// TestDrawSamplesFollowTheStdModel: the samples a Result draws come from
// the model that produced its variances. With the subspace capped far below
// m_y, that model is wider than the full posterior; samples from it must
// reproduce its variances, not the full model's.
func TestDrawSamplesFollowTheStdModel(t *testing.T) {
	rng := newRNG(t, 54)
	p, pr := testProblem(t, rng, 20)
	randomHyper(pr, rng)
	h := pr.H.Clone()
	ctx := context.Background()
	ex, err := Run(ctx, p, pr, Settings{Regime: ExactRegime, SkipFit: true}, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	pr.H = h.Clone()
	set := Settings{Regime: MatrixFreeRegime, SkipFit: true}
	set.MatrixFree.Subspace.MaxRank = 4
	mf, err := Run(ctx, p, pr, set, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	var _ Posterior = mf
	const k = 4000
	npix := len(mf.Variance)
	s := make([]float32, k*npix)
	if err := mf.DrawSamples(ctx, s, k, rng); err != nil {
		t.Fatal(err)
	}
	var got, want, full float64
	for i := 0; i < npix; i++ {
		var v float64
		for r := 0; r < k; r++ {
			v += float64(s[r*npix+i]) * float64(s[r*npix+i])
		}
		got += v / k
		want += mf.Variance[i]
		full += ex.Variance[i]
	}
	// The mean over pixels of k-sample variances: relative error well
	// under √(2/k) ≈ 2.2%; 6% leaves room for the 256-sample estimate
	// behind mf.Variance (its own ≈ 9% per pixel averages down too).
	if relDiff(got, want) > 0.06 {
		t.Fatalf("mean sample variance %g, the std model's %g", got/float64(npix), want/float64(npix))
	}
	if relDiff(want, full) < 0.15 {
		t.Fatalf("capped subspace variance %g is too close to the full model's %g for the test to tell them apart", want, full)
	}
}

// SamplesOnly drops the std map's work and nothing the design uses: with
// the same random stream, the fitted hyperparameters and the kept samples
// are those of a full run, in both regimes.
func TestSamplesOnlyKeepsFitAndSamples(t *testing.T) {
	ctx := context.Background()
	for _, regime := range []Regime{ExactRegime, MatrixFreeRegime} {
		rng := newRNG(t, 56)
		p, pr := testProblem(t, rng, 20)
		h := pr.H.Clone()
		set := Settings{Regime: regime, Samples: 8, KeepSamples: true, MLL: MLLSettings{Steps: 20}, EM: EMSettings{Iters: 5}}
		full, err := Run(ctx, p, pr, set, newRNG(t, 57), nil)
		if err != nil {
			t.Fatal(err)
		}
		pr.H = h.Clone()
		set.SamplesOnly = true
		only, err := Run(ctx, p, pr, set, newRNG(t, 57), nil)
		if err != nil {
			t.Fatal(err)
		}
		if only.Std != nil || only.Delta != 0 || (regime == ExactRegime) != (only.Variance == nil) {
			t.Fatalf("%v: SamplesOnly left a std map (%d values, δ %g, %d variances)", regime, len(only.Std), only.Delta, len(only.Variance))
		}
		if !sameHyper(full.Hyper, only.Hyper) {
			t.Fatalf("%v: hyperparameters differ: %+v vs %+v", regime, full.Hyper, only.Hyper)
		}
		if len(only.Samples) != len(full.Samples) || len(full.Samples) == 0 {
			t.Fatalf("%v: %d samples vs %d", regime, len(only.Samples), len(full.Samples))
		}
		for i := range full.Samples {
			if full.Samples[i] != only.Samples[i] {
				t.Fatalf("%v: sample value %d: %g vs %g", regime, i, full.Samples[i], only.Samples[i])
			}
		}
	}
}
