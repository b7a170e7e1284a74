package linearised

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
)

// MLLSettings configures the type-II maximum-likelihood fit of the
// hyperparameters. The zero value gives the defaults.
type MLLSettings struct {
	// Steps is the number of Adam steps (default 1000; a PyTorch reference
	// at 32² had converged by ~700).
	Steps int
	// LR is Adam's learning rate (default 0.01, bayes_dip's).
	LR float64
	// FixNoise keeps σ_y² at its current value (e.g. when the noise level
	// is known) instead of learning it.
	FixNoise bool
	// PredCP adds the TV-PredCP hyperprior (MAP instead of ML); off when
	// PredCP.Gamma is 0.
	PredCP PredCPSettings
	// RelTol > 0 stops early once the objective changed by less than
	// RelTol·|objective| over the last 50 steps (default 0: run all Steps).
	// Adam's noise at lr 0.01 makes 1e-5 a sensible value.
	RelTol float64
}

func (s MLLSettings) steps() int {
	if s.Steps <= 0 {
		return 1000
	}
	return s.Steps
}

func (s MLLSettings) lr() float64 {
	if s.LR <= 0 {
		return 0.01
	}
	return s.LR
}

// FitResult summarises a hyperparameter fit.
type FitResult struct {
	Steps int // steps taken
	// Loss is the MLL objective L at the final hyperparameters (exact
	// regime; PredCP not included); NaN in the matrix-free regime, which
	// does not estimate the log-determinant.
	Loss float64
	// Jitter is the largest diagonal jitter added to K_yy during the fit
	// (exact regime), 0 when the factorisations all succeeded.
	Jitter float64
}

// lossFunc evaluates the objective and its gradient at the prior's current
// hyperparameters.
type lossFunc func(grad *Hyper) (float64, error)

// adamFit runs Adam on f from pr.H, clamping log-variances after each step
// (MinLogVariance), and leaves the result in pr.H.
func adamFit(ctx context.Context, pr *Prior, f lossFunc, s MLLSettings, progress Progress) (FitResult, error) {
	hi := hyperParams(pr)
	x := hi.get(&pr.H)
	opt := newAdam(len(x), s.lr())
	var res FitResult
	var g Hyper
	const window = 50
	var hist []float64
	for step := 1; step <= s.steps(); step++ {
		if err := ctxErr(ctx); err != nil {
			return res, err
		}
		loss, err := f(&g)
		if err != nil {
			return res, err
		}
		gf := hi.get(&g)
		for _, v := range gf {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return res, errors.New("linearised: non-finite MLL gradient")
			}
		}
		if s.FixNoise {
			gf[hi.noiseIdx] = 0
		}
		opt.step(x, gf)
		hi.set(&pr.H, x)
		pr.H.clamp()
		x = hi.get(&pr.H)
		res.Steps = step
		res.Loss = loss
		if progress != nil {
			progress(step, loss)
		}
		if s.RelTol > 0 {
			hist = append(hist, loss)
			if len(hist) > window {
				if math.Abs(loss-hist[len(hist)-1-window]) < s.RelTol*math.Abs(loss) {
					break
				}
				hist = hist[1:]
			}
		}
	}
	return res, nil
}

// withPredCP adds the PredCP term (when enabled) to a loss function. Its
// draws are made once, on the first call (rng), and kept for the whole fit:
// the objective is then a fixed function of the hyperparameters, and each
// step costs image arithmetic instead of network passes (predCPBasis).
func withPredCP(ctx context.Context, f lossFunc, prob *Problem, prior *Prior, s PredCPSettings, batch int, rng *rand.Rand) lossFunc {
	if s.Gamma == 0 {
		return f
	}
	var basis *predCPBasis
	return func(grad *Hyper) (float64, error) {
		l, err := f(grad)
		if err != nil {
			return l, err
		}
		if basis == nil {
			if basis, err = newPredCPBasis(ctx, prob, prior, s, batch, rng); err != nil {
				return l, err
			}
		}
		p, err := basis.eval(prob, prior, s, grad)
		return l + p, err
	}
}

// Fit optimises the prior's hyperparameters (in place) by Adam on the exact
// negative log marginal likelihood (Loss), with analytic gradients, plus the
// PredCP hyperprior when enabled (rng draws its samples; it may be nil
// otherwise). Progress receives the objective before each step's update;
// FitResult.Loss is L re-evaluated at the final hyperparameters.
func (e *Exact) Fit(ctx context.Context, s MLLSettings, rng *rand.Rand, progress Progress) (FitResult, error) {
	f := withPredCP(ctx, e.Loss, e.Prob, e.Prior, s.PredCP, e.set.batch(), rng)
	res, err := adamFit(ctx, e.Prior, f, s, progress)
	if err != nil {
		return res, err
	}
	if res.Loss, err = e.Loss(nil); err != nil {
		return res, err
	}
	res.Jitter = e.Jitter
	return res, nil
}
