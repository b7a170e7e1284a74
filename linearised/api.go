package linearised

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// Regime selects how the linearised model is evaluated.
type Regime int

const (
	// Auto picks Exact when m_y ≤ Settings.MaxExactObs and the precomputed
	// matrices fit Settings.MaxExactBytes, MatrixFree otherwise.
	Auto Regime = iota
	// ExactRegime assembles AJ and K_yy (float64 Cholesky, closed-form
	// variances, exact MLL gradients).
	ExactRegime
	// MatrixFreeRegime uses only J/A products (CG, Matheron samples,
	// Hutchinson gradients).
	MatrixFreeRegime
)

func (r Regime) String() string {
	switch r {
	case ExactRegime:
		return "exact"
	case MatrixFreeRegime:
		return "matrix-free"
	}
	return "auto"
}

// FitMethod selects how Run fits the hyperparameters.
type FitMethod int

const (
	// FitAuto (the default) is FitMLL in the exact regime and, in the
	// matrix-free regime, InitFromWeights followed by the Laplace fixed
	// point (the same objective as FitMLL, ℓ_b fixed; EMSettings.Tol
	// defaulting to DefaultEMTol) within the subspace model (or, with
	// SampleCG, by the sample-based EM).
	// With PredCP requested (MLL.PredCP.Gamma ≠ 0) it is FitMLL in both.
	FitAuto FitMethod = iota
	// FitMLL is Adam on the marginal likelihood (all hyperparameters,
	// optional PredCP): exact gradients or Hutchinson estimates.
	FitMLL
	// FitEM is the EM / MacKay fixed point for the block scales and σ_y²
	// (length-scales fixed) of EMSettings: with Laplace false (its zero
	// value) that of the linear model's evidence for ỹ (2210.04994). In the
	// matrix-free regime it runs within the subspace model from
	// InitFromWeights (sample-based with CG when SampleCG).
	FitEM
)

// DefaultEMTol is the EM stopping tolerance FitAuto uses in the
// matrix-free regime: no log-variance moved by more than 0.05 (5%) in an
// iteration, well inside the ≈ √(2/16) Monte-Carlo spread of a 16-sample γ̂.
const DefaultEMTol = 0.05

// Settings configures Run. The zero value gives the documented defaults.
type Settings struct {
	Regime Regime
	// MaxExactObs is the largest m_y for which Auto chooses the exact regime
	// (default 3000).
	MaxExactObs int
	// MaxExactBytes bounds the memory of the exact regime as estimated by
	// ExactBytes (default 4 GiB).
	MaxExactBytes int64

	Exact      ExactSettings
	MatrixFree MatrixFreeSettings
	Method     FitMethod
	MLL        MLLSettings
	EM         EMSettings
	// SkipFit keeps the prior's hyperparameters as they are.
	SkipFit bool
	// Samples is the number of posterior samples to return (KeepSamples).
	// The matrix-free variances are estimated from max(Samples, 256)
	// samples (relative standard error √(2/k) ≤ 9%); the exact regime draws
	// samples only when Samples > 0.
	Samples int
	// KeepSamples returns the posterior samples in Result.Samples.
	KeepSamples bool
	// SVD configures the truncated SVD of A behind δ.
	SVD SVDSettings
	// NoDelta leaves δ out of Result.Std (δ is still reported). Without
	// δ, pixels where J ≈ 0 get a std near 0 — overconfident (DESIGN §5).
	NoDelta bool
	// SamplesOnly skips what only the std map needs: the exact regime's
	// pixel variances and, in both regimes, δ (its truncated SVD of A).
	// Result.Std and Delta are then left empty, and Variance too in the
	// exact regime. Experimental design sets it: it chooses from the
	// samples alone, and the exact variances were half of an exact refit
	// (286 of 594 s at 15 angles of 64²).
	SamplesOnly bool
}

func (s Settings) maxExactObs() int {
	if s.MaxExactObs <= 0 {
		return 3000
	}
	return s.MaxExactObs
}

func (s Settings) maxExactBytes() int64 {
	if s.MaxExactBytes <= 0 {
		return 4 << 30
	}
	return s.MaxExactBytes
}

