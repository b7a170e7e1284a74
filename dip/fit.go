package dip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/internal/vec"
	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/radon"
)

// FitSettings configures Fit. The zero value of each field means the
// documented default; DefaultFitSettings fills γ and the iteration cap from
// the scan.
type FitSettings struct {
	// MaxIter is the most Adam steps (default 2000).
	MaxIter int
	// LR is Adam's learning rate (default 1e-4). Much larger rates (1e-3)
	// can push a sigmoid output into its ±15 clamp everywhere, where the
	// gradient is zero and the fit stalls (seen on a 16² denoising toy).
	LR float64
	// Gamma is the weight of the anisotropic TV term (0: none).
	Gamma float64
	// ClipNorm is the gradient-norm clip (default 1).
	ClipNorm float64

	// NoiseStd is σ of the measurement noise, known or estimated
	// (EstimateNoiseStd). When > 0 the fit stops by the discrepancy
	// principle: at the first iterate with ‖Af − y‖²/m ≤ Tau·σ².
	NoiseStd float64
	// Tau is the discrepancy factor (default 1).
	Tau float64
	// MinIter is the number of Adam steps before the discrepancy stop may
	// fire (default 0). A warm start (InitParams from a neighbouring
	// slice) often fits the data within the noise at once, and the fit
	// would return the neighbour's image unchanged.
	MinIter int
	// HoldOut is a fraction (0 ≤ HoldOut < 0.5) of measurements left out
	// of the loss and used to choose the iterate: the result is the iterate
	// with the lowest held-out misfit, and the fit stops after Patience
	// iterations without improvement. 0 disables it.
	HoldOut float64
	// Patience for HoldOut (default 500 iterations).
	Patience int

	// Input is the network input (N²), normally the FBP of y. nil means
	// z = 0.1·N(0, 1) drawn from Seed.
	Input []float32
	// OutputScale s in s·σ(·) for a sigmoid output. 0 means
	// max(1, 1.2·max Input) when Input is given, else 1.
	OutputScale float32
	// InitParams are the initial network parameters; nil means PyTorch's
	// default initialisation drawn from Seed.
	InitParams []float32
	// Seed derives every random choice of the fit (initial parameters, z,
	// the held-out subset), so a fit is reproducible from its settings.
	Seed uint64

	// GroundTruth (N², optional) adds PSNR to the progress reports.
	GroundTruth []float32
	// ProgressEvery is the iteration interval of progress reports
	// (default 100; the last iteration is always reported).
	ProgressEvery int
	// Resume continues the fit from a saved state instead of starting.
	Resume *FitState
}

// FitState is the complete state of a fit: everything needed to continue
// it bit-identically (with the same settings, operator and thread count).
// It holds only slices and scalars so that it can be stored as it is.
type FitState struct {
	Iter        int       // Adam steps taken
	Params      []float32 // current parameters
	M, V        []float32 // Adam moments
	BestParams  []float32 // parameters of the best iterate
	BestLoss    float64   // loss (or held-out misfit) of the best iterate
	BestIter    int       // its iteration
	Input       []float32 // network input
	OutputScale float32
	Done        bool   // a stopping rule fired
	Reason      string // why it stopped: "max-iter", "discrepancy", "held-out", "cancelled"
}

// FitProgress reports one iteration.
type FitProgress struct {
	Iter     int
	Loss     float64 // DataFit + γ·TV
	DataFit  float64 // ‖Af − y‖²/m over the measurements in the loss
	TV       float64
	HeldOut  float64 // held-out misfit per measurement (NaN without HoldOut)
	PSNR     float64 // against GroundTruth (NaN without)
	BestIter int
	Elapsed  time.Duration
}

// FitResult is the outcome of Fit.
type FitResult struct {
	Image    []float32 // f(θ) at the best iterate
	Params   []float32 // the best iterate θ
	BestIter int
	Iter     int     // iterations run in total
	PSNR     float64 // of Image against GroundTruth (NaN without)
	Reason   string
	State    FitState
}

