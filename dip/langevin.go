package dip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ctrecon/ctrecon/linop"
)

// LangevinSettings configures SGLD, the DIP-SGLD baseline. The zero value
// of each field means the documented default.
type LangevinSettings struct {
	// Samples is the number of network outputs kept (default 64).
	Samples int
	// Thin is the number of steps between kept outputs (default 10).
	Thin int
	// BurnIn is the number of steps before the first kept output, during
	// which the step size adapts (default 300).
	BurnIn int
	// TargetAccept is the acceptance rate the step size adapts to during
	// burn-in (default 0.574, optimal for Metropolis-adjusted Langevin).
	TargetAccept float64
	// PriorStd s of the weight prior N(0, s²I) (default 1: the weights of
	// a fitted U-Net are O(0.1), so the prior is weak; it keeps the
	// posterior proper where the data do not reach a weight).
	PriorStd float64
	// Seed of the chain's noise.
	Seed uint64
}

func (s *LangevinSettings) defaults() {
	if s.Samples == 0 {
		s.Samples = 64
	}
	if s.Thin == 0 {
		s.Thin = 10
	}
	if s.BurnIn == 0 {
		s.BurnIn = 300
	}
	if s.TargetAccept == 0 {
		s.TargetAccept = 0.574
	}
	if s.PriorStd == 0 {
		s.PriorStd = 1
	}
}

// LangevinResult is what a chain reports beside its samples.
type LangevinResult struct {
	Step       float64 // the adapted step size ε
	AcceptRate float64 // acceptance rate after burn-in
}

// energyFunc writes ∇U(θ) into g and returns U(θ).
type energyFunc func(g, theta []float32) float64

// langevin runs a Metropolis-adjusted Langevin chain (MALA) with the fixed
// diagonal preconditioner m on the energy U, starting at theta (which it
// updates), and calls keep with the current state every thin steps after
// burn-in, samples times. A proposal is
//
//	θ' = θ − (ε/2) M ∇U(θ) + √ε M^{½} ξ,  ξ ~ N(0, I),
//
// accepted with the Metropolis–Hastings probability, so the chain targets
// exp(−U) exactly whatever ε; the adjustment costs nothing extra, since
// ∇U(θ') is the next step's gradient anyway. During burn-in log ε follows
// the acceptance probability towards the target (gain 0.5 per step); after
// it ε is fixed at the geometric mean of the second half of burn-in (the
// last value alone is as noisy as the acceptance of one step). A constant preconditioner needs no correction term
// (unlike pSGLD's running one).
func langevin(ctx context.Context, theta, m []float32, energy energyFunc, eps float64, burnIn, thin, samples int, target float64, rng *rand.Rand, keep func(theta []float32)) (LangevinResult, error) {
	P := len(theta)
	g := make([]float32, P)
	prop := make([]float32, P)
	gp := make([]float32, P)
	u := energy(g, theta)
	if math.IsNaN(u) || math.IsInf(u, 0) {
		return LangevinResult{}, errors.New("dip: Langevin start has a non-finite energy")
	}
	sqm := make([]float64, P)
	for i, v := range m {
		sqm[i] = math.Sqrt(float64(v))
	}
	accepted, after := 0, 0
	var logSum float64 // log ε over the second half of burn-in, whose mean ε keeps
	nLog := 0
	total := burnIn + thin*samples
	for t := 1; t <= total; t++ {
		if err := ctx.Err(); err != nil {
			return LangevinResult{}, err
		}
		se := math.Sqrt(eps)
		var fwd float64 // ‖ξ‖²/2: the forward proposal's exponent
		for i := range prop {
			xi := rng.NormFloat64()
			fwd += xi * xi
			prop[i] = float32(float64(theta[i]) - 0.5*eps*float64(m[i])*float64(g[i]) + se*sqm[i]*xi)
		}
		fwd *= 0.5
		up := energy(gp, prop)
		alpha := 0.0
		if !math.IsNaN(up) && !math.IsInf(up, 0) {
			var rev float64 // the reverse proposal's exponent
			for i := range prop {
				d := float64(theta[i]) - float64(prop[i]) + 0.5*eps*float64(m[i])*float64(gp[i])
				rev += d * d / float64(m[i])
			}
			rev /= 2 * eps
			alpha = math.Exp(min(0, u-up-rev+fwd))
		}
		acc := rng.Float64() < alpha
		if acc {
			theta, prop = prop, theta
			g, gp = gp, g
			u = up
		}
		if t <= burnIn {
			eps *= math.Exp(0.5 * (alpha - target))
			if t > burnIn/2 {
				logSum += math.Log(eps)
				nLog++
			}
			if t == burnIn {
				eps = math.Exp(logSum / float64(nLog))
			}
			continue
		}
		after++
		if acc {
			accepted++
		}
		if (t-burnIn)%thin == 0 {
			keep(theta)
		}
	}
	return LangevinResult{Step: eps, AcceptRate: float64(accepted) / float64(max(after, 1))}, nil
}