// Result is the outcome of Run.
type Result struct {
	Regime Regime
	Hyper  Hyper     // fitted log-hyperparameters (also left in the prior)
	Fit    FitResult // zero when SkipFit
	// Variance is the posterior pixel variance without δ (length N²).
	Variance []float64
	// Delta is δ = σ_y² · mean diag((AᵀA)⁺) from the truncated SVD of A.
	Delta float64
	// Std is √(Variance + δ) (√Variance with NoDelta), the reported
	// uncertainty; the predictive mean is Problem.Xhat.
	Std []float32
	// Samples holds k zero-mean posterior samples (k × N²) when
	// KeepSamples; add Xhat for samples of the image.
	Samples []float32
	// Exact or MatrixFree is the model used, for further queries (patch
	// covariances, CG solves, experimental design).
	Exact      *Exact
	MatrixFree *MatrixFree
	// Jitter is the largest diagonal jitter K_yy needed in the exact regime
	// (fit and variances), 0 when none.
	Jitter float64
	// Subspace describes the matrix-free regime's subspace model (rank,
	// the bound on what it misses); zero in the exact regime or with
	// SampleCG.
	Subspace SubspaceInfo

	mean     []float32 // Problem.Xhat
	subspace bool      // the variances came from the subspace model
}

// ExactBytes estimates the memory of the exact regime: AJ (m_y·n float32),
// the precomputed K_yy terms (one per Kernel-1 block, six per Kernel-3
// block, m_y(m_y+1)/2 float32 each), K_yy itself and the per-block float64
// accumulators during precomputation.
func ExactBytes(my, n int, prior *Prior) int64 {
	terms := 0
	for _, b := range prior.Blocks {
		if b.Kernel == 3 {
			terms += nDist
		} else {
			terms++
		}
	}
	m := int64(my)
	// The packed terms are held twice while they are interleaved (mall).
	return int64(my)*int64(n)*4 + 2*int64(terms)*m*(m+1)/2*4 + m*m*8*(1+nDist)
}

// ChooseRegime returns the regime Run would use.
func ChooseRegime(prob *Problem, prior *Prior, s Settings) (Regime, error) {
	my, _, n, err := prob.dims()
	if err != nil {
		return Auto, err
	}
	if s.Regime != Auto {
		return s.Regime, nil
	}
	if my <= s.maxExactObs() && ExactBytes(my, n, prior) <= s.maxExactBytes() {
		return ExactRegime, nil
	}
	return MatrixFreeRegime, nil
}

// Run is the whole linearised-DIP uncertainty step: it fits the
// hyperparameters by type-II maximum likelihood (unless SkipFit), computes
// the posterior pixel variances (exact or from Matheron samples), δ from a
// truncated SVD of A, and the reported std √(var + δ). prior may be nil
// (then NewPrior(prob.Blocks) with the default initial values is used);
// otherwise it is updated in place. rng drives every random choice
// (probes, samples, preconditioner, SVD). progress receives MLL steps.
func Run(ctx context.Context, prob *Problem, prior *Prior, s Settings, rng *rand.Rand, progress Progress) (*Result, error) {
	_, npix, n, err := prob.dims()
	if err != nil {
		return nil, err
	}
	if prior == nil {
		if prior, err = NewPrior(prob.Blocks, n); err != nil {
			return nil, err
		}
	}
	regime, err := ChooseRegime(prob, prior, s)
	if err != nil {
		return nil, err
	}
	res := &Result{Regime: regime, mean: prob.Xhat}
	if !(s.SamplesOnly && regime == ExactRegime) {
		res.Variance = make([]float64, npix)
	}
	nSamples := s.Samples
	switch regime {
	case ExactRegime:
		e, err := NewExact(ctx, prob, prior, s.Exact)
		if err != nil {
			return nil, err
		}
		res.Exact = e
		if !s.SkipFit {
			if s.Method == FitEM {
				res.Fit, err = e.FitEM(ctx, s.EM, progress)
			} else {
				res.Fit, err = e.Fit(ctx, s.MLL, rng, progress)
			}
			if err != nil {
				return nil, err
			}
		}
		if res.Variance != nil {
			if err := e.Variances(ctx, res.Variance); err != nil {
				return nil, err
			}
		}
		if s.KeepSamples && nSamples > 0 {
			res.Samples = make([]float32, nSamples*npix)
			if err := e.Samples(ctx, res.Samples, nSamples, rng); err != nil {
				return nil, err
			}
		}
	case MatrixFreeRegime:
		mf, err := NewMatrixFree(prob, prior, s.MatrixFree)
		if err != nil {
			return nil, err
		}
		res.MatrixFree = mf
		// The default fit is the Laplace fixed point within the subspace
		// model; the CG-based fits (FitEM, FitMLL, PredCP) work on the full
		// model, and the subspace is then grown at their result.
		useSub := !s.MatrixFree.SampleCG
		subFitted := false
		if !s.SkipFit {
			switch {
			case s.Method == FitEM && useSub:
				InitFromWeights(prior, prob, s.EM.FixNoise)
				em := s.EM
				res.Fit, err = mf.FitSubspace(ctx, &em, rng, progress)
				subFitted = true
			case s.Method == FitEM:
				res.Fit, err = mf.FitEM(ctx, s.EM, rng, progress)
			case s.Method == FitAuto && s.MLL.PredCP.Gamma == 0:
				em := s.EM
				em.FixNoise = em.FixNoise || s.MLL.FixNoise
				if em.Tol == 0 {
					em.Tol = DefaultEMTol
				}
				em.Laplace = true
				InitFromWeights(prior, prob, em.FixNoise)
				if useSub {
					res.Fit, err = mf.FitSubspace(ctx, &em, rng, progress)
					subFitted = true
				} else {
					res.Fit, err = mf.FitEM(ctx, em, rng, progress)
				}
			default:
				res.Fit, err = mf.Fit(ctx, s.MLL, rng, progress)
			}
			if err != nil {
				return nil, err
			}
		}
		// The variances come from at least 256 samples (Monte-Carlo error
		// √(2/256) ≈ 9% per pixel); Samples only asks for more, or for some
		// to keep.
		nSamples = max(nSamples, 256)
		samples := make([]float32, nSamples*npix)
		if useSub {
			if !subFitted {
				if _, err := mf.FitSubspace(ctx, nil, rng, nil); err != nil {
					return nil, err
				}
			}
			res.Subspace = mf.SubspaceInfo()
			res.subspace = true
			if err := mf.SubspaceSamples(ctx, samples, nSamples, rng); err != nil {
				return nil, err
			}
		} else {
			if err := mf.refreshIfStale(ctx, rng); err != nil {
				return nil, err
			}
			if _, err := mf.Samples(ctx, samples, nSamples, rng); err != nil {
				return nil, err
			}
		}
		for r := 0; r < nSamples; r++ {
			for i, v := range samples[r*npix : (r+1)*npix] {
				res.Variance[i] += float64(v) * float64(v)
			}
		}
		for i := range res.Variance {
			res.Variance[i] /= float64(nSamples)
		}
		if s.KeepSamples && s.Samples > 0 {
			res.Samples = samples[:s.Samples*npix]
		}
	default:
		return nil, fmt.Errorf("linearised: unknown regime %d", regime)
	}
	if res.Exact != nil {
		res.Jitter = res.Exact.Jitter
	}
	res.Hyper = prior.H.Clone()
	if s.SamplesOnly {
		return res, nil
	}
	if res.Delta, err = ImageNoiseTerm(ctx, prob.A, prior.H.NoiseVar(), s.SVD, rng); err != nil {
		return nil, err
	}
	res.Std = make([]float32, npix)
	for i, v := range res.Variance {
		if !s.NoDelta {
			v += res.Delta
		}
		res.Std[i] = float32(math.Sqrt(math.Max(v, 0)))
	}
	return res, nil
}

