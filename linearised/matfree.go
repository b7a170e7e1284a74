package linearised

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/linop"
)

// ErrCGNotConverged is returned (wrapped) when a conjugate-gradient solve
// did not reach its tolerance within MaxIter iterations. The results are
// the last iterates, finite but less accurate than asked for.
var ErrCGNotConverged = errors.New("linearised: CG did not converge")

// CGSettings configures the batched preconditioned conjugate gradients for
// K_yy u = b. The zero value gives the defaults.
type CGSettings struct {
	// MaxIter bounds the iterations per solve (default 200).
	MaxIter int
	// RTol is the relative residual ‖b − K u‖/‖b‖ to reach (default 1e-4).
	RTol float64
	// PrecondRank is the rank of the randomized Nyström preconditioner
	// (default 300, capped at m_y); a negative value disables it.
	PrecondRank int
}

func (s CGSettings) maxIter() int {
	if s.MaxIter <= 0 {
		return 200
	}
	return s.MaxIter
}

func (s CGSettings) rtol() float64 {
	if s.RTol <= 0 {
		return 1e-4
	}
	return s.RTol
}

// MatrixFreeSettings configures the matrix-free regime. The zero value
// gives the defaults.
type MatrixFreeSettings struct {
	// Batch is the number of vectors per batched J/A call (default 16).
	Batch int
	CG    CGSettings
	// Probes is the number of Hutchinson probes per MLL gradient (default 8).
	Probes int
	// PrecondUpdate is the number of MLL steps between preconditioner
	// rebuilds (default 50; bayes_dip's update_freq).
	PrecondUpdate int
	// SampleRTol is the CG tolerance of the posterior-sample solves
	// (default 1e-3): a sample's error is then far below its Monte-Carlo
	// spread, and each solve needs fewer iterations than at CG.RTol.
	SampleRTol float64
	// SampleCG makes Run draw its posterior samples by Matheron's rule with
	// CG solves (exact up to SampleRTol) instead of from the subspace
	// model (SubspaceSamples: conservative, no CG, the default).
	SampleCG bool
	// FitRTol is the CG tolerance of the EM E-step solves (default 1e-2):
	// the Monte-Carlo error of a 16-sample γ̂ (≈ √(2/16)) dominates it.
	FitRTol float64
	// Subspace configures the subspace model (FitSubspace).
	Subspace SubspaceSettings
	// FitMaxIter caps the CG iterations of an E-step (default 50): the
	// E-step accepts a solve that stopped short, the next iteration
	// starts from it, and each iteration costs k+1 K_yy products.
	FitMaxIter int
}

func (s MatrixFreeSettings) fitMaxIter() int {
	if s.FitMaxIter <= 0 {
		return 50
	}
	return s.FitMaxIter
}

func (s MatrixFreeSettings) fitRTol() float64 {
	if s.FitRTol <= 0 {
		return 1e-2
	}
	return s.FitRTol
}

func (s MatrixFreeSettings) sampleRTol() float64 {
	if s.SampleRTol <= 0 {
		return 1e-3
	}
	return s.SampleRTol
}

func (s MatrixFreeSettings) batch() int {
	if s.Batch <= 0 {
		return 16
	}
	return s.Batch
}

func (s MatrixFreeSettings) probes() int {
	if s.Probes <= 0 {
		return 8
	}
	return s.Probes
}

func (s MatrixFreeSettings) precondUpdate() int {
	if s.PrecondUpdate <= 0 {
		return 50
	}
	return s.PrecondUpdate
}

// CGInfo reports a batched CG solve.
type CGInfo struct {
	Iters  []int     // iterations per right-hand side
	RelRes []float64 // final relative residual per right-hand side
}

// MaxIters returns the largest iteration count.
func (c CGInfo) MaxIters() int {
	m := 0
	for _, v := range c.Iters {
		m = max(m, v)
	}
	return m
}

