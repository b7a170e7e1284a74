package linearised

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"

	"github.com/ctrecon/ctrecon/linop"
)

// EMSettings configures the EM / MacKay fixed-point fit of the prior
// scales and the noise (after arXiv 2210.04994). The zero value gives the
// defaults.
type EMSettings struct {
	// Iters is the number of EM iterations (default 20).
	Iters int
	// Samples is the number of posterior weight samples per iteration in
	// the matrix-free regime (default 16); the exact regime computes the
	// effective dimensions exactly.
	Samples int
	// FixNoise keeps σ_y² fixed.
	FixNoise bool
	// Laplace makes the fixed point that of the type-II (Laplace) MLL that
	// Fit minimises, L = ½‖y − A x̂‖²/σ_y² + ½θ*ᵀΣ_θ⁻¹θ* + ½log|K_yy|, in
	// the scales (ℓ_b fixed): the updates use the trained weights θ* and
	// the DIP's residual ‖y − A x̂‖² in place of the linear model's
	// posterior mean θ_lin and its residual. ∂L/∂log σ_b² = 0 is
	// θ*_bᵀΣ_b⁻¹θ*_b = γ_b and ∂L/∂log σ_y² = 0 is ‖y − A x̂‖² = σ_y²(m_y − γ),
	// so the MacKay updates below stop exactly at L's stationary points.
	// Without it the fixed point is the linear model's evidence for ỹ
	// (2210.04994), a different objective: x̂ = f(θ*) is an early-stopped
	// DIP, not that model's posterior mean.
	Laplace bool
	// Tol > 0 stops once no log-variance (σ_b², σ_y²) moved by more than
	// Tol in an iteration (after at least 2); 0 runs all Iters.
	Tol float64
}

func (s EMSettings) iters() int {
	if s.Iters <= 0 {
		return 20
	}
	return s.Iters
}

func (s EMSettings) samples() int {
	if s.Samples <= 0 {
		return 16
	}
	return s.Samples
}

// EMStats are the quantities of one E-step.
type EMStats struct {
	// Gamma[b] is block b's effective number of parameters
	// γ_b = tr(K_yy⁻¹ A J Σ_b Jᵀ Aᵀ); their sum γ = m_y − σ_y² tr(K_yy⁻¹).
	Gamma []float64
	// PriorNorm[b] = θ_lin,bᵀ Σ_b⁻¹ θ_lin,b at the current hyperparameters.
	PriorNorm []float64
	// Residual2 = ‖y − A x̂ − A J (θ_lin − θ*)‖², the data misfit of the
	// linear model at its posterior mean θ_lin.
	Residual2 float64
}

// The linear model behind EM: with θ* = Problem.Theta (the trained conv
// weights) and ỹ = y − A x̂ + A J θ*, the linearised network predicts
// ỹ ≈ A J θ + noise, θ ~ N(0, Σ_θ). Its posterior mean is
// θ_lin = Σ_θ (AJ)ᵀ K_yy⁻¹ ỹ. MacKay's fixed point for the evidence
// log p(ỹ) in each block scale and in σ_y² is
//
//	σ_b² ← σ_b² · θ_lin,bᵀ Σ_b⁻¹ θ_lin,b / γ_b,
//	σ_y² ← ‖ỹ − A J θ_lin‖² / (m_y − γ),
//
// whose fixed points are exactly the stationary points of log p(ỹ) in those
// parameters (ℓ_b stays fixed). Unlike 2210.04994 no g-prior rescaling of
// the weights is applied: the block prior's shape takes its place.
//
// step scales the log-space update of the σ_b² (1: MacKay's; ½ with
// Laplace, whose update σ_b² ← θ*ᵀS_b⁻¹θ*/γ_b(σ_b²) has log-derivative −a
// where γ_b ∝ σ_b^{2a}: a poorly determined block (a ≈ 1) would oscillate
// between two values; half a step has derivative (1−a)/2 ∈ [0, ½] and
// the same fixed points).
func emUpdate(pr *Prior, st EMStats, my int, fixNoise bool, step float64) error {
	var gamma float64
	for bi := range pr.Blocks {
		g := st.Gamma[bi]
		gamma += g
		if math.IsNaN(g) || math.IsNaN(st.PriorNorm[bi]) {
			return fmt.Errorf("linearised: EM: block %q has γ = %g, θᵀΣ⁻¹θ = %g", pr.Blocks[bi].Name, g, st.PriorNorm[bi])
		}
		if !(g > 0) || !(st.PriorNorm[bi] > 0) {
			// A sampled γ̂_b of a small block can come out ≤ 0 (Monte-Carlo
			// noise); keep σ_b² for this iteration rather than jump.
			continue
		}
		pr.H.LogVar[bi] += step * math.Log(st.PriorNorm[bi]/g)
	}
	if !fixNoise {
		if !(gamma < float64(my)) || !(st.Residual2 > 0) {
			return fmt.Errorf("linearised: EM: γ = %g of %d measurements, residual %g", gamma, my, st.Residual2)
		}
		pr.H.LogNoise = math.Log(st.Residual2 / (float64(my) - gamma))
	}
	pr.H.clamp()
	return nil
}

