package linearised

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/radon"
)

// realProblem linearises the `small` U-Net at random initial weights (the
// cost of the linearised step does not depend on training) on an n×n image
// with the parallel-beam projector over `angles` equally spaced angles.
func realProblem(tb testing.TB, n, angles int) *Problem {
	rng := rand.New(rand.NewPCG(5, 5))
	arch, err := dip.Preset("small")
	if err != nil {
		tb.Fatal(err)
	}
	u, err := dip.NewUNet(arch, n)
	if err != nil {
		tb.Fatal(err)
	}
	p := u.NewParams(rng)
	x := make([]float32, n*n)
	for i := range x {
		x[i] = float32(0.1 * rng.NormFloat64())
	}
	J, err := u.Jacobian(p, x)
	if err != nil {
		tb.Fatal(err)
	}
	A := radon.NewProjector(radon.NewGeometry(n, radon.EqualAngles(angles)))
	xhat := append([]float32(nil), J.Output()...)
	my, _ := A.Dims()
	y := make([]float32, my)
	A.Apply(y, xhat)
	for i := range y {
		y[i] += float32(0.05 * rng.NormFloat64())
	}
	return &Problem{J: J, Blocks: J.PriorBlocks(), A: A, Y: y, Xhat: xhat, Theta: p[:u.NumConvWeights()]}
}

// BenchmarkExactPipelineSmallN28A20 times the exact regime on the real
// `small` U-Net (76,608 conv weights, 28², 20 angles × 41 bins = 820
// measurements): AJ by batched VJPs + the 33 K_yy terms, one MLL step, and
// all posterior pixel variances. Run with -benchtime 1x; phases are
// reported as custom metrics (seconds, milliseconds).
func BenchmarkExactPipelineSmallN28A20(b *testing.B) {
	if testing.Short() {
		b.Skip("minutes of work")
	}
	prob := realProblem(b, 28, 20)
	_, n := prob.J.Dims()
	for i := 0; i < b.N; i++ {
		pr, err := NewPrior(prob.Blocks, n)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		aj, err := assembleAJ(context.Background(), prob.J, prob.A, 32)
		if err != nil {
			b.Fatal(err)
		}
		tAJ := time.Since(t0)
		_ = aj
		t0 = time.Now()
		e, err := NewExact(context.Background(), prob, pr, ExactSettings{})
		if err != nil {
			b.Fatal(err)
		}
		tNew := time.Since(t0)
		t0 = time.Now()
		const steps = 10
		var g Hyper
		for s := 0; s < steps; s++ {
			if _, err := e.Loss(&g); err != nil {
				b.Fatal(err)
			}
		}
		tStep := time.Since(t0) / steps
		t0 = time.Now()
		v := make([]float64, 28*28)
		if err := e.Variances(context.Background(), v); err != nil {
			b.Fatal(err)
		}
		tVar := time.Since(t0)
		b.ReportMetric(tAJ.Seconds(), "AJ_s")
		b.ReportMetric((tNew - tAJ).Seconds(), "terms_s")
		b.ReportMetric(float64(tStep.Microseconds())/1000, "mllstep_ms")
		b.ReportMetric(tVar.Seconds(), "variances_s")
		b.ReportMetric(float64(len(e.terms)), "terms")
	}
}

// benchMatrixFree times the matrix-free pieces on the real `small` U-Net:
// one batched K_yy product (16 vectors), the Nyström preconditioner, a
// batched CG solve (16 right-hand sides) and 16 Matheron samples.
func benchMatrixFree(b *testing.B, n, angles, rank int) {
	if testing.Short() {
		b.Skip("minutes of work")
	}
	prob := realProblem(b, n, angles)
	_, nw := prob.J.Dims()
	my, _ := prob.A.Dims()
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < b.N; i++ {
		pr, _ := NewPrior(prob.Blocks, nw)
		pr.H.LogNoise = -4.6 // σ_y² = 0.01, a realistic, ill-conditioned K_yy
		mf, err := NewMatrixFree(prob, pr, MatrixFreeSettings{CG: CGSettings{PrecondRank: rank, RTol: 1e-3, MaxIter: 300}})
		if err != nil {
			b.Fatal(err)
		}
		const k = 16
		v := make([]float32, k*my)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		kv := make([]float32, k*my)
		t0 := time.Now()
		mf.ApplyK(kv, v, k)
		tK := time.Since(t0)
		t0 = time.Now()
		if err := mf.RefreshPreconditioner(context.Background(), rng); err != nil {
			b.Fatal(err)
		}
		tP := time.Since(t0)
		t0 = time.Now()
		info, err := mf.Solve(context.Background(), kv, v, k, rng)
		if err != nil {
			b.Fatal(err)
		}
		tS := time.Since(t0)
		s := make([]float32, k*n*n)
		t0 = time.Now()
		if _, err := mf.Samples(context.Background(), s, k, rng); err != nil {
			b.Fatal(err)
		}
		tM := time.Since(t0)
		b.ReportMetric(tK.Seconds()/k*1000, "Kapply_ms/vec")
		b.ReportMetric(tP.Seconds(), "precond_s")
		b.ReportMetric(tS.Seconds(), "cg16_s")
		b.ReportMetric(float64(info.MaxIters()), "cg_iters")
		b.ReportMetric(tM.Seconds(), "samples16_s")
	}
}