// DefaultFitSettings returns settings for an n×n image scanned at the given
// number of angles with relative noise η (DESIGN.md §4). γ comes from
// bayes_dip's digit table (5% and 10% noise; interpolated in log angles and
// log noise, clamped outside) times (n/28)², which puts the 128² value
// (2.1e-3 at 5%, 20 angles) near the paper's 3e-3 for rectangles. The
// paper's iteration counts overfit (PSNR falls after ~6k at 32²), so the
// cap is by size, sized to the time targets: 6000 up to 48², 3000 up to
// 160², 2000 above; the discrepancy principle normally stops far earlier.
func DefaultFitSettings(n, angles int, noiseRel float64) FitSettings {
	ang := []float64{5, 10, 20, 30}
	g5 := []float64{1e-5, 3e-5, 1e-4, 1e-4}
	g10 := []float64{3e-5, 1e-4, 3e-4, 3e-4}
	interp := func(tab []float64) float64 {
		a := math.Min(math.Max(float64(angles), ang[0]), ang[len(ang)-1])
		for i := 1; i < len(ang); i++ {
			if a <= ang[i] {
				t := math.Log(a/ang[i-1]) / math.Log(ang[i]/ang[i-1])
				return math.Exp((1-t)*math.Log(tab[i-1]) + t*math.Log(tab[i]))
			}
		}
		return tab[len(tab)-1]
	}
	eta := math.Min(math.Max(noiseRel, 0.05), 0.10)
	t := math.Log(eta/0.05) / math.Log(2)
	gamma := math.Exp((1-t)*math.Log(interp(g5)) + t*math.Log(interp(g10)))
	gamma *= float64(n*n) / (28 * 28)
	it := 2000
	switch {
	case n <= 48:
		it = 6000
	case n <= 160:
		it = 3000
	}
	return FitSettings{MaxIter: it, LR: 1e-4, Gamma: gamma, ClipNorm: 1, Tau: 1, ProgressEvery: 100}
}

func (s *FitSettings) defaults() {
	if s.MaxIter == 0 {
		s.MaxIter = 2000
	}
	if s.LR == 0 {
		s.LR = 1e-4
	}
	if s.ClipNorm == 0 {
		s.ClipNorm = 1
	}
	if s.Tau == 0 {
		s.Tau = 1
	}
	if s.Patience == 0 {
		s.Patience = 500
	}
	if s.ProgressEvery == 0 {
		s.ProgressEvery = 100
	}
}

// Fit trains the U-Net u so that A f(θ) ≈ y: it minimises
// ‖A f(θ) − y‖²/m + γ·TV(f(θ)) with Adam (gradient norm clipped), keeps the
// iterate with the lowest loss (or lowest held-out misfit), and stops at
// MaxIter, by the discrepancy principle (NoiseStd > 0) or by the held-out
// rule. progress (may be nil) is called every ProgressEvery iterations.
//
// Fit sets u's output scale (FitState.OutputScale) and leaves u's
// activations at the last evaluated iterate; u is not safe for concurrent
// fits.
//
// When ctx is cancelled Fit stops after the current iteration and returns
// the result so far, whose State can be saved and passed back as
// Settings.Resume, together with ctx's error.
func Fit(ctx context.Context, u *UNet, A linop.Operator, y []float32, s FitSettings, progress func(FitProgress)) (FitResult, error) {
	f, err := newFitter(u, A, y, s)
	if err != nil {
		return FitResult{}, err
	}
	start := time.Now()
	for !f.st.Done {
		if err := ctx.Err(); err != nil {
			f.st.Reason = "cancelled"
			return f.result(), err
		}
		pr := f.step()
		pr.Elapsed = time.Since(start)
		if progress != nil && (pr.Iter%f.s.ProgressEvery == 0 || f.st.Done) {
			progress(pr)
		}
	}
	return f.result(), nil
}

// fitter holds the buffers of one fit; step runs one iteration.
type fitter struct {
	u    *UNet
	A    linop.Operator
	y    []float32
	s    FitSettings
	st   FitState
	m    int
	mask []bool // true: held out
	nFit int    // measurements in the loss

	img, gimg, af, r, atr, grad []float32
}