// MatrixFree is the linearised model applied only through J, Jᵀ, A and Aᵀ
// (DESIGN.md §5, 128² and up): K_yy v = A J Σ_θ Jᵀ Aᵀ v + σ_y² v, solved by
// batched preconditioned CG; posterior samples by Matheron's rule;
// Hutchinson estimates of the log-determinant gradient for the MLL.
type MatrixFree struct {
	Prob  *Problem
	Prior *Prior

	my, npix, n int
	set         MatrixFreeSettings
	r2          float64
	ws          weightStats

	pre  *nystrom
	preH Hyper // hyperparameters the preconditioner was built at
	// lastCG is the report of the latest CG solve (diagnostics).
	lastCG CGInfo
	sub    *subspace
	yt     []float64 // ỹ = y − A x̂ + A J θ* (ytilde), computed once
	// cgShort counts E-step solves that stopped at MaxIter (diagnostics).
	cgShort int
	// lastSol holds the latest E-step's CG solutions (FitEM's warm start).
	lastSol []float32
}

// NewMatrixFree returns the matrix-free model; nothing is assembled.
func NewMatrixFree(prob *Problem, prior *Prior, set MatrixFreeSettings) (*MatrixFree, error) {
	my, npix, n, err := prob.dims()
	if err != nil {
		return nil, err
	}
	if prior.Dim() != n {
		return nil, fmt.Errorf("linearised: prior over %d weights, J has %d", prior.Dim(), n)
	}
	return &MatrixFree{Prob: prob, Prior: prior, my: my, npix: npix, n: n, set: set,
		r2: prob.residual2(), ws: newWeightStats(prior, prob.theta(n))}, nil
}

// imageCov sets dst = J Σ_θ Jᵀ x for k images (k × N²), batch at a time.
func imageCov(J linop.Operator, prior *Prior, batch int, dst, x []float32, k int) {
	npix, n := J.Dims()
	chunked(batch, k, npix, npix, dst, x, func(d, s []float32, c int) {
		w := make([]float32, c*n)
		w2 := make([]float32, c*n)
		linop.AdjointBatch(J, w, s, c)
		prior.Cov(w2, w, c)
		linop.ApplyBatch(J, d, w2, c)
	})
}

// chunked calls f on pieces of at most batch of the k vectors.
func chunked(batch, k, lenIn, lenOut int, dst, x []float32, f func(d, s []float32, c int)) {
	for r0 := 0; r0 < k; r0 += batch {
		c := min(batch, k-r0)
		f(dst[r0*lenOut:(r0+c)*lenOut], x[r0*lenIn:(r0+c)*lenIn], c)
	}
}

func (mf *MatrixFree) chunked(k, lenIn, lenOut int, dst, x []float32, f func(d, s []float32, c int)) {
	chunked(mf.set.batch(), k, lenIn, lenOut, dst, x, f)
}

// ApplyK0 sets dst = A J Σ_θ Jᵀ Aᵀ v for k vectors of length m_y (K_yy
// without the noise term).
func (mf *MatrixFree) ApplyK0(dst, v []float32, k int) {
	mf.chunked(k, mf.my, mf.my, dst, v, func(d, s []float32, c int) {
		img := make([]float32, c*mf.npix)
		img2 := make([]float32, c*mf.npix)
		linop.AdjointBatch(mf.Prob.A, img, s, c)
		imageCov(mf.Prob.J, mf.Prior, mf.set.batch(), img2, img, c)
		linop.ApplyBatch(mf.Prob.A, d, img2, c)
	})
}

// ApplyK sets dst = K_yy v for k vectors of length m_y.
func (mf *MatrixFree) ApplyK(dst, v []float32, k int) {
	mf.ApplyK0(dst, v, k)
	s := float32(mf.Prior.H.NoiseVar())
	for i := range dst {
		dst[i] += s * v[i]
	}
}