// 28², 20 angles: m_y = 820, where exact and matrix-free can be compared.
func BenchmarkMatrixFreeSmallN28A20(b *testing.B) { benchMatrixFree(b, 28, 20, 200) }

// 128², 60 angles: m_y = 60·183 = 10,980, beyond the exact regime.
func BenchmarkMatrixFreeSmallN128A60(b *testing.B) {
	if testing.Short() {
		b.Skip("minutes per iteration; run without -short")
	}
	benchMatrixFree(b, 128, 60, 200)
}

// BenchmarkSubspaceSmallN64A30 times the matrix-free regime's subspace
// model, the default above 3000 measurements and what the design loop
// runs, on the real `small` U-Net at 64² with 30 angles (m_y = 30 × 91 =
// 2730): growing the subspace and fitting the hyperparameters by EM
// (fit_s), then 256 posterior samples (samples256_s). Run with
// -benchtime 1x; tens of seconds per iteration.
func BenchmarkSubspaceSmallN64A30(b *testing.B) {
	if testing.Short() {
		b.Skip("tens of seconds per iteration; run without -short")
	}
	prob := realProblem(b, 64, 30)
	_, nw := prob.J.Dims()
	_, npix, _, _ := prob.dims()
	ctx := context.Background()
	const k = 256
	x := make([]float32, k*npix)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pr, _ := NewPrior(prob.Blocks, nw)
		mf, err := NewMatrixFree(prob, pr, MatrixFreeSettings{})
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(7, uint64(i)))
		t0 := time.Now()
		if _, err := mf.FitSubspace(ctx, nil, rng, nil); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := mf.SubspaceSamples(ctx, x, k, rng); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(t1.Sub(t0).Seconds(), "fit_s")
		b.ReportMetric(time.Since(t1).Seconds(), "samples256_s")
		b.ReportMetric(float64(mf.SubspaceInfo().Rank), "rank")
	}
}

// TestRealNetworkExactVsMatrixFree fits the hyperparameters on the real
// `small` U-Net Jacobian and projector at 28² (820 measurements) and checks
// that the two regimes agree there: per pixel, the matrix-free variance
// from k samples has relative standard error √(2/k); the mean over pixels
// of the ratio v_mf/v_exact − 1 averages ~784 such errors (correlated, so
// we allow 5·√(2/k), not 5·√(2/k)/√784), and no pixel may exceed 6·√(2/k)
// (784 pixels, Gaussian tail).
func TestRealNetworkExactVsMatrixFree(t *testing.T) {
	if testing.Short() {
		t.Skip("real network: ~30 s")
	}
	prob := realProblem(t, 28, 20)
	_, nw := prob.J.Dims()
	pr, _ := NewPrior(prob.Blocks, nw)
	ctx := context.Background()
	e, err := NewExact(ctx, prob, pr, ExactSettings{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Fit(ctx, MLLSettings{Steps: 300}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MLL after 300 steps %.6g, σ_y² %.4g, jitter %g", res.Loss, pr.H.NoiseVar(), res.Jitter)
	ve := make([]float64, 28*28)
	if err := e.Variances(ctx, ve); err != nil {
		t.Fatal(err)
	}
	mf, _ := NewMatrixFree(prob, pr, MatrixFreeSettings{Batch: 32, CG: CGSettings{RTol: 1e-5, MaxIter: 500}})
	const k = 512
	vm := make([]float64, 28*28)
	if err := mf.Variances(ctx, vm, k, rand.New(rand.NewPCG(3, 3))); err != nil {
		t.Fatal(err)
	}
	se := math.Sqrt(2.0 / k)
	var mean, worst float64
	var used int
	for i := range ve {
		if ve[i] <= 1e-9 {
			continue // saturated sigmoid: J ≈ 0, nothing to compare
		}
		r := vm[i]/ve[i] - 1
		mean += r
		worst = math.Max(worst, math.Abs(r))
		used++
	}
	mean /= float64(used)
	t.Logf("%d pixels: mean ratio−1 %.4f, worst %.4f (se %.4f)", used, mean, worst, se)
	if math.Abs(mean) > 5*se || worst > 6*se {
		t.Fatalf("matrix-free variances disagree with exact: mean %.4f, worst %.4f", mean, worst)
	}
}

// BenchmarkExactFitSmallN28A20 runs the exact MLL fit to convergence
// (RelTol 1e-6 over 50 steps, at most 3000 steps) on the real `small`
// U-Net at 28², reporting the steps taken and the fit time.
func BenchmarkExactFitSmallN28A20(b *testing.B) {
	if testing.Short() {
		b.Skip("minutes of work")
	}
	prob := realProblem(b, 28, 20)
	_, nw := prob.J.Dims()
	for i := 0; i < b.N; i++ {
		pr, _ := NewPrior(prob.Blocks, nw)
		e, err := NewExact(context.Background(), prob, pr, ExactSettings{})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		res, err := e.Fit(context.Background(), MLLSettings{Steps: 3000, RelTol: 1e-6}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Steps), "steps")
		b.ReportMetric(time.Since(t0).Seconds(), "fit_s")
		b.ReportMetric(pr.H.NoiseVar(), "noisevar")
	}
}