func newFitter(u *UNet, A linop.Operator, y []float32, s FitSettings) (*fitter, error) {
	s.defaults()
	m, n := A.Dims()
	N2 := u.N * u.N
	switch {
	case n != N2:
		return nil, fmt.Errorf("dip: operator takes %d values, the network makes %d×%d images", n, u.N, u.N)
	case len(y) != m:
		return nil, fmt.Errorf("dip: %d measurements for an operator with %d rows", len(y), m)
	case s.Input != nil && len(s.Input) != N2:
		return nil, fmt.Errorf("dip: input has %d values, want %d", len(s.Input), N2)
	case s.GroundTruth != nil && len(s.GroundTruth) != N2:
		return nil, fmt.Errorf("dip: ground truth has %d values, want %d", len(s.GroundTruth), N2)
	case s.HoldOut < 0 || s.HoldOut >= 0.5:
		return nil, fmt.Errorf("dip: held-out fraction %g outside [0, 0.5)", s.HoldOut)
	case s.LR < 0 || s.Gamma < 0 || s.NoiseStd < 0 || s.MaxIter < 0 || s.MinIter < 0:
		return nil, errors.New("dip: negative learning rate, γ, σ or iteration count")
	}
	for _, v := range y {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, errors.New("dip: measurements contain NaN or Inf")
		}
	}
	P := u.NumParams()
	f := &fitter{u: u, A: A, y: y, s: s, m: m,
		img: make([]float32, N2), gimg: make([]float32, N2), af: make([]float32, m),
		r: make([]float32, m), atr: make([]float32, N2), grad: make([]float32, P)}
	// Draw in a fixed order so every choice depends only on Seed.
	rng, init := initialDraw(u, s.Seed)
	z := make([]float32, N2)
	for i := range z {
		z[i] = float32(0.1 * rng.NormFloat64())
	}
	f.mask = make([]bool, m)
	f.nFit = m
	if s.HoldOut > 0 {
		perm := rng.Perm(m)
		nh := int(math.Round(s.HoldOut * float64(m)))
		for _, i := range perm[:nh] {
			f.mask[i] = true
		}
		f.nFit = m - nh
		if nh == 0 || f.nFit == 0 {
			return nil, fmt.Errorf("dip: held-out fraction %g of %d measurements is empty", s.HoldOut, m)
		}
	}
	if s.Resume != nil {
		st := *s.Resume
		if len(st.Params) != P || len(st.M) != P || len(st.V) != P || len(st.BestParams) != P || len(st.Input) != N2 {
			return nil, fmt.Errorf("dip: resume state does not fit a network with %d parameters and %d² pixels", P, u.N)
		}
		st.Params, st.M, st.V = slices.Clone(st.Params), slices.Clone(st.M), slices.Clone(st.V)
		st.BestParams, st.Input = slices.Clone(st.BestParams), slices.Clone(st.Input)
		if !st.Done {
			st.Reason = "max-iter"
		}
		f.st = st
	} else {
		if s.InitParams != nil {
			if len(s.InitParams) != P {
				return nil, fmt.Errorf("dip: %d initial parameters, network has %d", len(s.InitParams), P)
			}
			init = slices.Clone(s.InitParams)
		}
		in := z
		if s.Input != nil {
			in = slices.Clone(s.Input)
		}
		scale := s.OutputScale
		if scale == 0 {
			scale = 1
			if s.Input != nil {
				scale = max(1, 1.2*slices.Max(s.Input))
			}
		}
		f.st = FitState{Params: init, M: make([]float32, P), V: make([]float32, P),
			BestParams: slices.Clone(init), BestLoss: math.Inf(1), Input: in, OutputScale: scale,
			Done: s.MaxIter == 0, Reason: "max-iter"}
	}
	u.SetOutputScale(f.st.OutputScale)
	return f, nil
}

// step evaluates the loss at the current parameters, records the best
// iterate, checks the stopping rules and, unless one fired, takes one Adam
// step.
func (f *fitter) step() FitProgress {
	st, s := &f.st, &f.s
	pr := f.loss()
	crit := pr.Loss
	if f.nFit < f.m {
		crit = pr.HeldOut
	}
	if crit < st.BestLoss {
		st.BestLoss, st.BestIter = crit, st.Iter
		copy(st.BestParams, st.Params)
	}
	pr.BestIter = st.BestIter
	switch {
	case s.NoiseStd > 0 && st.Iter >= s.MinIter && pr.DataFit <= s.Tau*s.NoiseStd*s.NoiseStd:
		st.Done, st.Reason = true, "discrepancy"
	case f.nFit < f.m && st.Iter-st.BestIter >= s.Patience:
		st.Done, st.Reason = true, "held-out"
	case st.Iter >= s.MaxIter:
		st.Done, st.Reason = true, "max-iter"
	}
	if st.Done {
		return pr
	}
	f.gradient()
	adamStep(st, f.grad, s.LR, s.ClipNorm)
	return pr
}

// gradient writes ∂loss/∂θ at the parameters of the last loss call into
// f.grad.
func (f *fitter) gradient() { f.u.Net.VJP(f.grad, len(f.grad), nil, f.gimg, 1) }