// nystrom is the randomized Nyström preconditioner of Frangella, Tropp and
// Udell (2023) for K0 + μI: with K0 ≈ U Λ Uᵀ (rank r),
// P⁻¹ = (λ_r + μ) U (Λ + μI)⁻¹ Uᵀ + (I − UUᵀ).
type nystrom struct {
	m, r   int
	u      []float64 // m × r, column j at u[j*m:]
	lambda []float64
	mu     float64
}

// buildPreconditioner forms the Nyström approximation of K0 from rank
// batched products K0 Ω.
func (mf *MatrixFree) buildPreconditioner(ctx context.Context, rank int, rng *rand.Rand) (*nystrom, error) {
	m := mf.my
	r := min(rank, m)
	om := make([]float64, r*m)
	for i := range om {
		om[i] = rng.NormFloat64()
	}
	r = orthonormalise(om, m, r)
	if r == 0 {
		return nil, errors.New("linearised: Nyström preconditioner of rank 0")
	}
	om32 := make([]float32, r*m)
	for i := range om32 {
		om32[i] = float32(om[i])
	}
	y32 := make([]float32, r*m)
	b := mf.set.batch()
	for r0 := 0; r0 < r; r0 += b {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		c := min(b, r-r0)
		mf.ApplyK0(y32[r0*m:(r0+c)*m], om32[r0*m:(r0+c)*m], c)
	}
	// Shift ν well above the float32 rounding of Y so that ΩᵀY_ν is SPD.
	var fro float64
	for _, v := range y32 {
		fro += float64(v) * float64(v)
	}
	nu := 1e-5 * math.Sqrt(fro)
	if nu == 0 {
		return nil, errors.New("linearised: K0 is zero; no preconditioner")
	}
	// Y_ν as an m × r matrix.
	yn := mat.NewDense(m, r, nil)
	for j := 0; j < r; j++ {
		for i := 0; i < m; i++ {
			yn.Set(i, j, float64(y32[j*m+i])+nu*om[j*m+i])
		}
	}
	omM := mat.NewDense(m, r, nil)
	for j := 0; j < r; j++ {
		for i := 0; i < m; i++ {
			omM.Set(i, j, om[j*m+i])
		}
	}
	var c mat.Dense
	c.Mul(omM.T(), yn)
	cs := mat.NewSymDense(r, nil)
	for i := 0; i < r; i++ {
		for j := i; j < r; j++ {
			cs.SetSym(i, j, 0.5*(c.At(i, j)+c.At(j, i)))
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(cs) {
		return nil, errors.New("linearised: Nyström core ΩᵀY is not positive definite")
	}
	var l mat.TriDense
	chol.LTo(&l)
	// B = Y_ν L⁻ᵀ  ⇔  Bᵀ = L⁻¹ Y_νᵀ.
	var bt mat.Dense
	if err := bt.Solve(&l, yn.T()); err != nil {
		return nil, fmt.Errorf("linearised: Nyström solve: %w", err)
	}
	var svd mat.SVD
	if !svd.Factorize(bt.T(), mat.SVDThinU) {
		return nil, errors.New("linearised: Nyström SVD failed")
	}
	var u mat.Dense
	svd.UTo(&u)
	sv := svd.Values(nil)
	p := &nystrom{m: m, r: r, u: make([]float64, r*m), lambda: make([]float64, r)}
	for j := 0; j < r; j++ {
		p.lambda[j] = math.Max(0, sv[j]*sv[j]-nu)
		for i := 0; i < m; i++ {
			p.u[j*m+i] = u.At(i, j)
		}
	}
	return p, nil
}

// apply sets z = P⁻¹ x (length m) for noise variance mu.
func (p *nystrom) apply(z, x []float64) {
	m := p.m
	copy(z, x)
	lr := p.lambda[p.r-1]
	for j := 0; j < p.r; j++ {
		uj := p.u[j*m : (j+1)*m]
		c := dot64(uj, x)
		f := c * ((lr+p.mu)/(p.lambda[j]+p.mu) - 1)
		for i := range z {
			z[i] += f * uj[i]
		}
	}
}

// ensurePreconditioner (re)builds the preconditioner when none exists or
// force is set, and refreshes its μ = σ_y².
func (mf *MatrixFree) ensurePreconditioner(ctx context.Context, force bool, rng *rand.Rand) error {
	rank := mf.set.CG.PrecondRank
	if rank < 0 {
		mf.pre = nil
		return nil
	}
	if rank == 0 {
		rank = 300
	}
	if mf.pre == nil || force {
		p, err := mf.buildPreconditioner(ctx, rank, rng)
		if err != nil {
			return err
		}
		mf.pre = p
		mf.preH = mf.Prior.H.Clone()
	}
	mf.pre.mu = mf.Prior.H.NoiseVar()
	return nil
}

// Solve solves K_yy u = b for k right-hand sides (each of length m_y) by
// batched preconditioned CG, writing u into dst. The Nyström preconditioner
// is built on first use (rng draws its test matrix) and kept until
// RefreshPreconditioner. When a solve misses RTol the error wraps
// ErrCGNotConverged and dst holds the last iterates.
func (mf *MatrixFree) Solve(ctx context.Context, dst, b []float32, k int, rng *rand.Rand) (CGInfo, error) {
	m := mf.my
	if len(dst) != k*m || len(b) != k*m {
		panic(fmt.Errorf("linearised: Solve: lengths %d, %d for %d vectors of %d", len(dst), len(b), k, m))
	}
	if err := mf.ensurePreconditioner(ctx, false, rng); err != nil {
		return CGInfo{}, err
	}
	return mf.pcg(ctx, dst, b, k)
}

// refreshIfStale rebuilds the preconditioner when a log-variance moved by
// more than log 2 since it was built (K0 changed by more than a factor 2
// in some direction); otherwise only μ = σ_y² is updated.
func (mf *MatrixFree) refreshIfStale(ctx context.Context, rng *rand.Rand) error {
	return mf.ensurePreconditioner(ctx, mf.pre != nil && maxLogChange(mf.preH, mf.Prior.H) > math.Ln2, rng)
}

// RefreshPreconditioner rebuilds the Nyström preconditioner at the current
// hyperparameters.
func (mf *MatrixFree) RefreshPreconditioner(ctx context.Context, rng *rand.Rand) error {
	return mf.ensurePreconditioner(ctx, true, rng)
}

func (mf *MatrixFree) pcg(ctx context.Context, dst, b []float32, k int) (CGInfo, error) {
	return mf.pcgTol(ctx, dst, b, k, nil, mf.set.CG.rtol())
}

// pcgTol is batched preconditioned CG for K_yy u = b from x0 (nil: zero)
// to relative residual tol.
func (mf *MatrixFree) pcgTol(ctx context.Context, dst, b []float32, k int, x0 []float32, tol float64) (CGInfo, error) {
	return mf.pcgCap(ctx, dst, b, k, x0, tol, mf.set.CG.maxIter())
}

// pcgCap is pcgTol with at most maxIter iterations.
func (mf *MatrixFree) pcgCap(ctx context.Context, dst, b []float32, k int, x0 []float32, tol float64, maxIter int) (CGInfo, error) {
	m := mf.my
	info := CGInfo{Iters: make([]int, k), RelRes: make([]float64, k)}
	x := make([]float64, k*m)
	r := make([]float64, k*m)
	z := make([]float64, k*m)
	p := make([]float64, k*m)
	rz := make([]float64, k)
	bn := make([]float64, k)
	active := make([]int, 0, k)
	precond := func(j int) {
		if mf.pre != nil {
			mf.pre.apply(z[j*m:(j+1)*m], r[j*m:(j+1)*m])
		} else {
			copy(z[j*m:(j+1)*m], r[j*m:(j+1)*m])
		}
	}
	var kx0 []float32
	if x0 != nil {
		kx0 = make([]float32, k*m)
		mf.ApplyK(kx0, x0, k)
	}
	for j := 0; j < k; j++ {
		for i := 0; i < m; i++ {
			r[j*m+i] = float64(b[j*m+i])
		}
		bn[j] = math.Sqrt(dot64(r[j*m:(j+1)*m], r[j*m:(j+1)*m]))
		if bn[j] == 0 {
			continue
		}
		if x0 != nil {
			var rr float64
			for i := 0; i < m; i++ {
				x[j*m+i] = float64(x0[j*m+i])
				r[j*m+i] -= float64(kx0[j*m+i])
				rr += r[j*m+i] * r[j*m+i]
			}
			info.RelRes[j] = math.Sqrt(rr) / bn[j]
			if info.RelRes[j] <= tol {
				continue
			}
		}
		precond(j)
		copy(p[j*m:(j+1)*m], z[j*m:(j+1)*m])
		rz[j] = dot64(r[j*m:(j+1)*m], z[j*m:(j+1)*m])
		active = append(active, j)
	}
	pa := make([]float32, k*m)
	ap := make([]float32, k*m)
	for it := 1; it <= maxIter && len(active) > 0; it++ {
		if err := ctxErr(ctx); err != nil {
			return info, err
		}
		na := len(active)
		for a, j := range active {
			for i := 0; i < m; i++ {
				pa[a*m+i] = float32(p[j*m+i])
			}
		}
		mf.ApplyK(ap[:na*m], pa[:na*m], na)
		next := active[:0]
		for a, j := range active {
			pj, xj, rj := p[j*m:(j+1)*m], x[j*m:(j+1)*m], r[j*m:(j+1)*m]
			apj := ap[a*m : (a+1)*m]
			var pap float64
			for i, v := range apj {
				pap += pj[i] * float64(v)
			}
			if !(pap > 0) || math.IsNaN(pap) {
				return info, fmt.Errorf("linearised: CG breakdown (pᵀKp = %g): K_yy not positive definite in float32", pap)
			}
			alpha := rz[j] / pap
			var rr float64
			for i := range xj {
				xj[i] += alpha * pj[i]
				rj[i] -= alpha * float64(apj[i])
				rr += rj[i] * rj[i]
			}
			info.Iters[j] = it
			info.RelRes[j] = math.Sqrt(rr) / bn[j]
			if info.RelRes[j] <= tol {
				continue
			}
			precond(j)
			rzNew := dot64(rj, z[j*m:(j+1)*m])
			beta := rzNew / rz[j]
			rz[j] = rzNew
			zj := z[j*m : (j+1)*m]
			for i := range pj {
				pj[i] = zj[i] + beta*pj[i]
			}
			next = append(next, j)
		}
		active = next
	}
	for i, v := range x {
		dst[i] = float32(v)
	}
	mf.lastCG = info
	if len(active) > 0 {
		worst := 0.0
		for _, j := range active {
			worst = math.Max(worst, info.RelRes[j])
		}
		return info, fmt.Errorf("%w: %d of %d solves at relative residual up to %.3g after %d iterations (RTol %g)",
			ErrCGNotConverged, len(active), k, worst, maxIter, tol)
	}
	return info, nil
}

// Samples fills dst with k zero-mean posterior samples (k × N², without the
// δ term) by Matheron's rule (see matheron), solving with CG.
func (mf *MatrixFree) Samples(ctx context.Context, dst []float32, k int, rng *rand.Rand) (CGInfo, error) {
	if err := mf.ensurePreconditioner(ctx, false, rng); err != nil {
		return CGInfo{}, err
	}
	var info CGInfo
	err := matheron(ctx, mf.Prob, mf.Prior, mf.set.batch(), dst, k, rng, func(u, b []float32, k int) error {
		var err error
		info, err = mf.pcgTol(ctx, u, b, k, nil, mf.set.sampleRTol())
		return err
	})
	return info, err
}

// matheron fills dst with k zero-mean posterior samples by Matheron's rule:
// x_s = J Σ_θ^{½} ε₁ is a prior sample, and
//
//	x_post = x_s − J Σ_θ Jᵀ Aᵀ K_yy⁻¹ (A x_s + σ_y ε₂)
//
// has the posterior covariance. solve(u, b, k) sets u = K_yy⁻¹ b.
func matheron(ctx context.Context, prob *Problem, prior *Prior, batch int, dst []float32, k int, rng *rand.Rand,
	solve func(u, b []float32, k int) error) error {
	npix, n := prob.J.Dims()
	m, _ := prob.A.Dims()
	if len(dst) != k*npix {
		panic(fmt.Errorf("linearised: Samples dst has length %d, want %d", len(dst), k*npix))
	}
	w := make([]float32, k*n)
	prior.Sample(w, k, rng)
	chunked(batch, k, n, npix, dst, w, func(d, s []float32, c int) { linop.ApplyBatch(prob.J, d, s, c) })
	b := make([]float32, k*m)
	chunked(batch, k, npix, m, b, dst, func(d, s []float32, c int) { linop.ApplyBatch(prob.A, d, s, c) })
	sy := math.Sqrt(prior.H.NoiseVar())
	for i := range b {
		b[i] += float32(sy * rng.NormFloat64())
	}
	u := make([]float32, k*m)
	if err := solve(u, b, k); err != nil {
		return err
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	atu := make([]float32, k*npix)
	chunked(batch, k, m, npix, atu, u, func(d, s []float32, c int) { linop.AdjointBatch(prob.A, d, s, c) })
	corr := make([]float32, k*npix)
	imageCov(prob.J, prior, batch, corr, atu, k)
	for i := range dst {
		dst[i] -= corr[i]
	}
	return nil
}

// Variances writes Monte-Carlo posterior pixel variances (without δ) into
// dst from k Matheron samples, drawn Batch at a time; the relative standard
// error of each is about √(2/k).
func (mf *MatrixFree) Variances(ctx context.Context, dst []float64, k int, rng *rand.Rand) error {
	if len(dst) != mf.npix {
		panic(fmt.Errorf("linearised: Variances dst has length %d, want %d", len(dst), mf.npix))
	}
	clear(dst)
	b := mf.set.batch()
	s := make([]float32, b*mf.npix)
	for r0 := 0; r0 < k; r0 += b {
		c := min(b, k-r0)
		if _, err := mf.Samples(ctx, s[:c*mf.npix], c, rng); err != nil {
			return err
		}
		for r := 0; r < c; r++ {
			for i, v := range s[r*mf.npix : (r+1)*mf.npix] {
				dst[i] += float64(v) * float64(v)
			}
		}
	}
	for i := range dst {
		dst[i] /= float64(k)
	}
	return nil
}

// LossGrad returns the data and prior part of the MLL,
// ½‖y − A x̂‖²/σ_y² + ½θ̄ᵀΣ_θ⁻¹θ̄ (the log-determinant is not estimated),
// and writes into grad the full gradient with ½ tr(K_yy⁻¹ ∂K_yy) estimated
// by Hutchinson's estimator with Rademacher probes z: tr(K⁻¹∂K) ≈ mean zᵀK⁻¹∂K z,
// where zᵀK⁻¹ A J ∂Σ Jᵀ Aᵀ z = (JᵀAᵀK⁻¹z)ᵀ ∂Σ (JᵀAᵀz) needs one CG solve and
// two VJPs per probe.
func (mf *MatrixFree) LossGrad(ctx context.Context, grad *Hyper, probes int, rng *rand.Rand) (float64, CGInfo, error) {
	h := mf.Prior.H
	noise := h.NoiseVar()
	*grad = Hyper{LogVar: make([]float64, len(h.LogVar)), LogLen: make([]float64, len(h.LogLen))}
	q := mf.Prior.quad(mf.ws, grad)
	loss := 0.5 * (mf.r2/noise + q)
	grad.LogNoise -= 0.5 * mf.r2 / noise
	if err := mf.ensurePreconditioner(ctx, false, rng); err != nil {
		return loss, CGInfo{}, err
	}
	m, npix, n := mf.my, mf.npix, mf.n
	// Rademacher probes: unbiased like Gaussian ones, with the lower
	// variance 2(‖sym M‖_F² − Σ_i M_ii²)/p instead of 2‖sym M‖_F²/p.
	z := make([]float32, probes*m)
	for i := range z {
		z[i] = float32(2*int(rng.Uint64()&1) - 1)
	}
	w := make([]float32, probes*m)
	info, err := mf.pcg(ctx, w, z, probes)
	if err != nil {
		return loss, info, err
	}
	// Noise: ∂K/∂log σ_y² = σ_y² I.
	grad.LogNoise += 0.5 * noise * linop.Dot(w, z) / float64(probes)
	vjp := func(v []float32) []float32 {
		img := make([]float32, probes*npix)
		out := make([]float32, probes*n)
		mf.chunked(probes, m, npix, img, v, func(d, s []float32, c int) { linop.AdjointBatch(mf.Prob.A, d, s, c) })
		mf.chunked(probes, npix, n, out, img, func(d, s []float32, c int) { linop.AdjointBatch(mf.Prob.J, d, s, c) })
		return out
	}
	a, c := vjp(w), vjp(z)
	sc := make([]float32, probes*n)
	mf.Prior.Cov(sc, c, probes)
	for bi, blk := range mf.Prior.Blocks {
		var tv float64
		for r := 0; r < probes; r++ {
			o := r*n + blk.Offset
			for i := o; i < o+blk.Len; i++ {
				tv += float64(a[i]) * float64(sc[i])
			}
		}
		grad.LogVar[bi] += 0.5 * tv / float64(probes)
		if blk.Kernel != 3 {
			continue
		}
		// ∂Σ_b/∂log ℓ = σ_b² (I ⊗ K'(ℓ)).
		_, dk := kernelCoef(math.Exp(h.LogLen[bi]))
		var kp [81]float64
		for i := 0; i < 9; i++ {
			for j := 0; j < 9; j++ {
				kp[i*9+j] = dk[distIndex[i][j]]
			}
		}
		nf := blk.Len / 9
		parts := make([]float64, probes*nf)
		par.ForGrain(probes*nf, 256, func(lo, hi int) {
			for t := lo; t < hi; t++ {
				r, f := t/nf, t%nf
				o := r*n + blk.Offset + 9*f
				var s float64
				for i := 0; i < 9; i++ {
					var ci float64
					for j := 0; j < 9; j++ {
						ci += kp[i*9+j] * float64(c[o+j])
					}
					s += float64(a[o+i]) * ci
				}
				parts[t] = s
			}
		})
		var tl float64
		for _, v := range parts {
			tl += v
		}
		grad.LogLen[bi] += 0.5 * math.Exp(h.LogVar[bi]) * tl / float64(probes)
	}
	return loss, info, nil
}

// Fit optimises the prior's hyperparameters (in place) by Adam with the
// Hutchinson gradient (LossGrad) and the PredCP hyperprior when enabled,
// rebuilding the preconditioner every PrecondUpdate steps. Progress receives the data-and-prior part of the
// loss (no log-determinant); FitResult.Loss is NaN.
func (mf *MatrixFree) Fit(ctx context.Context, s MLLSettings, rng *rand.Rand, progress Progress) (FitResult, error) {
	step := 0
	f := func(grad *Hyper) (float64, error) {
		if step > 0 && step%mf.set.precondUpdate() == 0 {
			if err := mf.RefreshPreconditioner(ctx, rng); err != nil {
				return 0, err
			}
		}
		step++
		l, _, err := mf.LossGrad(ctx, grad, mf.set.probes(), rng)
		return l, err
	}
	res, err := adamFit(ctx, mf.Prior, withPredCP(ctx, f, mf.Prob, mf.Prior, s.PredCP, mf.set.batch(), rng), s, progress)
	res.Loss = math.NaN()
	return res, err
}