// SGLD is the DIP-SGLD baseline (Cheng et al. 2019): Langevin dynamics on
// the posterior over the network's parameters whose energy is the DIP's
// own loss read as a likelihood, with the known noise level σ,
//
//	U(θ) = m/(2σ²)·(‖A f(θ) − y‖²/m + γ·TV(f(θ))) + ‖θ‖²/(2s²),
//
// started at the trained parameters of fit and sampled as described at
// langevin (Metropolis-adjusted, so the step size sets only how fast the
// chain mixes, not what it samples). The preconditioner is the inverse
// root of the fit's final Adam second moments (normalised to mean 1), the
// per-weight scale Adam itself steps by. It returns the mean and variance
// of the kept network outputs. s are the fit's settings (γ, σ, input
// and output scale come from them and from fit.State).
func SGLD(ctx context.Context, u *UNet, A linop.Operator, y []float32, s FitSettings, fit FitResult, ls LangevinSettings) ([]float32, []float64, LangevinResult, error) {
	ls.defaults()
	switch {
	case s.NoiseStd <= 0:
		return nil, nil, LangevinResult{}, errors.New("dip: SGLD needs the noise level σ (FitSettings.NoiseStd)")
	case ls.Samples < 1 || ls.Thin < 1 || ls.BurnIn < 0:
		return nil, nil, LangevinResult{}, fmt.Errorf("dip: SGLD needs samples ≥ 1 and thin ≥ 1 (got %d, %d) and burn-in ≥ 0", ls.Samples, ls.Thin)
	case ls.PriorStd < 0 || ls.TargetAccept <= 0 || ls.TargetAccept >= 1:
		return nil, nil, LangevinResult{}, errors.New("dip: SGLD needs a positive prior scale and a target acceptance in (0, 1)")
	case len(fit.Params) != u.NumParams() || len(fit.State.V) != u.NumParams():
		return nil, nil, LangevinResult{}, errors.New("dip: SGLD needs the fit's parameters and Adam moments")
	}
	s.InitParams = fit.Params
	s.Input = fit.State.Input
	s.OutputScale = fit.State.OutputScale
	s.HoldOut = 0
	f, err := newFitter(u, A, y, s)
	if err != nil {
		return nil, nil, LangevinResult{}, err
	}
	c := float64(f.m) / (2 * s.NoiseStd * s.NoiseStd)
	inv2 := 1 / (ls.PriorStd * ls.PriorStd)
	energy := func(g, theta []float32) float64 {
		f.st.Params = theta
		pr := f.loss()
		f.gradient()
		var reg float64
		for i, v := range theta {
			reg += float64(v) * float64(v)
			g[i] = float32(c*float64(f.grad[i]) + inv2*float64(v))
		}
		return c*pr.Loss + 0.5*inv2*reg
	}
	// M_i ∝ 1/(√v_i + δ), δ a hundredth of the mean root so that weights
	// Adam never moved do not get unbounded steps.
	m := make([]float32, len(fit.State.V))
	var meanRoot float64
	for _, v := range fit.State.V {
		meanRoot += math.Sqrt(float64(v))
	}
	meanRoot /= float64(len(m))
	delta := 0.01*meanRoot + 1e-30
	var meanM float64
	for i, v := range fit.State.V {
		w := 1 / (math.Sqrt(float64(v)) + delta)
		m[i] = float32(w)
		meanM += w
	}
	meanM /= float64(len(m))
	for i := range m {
		m[i] = float32(float64(m[i]) / meanM)
	}
	out := make([]float32, u.N*u.N)
	mo := newMoments(u.N * u.N)
	keep := func(theta []float32) {
		u.Forward(out, theta, f.st.Input)
		mo.add(out)
	}
	rng := rand.New(rand.NewPCG(ls.Seed, 0x7367_6c64)) // "sgld"
	// ε starts small (the noise moves a weight with M_i = 1 by 1e-4, the
	// fitted weights being O(0.1)); burn-in adapts it by orders of
	// magnitude (to about 1e-6 on 28² digits).
	res, err := langevin(ctx, slices.Clone(fit.Params), m, energy, 1e-8, ls.BurnIn, ls.Thin, ls.Samples, ls.TargetAccept, rng, keep)
	if err != nil {
		return nil, nil, res, err
	}
	mean, variance := mo.result()
	return mean, variance, res, nil
}
