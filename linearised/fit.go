package linearised

import (
	"context"
	"errors"
	"math"
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
	Steps int     // steps taken
	Loss  float64 // objective at the final hyperparameters (exact: L; matrix-free: NaN, the log-det is not estimated)
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
	}
	return res, nil
}

// Fit optimises the prior's hyperparameters (in place) by Adam on the exact
// negative log marginal likelihood (Loss), with analytic gradients. The
// reported loss of each step is the one before that step's update; the
// returned FitResult.Loss is re-evaluated at the final hyperparameters.
func (e *Exact) Fit(ctx context.Context, s MLLSettings, progress Progress) (FitResult, error) {
	res, err := adamFit(ctx, e.Prior, e.Loss, s, progress)
	if err != nil {
		return res, err
	}
	if res.Loss, err = e.Loss(nil); err != nil {
		return res, err
	}
	res.Jitter = e.Jitter
	return res, nil
}