// ytilde returns ỹ = y − A x̂ + (A J θ*) given AJθ*.
func ytilde(prob *Problem, ajTheta []float32) []float64 {
	my := len(prob.Y)
	ax := make([]float32, my)
	prob.A.Apply(ax, prob.Xhat)
	yt := make([]float64, my)
	for i := range yt {
		yt[i] = float64(prob.Y[i]) - float64(ax[i]) + float64(ajTheta[i])
	}
	return yt
}

// ytilde returns ỹ (one JVP on first use, then kept: it depends only on
// the problem, not on the hyperparameters).
func (mf *MatrixFree) ytilde() []float64 {
	if mf.yt == nil {
		img := make([]float32, mf.npix)
		mf.Prob.J.Apply(img, mf.Prob.theta(mf.n))
		ajt := make([]float32, mf.my)
		mf.Prob.A.Apply(ajt, img)
		mf.yt = ytilde(mf.Prob, ajt)
	}
	return mf.yt
}

// priorNorms returns θ_bᵀ Σ_b⁻¹ θ_b per block.
func priorNorms(pr *Prior, theta []float32) []float64 {
	inv := make([]float32, len(theta))
	pr.Inv(inv, theta, 1)
	out := make([]float64, len(pr.Blocks))
	for bi, b := range pr.Blocks {
		out[bi] = linop.Dot(theta[b.Offset:b.Offset+b.Len], inv[b.Offset:b.Offset+b.Len])
	}
	return out
}

// EStep computes the EM statistics exactly: θ_lin by a Cholesky solve with
// the assembled AJ, γ_b from the precomputed terms and K_yy⁻¹.
func (e *Exact) EStep() (EMStats, error) {
	m, n := e.my, e.n
	theta := e.Prob.theta(n)
	aj := linop.NewDense(m, n, e.aj)
	ajt := make([]float32, m)
	aj.Apply(ajt, theta)
	yt := ytilde(e.Prob, ajt)
	if _, err := e.factor(); err != nil {
		return EMStats{}, err
	}
	u := append([]float64(nil), yt...)
	lapack64.Potrs(e.tri(), blas64.General{Rows: m, Cols: 1, Data: u, Stride: 1})
	u32 := make([]float32, m)
	for i, v := range u {
		u32[i] = float32(v)
	}
	g := make([]float32, n)
	aj.Adjoint(g, u32)
	thl := make([]float32, n)
	e.Prior.Cov(thl, g, 1)
	st := EMStats{PriorNorm: priorNorms(e.Prior, thl), Gamma: make([]float64, len(e.Prior.Blocks))}
	fit := make([]float32, m)
	aj.Apply(fit, thl)
	for i, v := range yt {
		d := v - float64(fit[i])
		st.Residual2 += d * d
	}
	// γ_b = Σ_{t∈b} w_t tr(K⁻¹ M_t).
	e.factOK = false
	if !cholInvUpper(e.kbuf, m) {
		return st, fmt.Errorf("linearised: inverting K_yy failed")
	}
	w, _ := e.weights(e.Prior.H)
	tr := e.tracesInv()
	for t, tm := range e.terms {
		st.Gamma[tm.block] += w[t] * tr[t]
	}
	return st, nil
}

// EStep estimates the EM statistics matrix-free from k fresh posterior
// samples (see estep).
func (mf *MatrixFree) EStep(ctx context.Context, k int, rng *rand.Rand) (EMStats, error) {
	if err := mf.ensurePreconditioner(ctx, false, rng); err != nil {
		return EMStats{}, err
	}
	xi := make([]float32, k*mf.n)
	for i := range xi {
		xi[i] = float32(rng.NormFloat64())
	}
	eps1 := make([]float32, k*mf.my)
	for i := range eps1 {
		eps1[i] = float32(rng.NormFloat64())
	}
	return mf.estep(ctx, xi, eps1, k, nil)
}