// Posterior is a fitted linearised model as the experimental design and
// the evaluation query it. Its samples come from the same model as its
// variances (the subspace model when that produced them), so a criterion
// computed from samples agrees with the std map the user sees.
type Posterior interface {
	// Mean is the predictive mean x̂ (length N²).
	Mean() []float32
	// PixelVariances are the posterior pixel variances without δ.
	PixelVariances() []float64
	// NoiseVar is the fitted σ_y².
	NoiseVar() float64
	// DrawSamples writes k zero-mean posterior samples (k × N², without δ).
	DrawSamples(ctx context.Context, dst []float32, k int, rng *rand.Rand) error
}

// Mean is the predictive mean x̂.
func (r *Result) Mean() []float32 { return r.mean }

// PixelVariances are the posterior pixel variances without δ (nil in the
// exact regime with SamplesOnly).
func (r *Result) PixelVariances() []float64 { return r.Variance }

// NoiseVar is the fitted σ_y².
func (r *Result) NoiseVar() float64 { return r.Hyper.NoiseVar() }

// DrawSamples draws k more zero-mean posterior samples (k × N², without δ)
// from the model that produced the variances: the exact posterior, the
// subspace model, or the full model by CG (SampleCG).
func (r *Result) DrawSamples(ctx context.Context, dst []float32, k int, rng *rand.Rand) error {
	switch {
	case r.Exact != nil:
		return r.Exact.Samples(ctx, dst, k, rng)
	case r.subspace:
		return r.MatrixFree.SubspaceSamples(ctx, dst, k, rng)
	}
	_, err := r.MatrixFree.Samples(ctx, dst, k, rng)
	return err
}

// Solve sets dst = K_yy⁻¹ b for k right-hand sides with the fitted model
// of either regime (Cholesky, or CG on the full model).
func (r *Result) Solve(ctx context.Context, dst, b []float32, k int, rng *rand.Rand) error {
	if r.Exact != nil {
		return r.Exact.Solve(dst, b, k)
	}
	_, err := r.MatrixFree.Solve(ctx, dst, b, k, rng)
	return err
}