// loss evaluates the loss at the current parameters and leaves ∂loss/∂f in
// f.gimg.
func (f *fitter) loss() FitProgress {
	st, s := &f.st, &f.s
	f.u.Forward(f.img, st.Params, st.Input)
	f.A.Apply(f.af, f.img)
	var fit, ho float64
	for i, v := range f.af {
		d := float64(v) - float64(f.y[i])
		if f.mask[i] {
			ho += d * d
			f.r[i] = 0
		} else {
			fit += d * d
			f.r[i] = float32(2 * d / float64(f.nFit))
		}
	}
	fit /= float64(f.nFit)
	pr := FitProgress{Iter: st.Iter, DataFit: fit, HeldOut: math.NaN(), PSNR: math.NaN()}
	if f.nFit < f.m {
		pr.HeldOut = ho / float64(f.m-f.nFit)
	}
	f.A.Adjoint(f.atr, f.r)
	pr.TV = radon.AnisotropicTV(f.gimg, f.img, f.u.N, float32(s.Gamma))
	for i, v := range f.atr {
		f.gimg[i] += v
	}
	pr.Loss = fit + s.Gamma*pr.TV
	if s.GroundTruth != nil {
		pr.PSNR = metrics.PSNR(f.img, s.GroundTruth, 0)
	}
	return pr
}

// initialDraw starts the fit's random stream for seed and draws the
// initial parameters from it, the first draw of every fit.
func initialDraw(u *UNet, seed uint64) (*rand.Rand, []float32) {
	rng := rand.New(rand.NewPCG(seed, 0x6469702d666974)) // "dip-fit"
	return rng, u.NewParams(rng)
}

// InitialParams returns the parameters a fit with FitSettings.Seed = seed
// (and no InitParams) starts from: the weights at which the linearised
// model's prior can be centred (linearised.Problem.PriorMean), recovered
// from the seed a recon file records.
func InitialParams(u *UNet, seed uint64) []float32 {
	_, p := initialDraw(u, seed)
	return p
}

// adamStep clips g to norm clip (PyTorch's clip_grad_norm_) and takes one
// Adam step (β = 0.9, 0.999, ε = 1e-8, PyTorch's bias correction).
//
// Both passes run on all threads over fixed chunks, so the result does not
// depend on the thread count.
func adamStep(st *FitState, g []float32, lr, clip float64) {
	const chunk = 1 << 14
	nc := (len(g) + chunk - 1) / chunk
	parts := make([]float64, nc)
	par.For(nc, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			seg := g[j*chunk : min((j+1)*chunk, len(g))]
			parts[j] = vec.SumSqDev(seg, 0)
		}
	})
	var ss float64
	for _, v := range parts {
		ss += v
	}
	c := 1.0
	if coef := clip / (math.Sqrt(ss) + 1e-6); coef < 1 {
		c = coef
	}
	st.Iter++
	const b1, b2, eps = 0.9, 0.999, 1e-8
	bc1 := 1 - math.Pow(b1, float64(st.Iter))
	sbc2 := math.Sqrt(1 - math.Pow(b2, float64(st.Iter)))
	step := lr / bc1
	p, m, v := st.Params, st.M, st.V
	par.ForGrain(len(g), chunk, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gi := float64(g[i]) * c
			mi := b1*float64(m[i]) + (1-b1)*gi
			vi := b2*float64(v[i]) + (1-b2)*gi*gi
			m[i], v[i] = float32(mi), float32(vi)
			p[i] = float32(float64(p[i]) - step*mi/(math.Sqrt(vi)/sbc2+eps))
		}
	})
}

func (f *fitter) result() FitResult {
	st := f.st
	st.Params, st.M, st.V = slices.Clone(st.Params), slices.Clone(st.M), slices.Clone(st.V)
	st.BestParams, st.Input = slices.Clone(st.BestParams), slices.Clone(st.Input)
	res := FitResult{Params: slices.Clone(st.BestParams), BestIter: st.BestIter, Iter: st.Iter,
		Reason: st.Reason, State: st, PSNR: math.NaN(), Image: make([]float32, f.u.N*f.u.N)}
	f.u.Forward(res.Image, res.Params, st.Input)
	if f.s.GroundTruth != nil {
		res.PSNR = metrics.PSNR(res.Image, f.s.GroundTruth, 0)
	}
	return res
}