// estep estimates the EM statistics matrix-free: θ_lin by one CG solve,
// and γ_b = tr(K_yy⁻¹ A J Σ_b Jᵀ Aᵀ) from k vectors s = AJε₀ + σ_y ε₁
// ~ N(0, K_yy) (ε₀ = Σ_θ^{½} ξ): u = K_yy⁻¹ s ~ N(0, K_yy⁻¹), so
// E[uᵀ A J Σ_b Jᵀ Aᵀ u] = γ_b, and g = Jᵀ Aᵀ u, which θ_lin's solve needs
// anyway, gives every block's term as g_bᵀ Σ_b g_b: no per-block JVPs
// (2210.04994's estimator σ_y⁻²⟨A J_b z_b, A J z⟩ needs one per block).
// The relative error of the total is about √(2/k). ξ (k × n) and ε₁
// (k × m_y) are the caller's, so that EM iterations can reuse them
// (common random numbers: the fixed point is then a smooth function of
// the hyperparameters) and warm-start CG from warm (k+1 solutions, updated
// in place) when non-nil.
func (mf *MatrixFree) estep(ctx context.Context, xi, eps1 []float32, k int, warm []float32) (EMStats, error) {
	m, npix, n := mf.my, mf.npix, mf.n
	bsz := mf.set.batch()
	ajApply := func(dst, w []float32, c int) {
		img := make([]float32, c*npix)
		chunked(bsz, c, n, npix, img, w, func(d, s []float32, cc int) { linop.ApplyBatch(mf.Prob.J, d, s, cc) })
		chunked(bsz, c, npix, m, dst, img, func(d, s []float32, cc int) { linop.ApplyBatch(mf.Prob.A, d, s, cc) })
	}
	ajAdjoint := func(dst, v []float32, c int) {
		img := make([]float32, c*npix)
		chunked(bsz, c, m, npix, img, v, func(d, s []float32, cc int) { linop.AdjointBatch(mf.Prob.A, d, s, cc) })
		chunked(bsz, c, npix, n, dst, img, func(d, s []float32, cc int) { linop.AdjointBatch(mf.Prob.J, d, s, cc) })
	}
	yt := mf.ytilde()
	// Right-hand sides: ỹ, then the k sample vectors AJε₀ + σ_y ε₁.
	eps0 := make([]float32, k*n)
	mf.Prior.Sqrt(eps0, xi, k)
	rhs := make([]float32, (k+1)*m)
	for i, v := range yt {
		rhs[i] = float32(v)
	}
	ajApply(rhs[m:], eps0, k)
	sy := float32(math.Sqrt(mf.Prior.H.NoiseVar()))
	for i, e := range eps1 {
		rhs[m+i] += sy * e
	}
	sol := make([]float32, (k+1)*m)
	if _, err := mf.pcgCap(ctx, sol, rhs, k+1, warm, mf.set.fitRTol(), mf.set.fitMaxIter()); err != nil {
		// The statistics are Monte-Carlo estimates; a solve that stopped
		// short of FitRTol (float32 K_yy at a huge condition number) still
		// gives usable ones, and the next iteration starts from it.
		if !errors.Is(err, ErrCGNotConverged) {
			return EMStats{}, err
		}
		mf.cgShort++
	}
	if warm != nil {
		copy(warm, sol)
	}
	mf.lastSol = sol
	g := make([]float32, (k+1)*n)
	ajAdjoint(g, sol, k+1)
	sg := make([]float32, (k+1)*n)
	mf.Prior.Cov(sg, g, k+1)
	thl := sg[:n]
	st := EMStats{PriorNorm: priorNorms(mf.Prior, thl), Gamma: make([]float64, len(mf.Prior.Blocks))}
	fit := make([]float32, m)
	ajApply(fit, thl, 1)
	for i, v := range yt {
		d := v - float64(fit[i])
		st.Residual2 += d * d
	}
	for bi, b := range mf.Prior.Blocks {
		var s float64
		for r := 1; r <= k; r++ {
			o := r*n + b.Offset
			s += linop.Dot(g[o:o+b.Len], sg[o:o+b.Len])
		}
		st.Gamma[bi] = s / float64(k)
	}
	return st, nil
}

// emLoop runs EM iterations with the given E-step; progress receives the
// iteration and the total effective dimension γ.
func emLoop(ctx context.Context, pr *Prior, my int, s EMSettings, estep func() (EMStats, error), progress Progress) (FitResult, error) {
	var res FitResult
	for it := 1; it <= s.iters(); it++ {
		if err := ctxErr(ctx); err != nil {
			return res, err
		}
		before := pr.H.Clone()
		st, err := estep()
		if err != nil {
			return res, err
		}
		step := 1.0
		if s.Laplace {
			step = 0.5
		}
		if err := emUpdate(pr, st, my, s.FixNoise, step); err != nil {
			return res, err
		}
		var gamma float64
		for _, g := range st.Gamma {
			gamma += g
		}
		res.Steps = it
		if progress != nil {
			progress(it, gamma)
		}
		if s.Tol > 0 && it >= 2 && maxLogChange(before, pr.H) <= s.Tol {
			break
		}
	}
	return res, nil
}

