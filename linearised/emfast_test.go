package linearised

import (
	"context"
	"math"
	"testing"
)

// The matrix-free EM (common random numbers, warm-started CG, lazy
// preconditioner) must reach the exact EM's fixed point up to the
// Monte-Carlo error of its γ̂, and its tolerance must stop it early.
func TestMatrixFreeFitEMReachesExactFixedPoint(t *testing.T) {
	rng := newRNG(t, 73)
	p, pr := linearProblem(t, rng, 60, 0.2)
	h0 := pr.H.Clone()
	e, err := NewExact(context.Background(), p, pr, ExactSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.FitEM(context.Background(), EMSettings{Iters: 400}, nil); err != nil {
		t.Fatal(err)
	}
	want := pr.H.Clone()
	pr.H = h0
	const k = 4000
	mf, _ := NewMatrixFree(p, pr, MatrixFreeSettings{Batch: 1000, FitRTol: 1e-8, FitMaxIter: 500})
	res, err := mf.FitEM(context.Background(), EMSettings{Iters: 400, Samples: k, Tol: 1e-4}, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps >= 400 {
		t.Errorf("Tol 1e-4 did not stop the EM early (%d iterations)", res.Steps)
	}
	// γ̂ from k samples has a relative error ≈ √(2/k) ≈ 2%; the fixed point
	// moves by a comparable relative amount in σ² (a few % through the
	// MacKay update's ratio). Allow 0.15 in log σ² (15%).
	if d := math.Abs(pr.H.LogNoise - want.LogNoise); d > 0.15 {
		t.Errorf("log σ_y²: matrix-free %.4f, exact %.4f", pr.H.LogNoise, want.LogNoise)
	}
	for b := range want.LogVar {
		if d := math.Abs(pr.H.LogVar[b] - want.LogVar[b]); d > 0.15 {
			t.Errorf("block %d log σ²: matrix-free %.4f, exact %.4f", b, pr.H.LogVar[b], want.LogVar[b])
		}
	}
}

// InitFromWeights is the maximum-likelihood scale of the weights: for
// weights drawn from the prior at σ_b² = c, it recovers c up to the
// sampling error of a block's n_b/9 filters, and σ_y² is the mean squared
// residual.
func TestInitFromWeights(t *testing.T) {
	rng := newRNG(t, 74)
	p, pr := testProblem(t, rng, 20)
	randomHyper(pr, rng)
	truth := pr.H.Clone()
	theta := make([]float32, pr.Dim())
	pr.Sample(theta, 1, rng)
	p.Theta = theta
	for b := range pr.H.LogVar {
		pr.H.LogVar[b] = 0
	}
	InitFromWeights(pr, p, false)
	for b, blk := range pr.Blocks {
		// log of a χ²_ν/ν with ν = n_b: sd ≈ √(2/ν); 5 of them.
		if d := math.Abs(pr.H.LogVar[b] - math.Max(truth.LogVar[b], MinLogVariance)); d > 5*math.Sqrt(2/float64(blk.Len)) {
			t.Errorf("block %d (%d weights): log σ² %.3f, drawn at %.3f", b, blk.Len, pr.H.LogVar[b], truth.LogVar[b])
		}
	}
	my := len(p.Y)
	if got, want := pr.H.NoiseVar(), p.residual2()/float64(my); relDiff(got, want) > 1e-9 && want > math.Exp(MinLogVariance) {
		t.Errorf("σ_y² %g, mean squared residual %g", got, want)
	}
}

// With Laplace the EM fixed point is a stationary point of the exact MLL
// (Exact.Loss) in the log-variances, on a problem whose trained weights θ*
// and x̂ are not the linear model's posterior mean.
func TestExactLaplaceEMReachesMLLStationaryPoint(t *testing.T) {
	rng := newRNG(t, 76)
	p, pr := linearProblem(t, rng, 60, 0.2)
	for i := range p.Theta {
		p.Theta[i] = float32(0.3 * rng.NormFloat64())
	}
	for i := range p.Xhat {
		p.Xhat[i] = float32(0.1 * rng.NormFloat64())
	}
	e, err := NewExact(context.Background(), p, pr, ExactSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.FitEM(context.Background(), EMSettings{Iters: 400, Laplace: true}, nil); err != nil {
		t.Fatal(err)
	}
	var g Hyper
	if _, err := e.Loss(&g); err != nil {
		t.Fatal(err)
	}
	// Each gradient is ½(γ_b − θ*_bᵀΣ_b⁻¹θ*_b) (resp. ½(σ²(m−γ)... − r²/σ²)):
	// differences of terms of size ≲ m_y = 60; after 400 linearly converging
	// iterations they cancel to far below 1e-3 (a block at the clamp has a
	// one-sided gradient and is skipped).
	for b, v := range g.LogVar {
		if pr.H.LogVar[b] <= MinLogVariance+1e-9 {
			continue
		}
		if math.Abs(v) > 1e-3 {
			t.Errorf("block %d: ∂L/∂log σ² = %g at the Laplace EM fixed point", b, v)
		}
	}
	if math.Abs(g.LogNoise) > 1e-3 {
		t.Errorf("∂L/∂log σ_y² = %g at the Laplace EM fixed point", g.LogNoise)
	}
}