// FitEM fits the block scales σ_b² and σ_y² (ℓ_b fixed) by EM with exact
// E-steps. Progress receives (iteration, γ).
func (e *Exact) FitEM(ctx context.Context, s EMSettings, progress Progress) (FitResult, error) {
	estep := func() (EMStats, error) {
		st, err := e.EStep()
		if s.Laplace {
			laplaceStats(&st, e.Prior, e.Prob, e.r2)
		}
		return st, err
	}
	res, err := emLoop(ctx, e.Prior, e.my, s, estep, progress)
	if err != nil {
		return res, err
	}
	if res.Loss, err = e.Loss(nil); err != nil {
		return res, err
	}
	res.Jitter = e.Jitter
	return res, nil
}

// FitEM fits the block scales σ_b² and σ_y² (ℓ_b fixed) by the sample-based
// EM. The same k standard-normal draws are used in every iteration (common
// random numbers) and CG is warm-started from the previous iteration's
// solutions; the preconditioner is rebuilt only when a log-variance moved
// by more than log 2 since it was built (K0 then changed by more than a
// factor 2 in some direction, and a stale preconditioner would cost more
// CG iterations than a rebuild). Progress receives (iteration, γ̂).
func (mf *MatrixFree) FitEM(ctx context.Context, s EMSettings, rng *rand.Rand, progress Progress) (FitResult, error) {
	k := s.samples()
	xi := make([]float32, k*mf.n)
	for i := range xi {
		xi[i] = float32(rng.NormFloat64())
	}
	eps1 := make([]float32, k*mf.my)
	for i := range eps1 {
		eps1[i] = float32(rng.NormFloat64())
	}
	warm := make([]float32, (k+1)*mf.my)
	first := true
	estep := func() (EMStats, error) {
		if err := mf.refreshIfStale(ctx, rng); err != nil {
			return EMStats{}, err
		}
		w := warm
		if first { // nothing to start from yet
			w, first = nil, false
		}
		st, err := mf.estep(ctx, xi, eps1, k, w)
		if w == nil {
			copy(warm, mf.lastSol)
		}
		if s.Laplace {
			laplaceStats(&st, mf.Prior, mf.Prob, mf.r2)
		}
		return st, err
	}
	res, err := emLoop(ctx, mf.Prior, mf.my, s, estep, progress)
	res.Loss = math.NaN()
	return res, err
}

// laplaceStats replaces the linear model's θ_lin statistics by those of the
// trained weights and the DIP residual (EMSettings.Laplace).
func laplaceStats(st *EMStats, pr *Prior, prob *Problem, r2 float64) {
	st.PriorNorm = priorNorms(pr, prob.theta(pr.Dim()))
	st.Residual2 = r2
}

// maxLogChange returns the largest change of a log-variance (σ_b² or σ_y²)
// from a to b; +Inf when a is empty.
func maxLogChange(a, b Hyper) float64 {
	if len(a.LogVar) != len(b.LogVar) {
		return math.Inf(1)
	}
	d := math.Abs(a.LogNoise - b.LogNoise)
	for i := range a.LogVar {
		d = math.Max(d, math.Abs(a.LogVar[i]-b.LogVar[i]))
	}
	return d
}

// InitFromWeights sets each block's σ_b² to the maximum-likelihood scale of
// the trained weights under the block's prior shape, θ*_bᵀ S_b⁻¹ θ*_b / n_b
// (S_b the unit-variance filter covariance at the current ℓ_b), and, unless
// keepNoise, σ_y² to the mean squared residual ‖y − A x̂‖²/m_y. These are
// the moment estimates a fit starts from in the matrix-free regime: the
// documented initial values (σ_b² = 1, σ_y² = 1) can be orders of magnitude
// off for a trained network and a sinogram's units, which makes K_yy badly
// conditioned and the first CG solves very long. Blocks whose weights are
// all zero keep their value.
func InitFromWeights(pr *Prior, prob *Problem, keepNoise bool) {
	n := pr.Dim()
	theta := prob.theta(n)
	pn := priorNorms(pr, theta)
	for bi, b := range pr.Blocks {
		if pn[bi] > 0 {
			pr.H.LogVar[bi] += math.Log(pn[bi] / float64(b.Len))
		}
	}
	if !keepNoise {
		my, _ := prob.A.Dims()
		if r2 := prob.residual2(); r2 > 0 {
			pr.H.LogNoise = math.Log(r2 / float64(my))
		}
	}
	pr.H.clamp()
}
