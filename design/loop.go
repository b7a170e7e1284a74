package design

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/radon"
)

// Strategy names how a simulated acquisition chooses its angles.
type Strategy string

// The strategies of the acquisition loop. The lin-DIP ones refit the DIP
// and its linearised posterior every RefitEvery acquisitions and choose the
// next batch jointly from its samples; the others do not depend on the
// measured values.
const (
	LinEIG     Strategy = "eig"      // linearised DIP, EIG
	LinDiagEIG Strategy = "diag-eig" // linearised DIP, diagonal EIG
	LinVar     Strategy = "var"      // linearised DIP, variance criterion
	// LinEIGPilot is lin-DIP EIG without adaptation: the pilot's DIP fit
	// and hyperparameters are kept, and every RefitEvery acquisitions that
	// linearised model is conditioned on all angles chosen so far and
	// sampled afresh. In a Gaussian-linear model the posterior covariance
	// does not depend on the measured values, so its choices after the
	// pilot do not either: against eig it tells what refitting on the new
	// data adds.
	LinEIGPilot Strategy = "eig-pilot"
	EqualSpace  Strategy = "equal"  // k equally spaced at every count k
	RandomSeq   Strategy = "random" // pilot, then seeded random angles
	GoldenSeq   Strategy = "golden" // pilot, then the golden-angle sequence
	IsoEIG      Strategy = "iso"    // isotropic pixel Gaussian, EIG
	MaternEIG   Strategy = "matern" // separable Matérn-½ pixel Gaussian, EIG
	// MaternRadialEIG is the rotation-invariant Matérn-½ pixel Gaussian,
	// EIG: the smooth baseline without the separable one's preferred axes.
	MaternRadialEIG Strategy = "matern-radial"
)

// Strategies lists every strategy in table order.
var Strategies = []Strategy{LinEIG, LinDiagEIG, LinVar, LinEIGPilot, EqualSpace, RandomSeq, GoldenSeq, IsoEIG, MaternEIG, MaternRadialEIG}

// ParseStrategy checks a strategy name.
func ParseStrategy(s string) (Strategy, error) {
	for _, v := range Strategies {
		if string(v) == s {
			return v, nil
		}
	}
	names := make([]string, len(Strategies))
	for i, v := range Strategies {
		names[i] = string(v)
	}
	return "", fmt.Errorf("strategy %q: want one of %s", s, strings.Join(names, ", "))
}

// linDIP tells the strategies that choose from the linearised DIP's
// posterior samples (adaptive or, eig-pilot, from the pilot's fit).
func (s Strategy) linDIP() bool {
	return s == LinEIG || s == LinDiagEIG || s == LinVar || s == LinEIGPilot
}

// RunCost is the time a run of the strategy takes relative to a
// non-adaptive run, as measured in the studies (docs/studies/design.md,
// one core, 5 → 40 angles, refits every 5): a lin-DIP run about 25 min
// against 3–5 min at 64² and 1.25–1.75 h against 15–20 min at 128²;
// eig-pilot, one fit linearised, 10–12 min at 64². Progress bars weigh
// runs by it: counted alike, a study's first finished runs would set the
// time left for runs five times dearer or cheaper.
func (s Strategy) RunCost() int {
	switch {
	case s == LinEIGPilot:
		return 3
	case s.linDIP():
		return 5
	}
	return 1
}

// pixelPrior is the prior of a pixel-Gaussian baseline; ok is false for
// the other strategies.
func (s Strategy) pixelPrior() (prior PixelPrior, ok bool) {
	switch s {
	case IsoEIG:
		return Isotropic, true
	case MaternEIG:
		return Exponential, true
	case MaternRadialEIG:
		return RadialExponential, true
	}
	return 0, false
}

func (s Strategy) criterion() Criterion {
	switch s {
	case LinDiagEIG:
		return DiagEIG
	case LinVar:
		return Variance
	}
	return EIG
}

// LoopImage is one simulated object: the full scan over every candidate
// angle, and the truth to score against.
type LoopImage struct {
	Name     string
	Geo      radon.Geometry // N, NDet, spacing; Angles are the candidates (radians)
	Full     []float32      // [candidate][bin] sinogram of every candidate
	Truth    []float32      // N²
	NoiseStd float64        // σ of the measurement noise (known: simulated)
	NoiseRel float64        // η, for the DIP's default TV weight (0: 5%)
}

// LoopSettings configure an acquisition run; zero fields take the
// defaults in brackets.
type LoopSettings struct {
	Start      int   // pilot angles, equally spaced [5]
	Budget     int   // angles in the end [40]
	RefitEvery int   // acquisitions between DIP refits [5]
	Eval       []int // angle counts where DIP and TV are scored [10,20,30,40 within budget]
	Samples    int   // posterior samples per choice [256]
	// DIPSeed seeds the DIP's initial weights; every refit of every
	// strategy starts from these same weights.
	DIPSeed uint64
	// Seed seeds the random strategy, the posterior samples and the
	// conditioning noise (per strategy and step, so runs resume exactly).
	Seed uint64
	// DIPIters caps the DIP's iterations (0: dip.DefaultFitSettings).
	DIPIters int
	// FixedHyper fits the linearised hyperparameters at the pilot only and
	// keeps them; FixNoise sets σ_y to the known noise std and keeps it.
	FixedHyper, FixNoise bool
	// RefitMLLSteps is the number of marginal-likelihood steps of every
	// refit after the first, warm-started from the previous refit's
	// hyperparameters [200] (the first fit takes linearised's default,
	// 1000). In the exact regime each step is a Cholesky of K_yy, which
	// grows with the angles: 1000 cold steps at 30 angles of 32² took
	// 100 s, most of a refit.
	RefitMLLSteps int
	// Regime is the linearised model's regime (linearised.Settings.Regime;
	// the zero value, Auto, chooses as ctrecon uncertainty does).
	Regime linearised.Regime
	// MemAvailable bounds the linearised model (linearised.DefaultDIPSettings).
	MemAvailable int64
	// ClosedForm chooses from the exact posterior covariance (SelectDense)
	// when the image has at most MaxDensePixels pixels: the pixel-Gaussian
	// baselines always, the lin-DIP ones when the linearised model is in
	// the exact regime; samples otherwise. Samples are few for long joint
	// plans: the pixel-Gaussian baselines choose 35 angles at once, far
	// more bins than 256 samples can condition on.
	ClosedForm bool
}

// MaxDensePixels is the largest image (N²) whose posterior covariance
// ClosedForm builds densely: 64², 128 MB of float64.
const MaxDensePixels = 64 * 64

func (s *LoopSettings) defaults() {
	if s.Start <= 0 {
		s.Start = 5
	}
	if s.Budget <= 0 {
		s.Budget = 40
	}
	if s.RefitEvery <= 0 {
		s.RefitEvery = 5
	}
	if s.Samples <= 0 {
		s.Samples = 256
	}
	if s.RefitMLLSteps <= 0 {
		s.RefitMLLSteps = 200
	}
	if s.Eval == nil {
		for _, e := range []int{10, 20, 30, 40} {
			if e <= s.Budget {
				s.Eval = append(s.Eval, e)
			}
		}
	}
}

// Check refuses settings that cannot run on c candidates.
func (s LoopSettings) Check(c int) error {
	s.defaults()
	switch {
	case s.Start < 1 || s.Budget <= s.Start:
		return fmt.Errorf("design: --start %d, --budget %d: want 1 ≤ start < budget", s.Start, s.Budget)
	case s.Budget > c:
		return fmt.Errorf("design: budget %d exceeds the %d candidate angles of the full scan", s.Budget, c)
	case s.Samples < 2:
		return fmt.Errorf("design: %d samples; want at least 2", s.Samples)
	}
	for _, e := range s.Eval {
		if e < 1 || e > s.Budget {
			return fmt.Errorf("design: evaluation at %d angles is outside 1…%d", e, s.Budget)
		}
	}
	return nil
}

// Eval is one scored reconstruction of a run.
type Eval struct {
	Angles           int
	DIPPSNR, DIPSSIM float64
	TVPSNR, TVSSIM   float64
	DIPIters         int
	DIPStop          string
}

// Refit is one DIP refit and choice of a lin-DIP strategy.
type Refit struct {
	Angles     int     // angles measured when refitted
	DIPSeconds float64 // the DIP fit (eig-pilot after the pilot: none, about 0)
	LinSeconds float64 // linearisation, hyperparameters and samples
	SelSeconds float64 // the choice from the samples
	SigmaY     float64 // fitted σ_y
	Regime     string
	// SubspaceRank and Capped describe the matrix-free regime's subspace
	// model (zero in the exact regime): a capped rank means the memory
	// allowed less than the tail tolerance asked for.
	SubspaceRank int  `json:",omitempty"`
	Capped       bool `json:",omitempty"`
}

// RunState is everything a run of one strategy on one image has done, in
// a form that can be saved and handed back to Acquire to continue.
type RunState struct {
	Strategy Strategy
	Image    string
	Acquired []int // candidate indices in order of acquisition
	Evals    []Eval
	Refits   []Refit
	// Hyper is the last fitted hyperparameters (with FixedHyper: the
	// pilot's), the warm start of the next refit.
	Hyper *linearised.Hyper `json:",omitempty"`
	Done  bool
}

// Progress reports a run's steps: what was just done and how far along.
type Progress func(what string)

// stepRNG derives the random stream of one step of one run from the seed,
// so that a resumed run draws what the uninterrupted one would have.
func stepRNG(seed uint64, image string, s Strategy, step int) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%d", image, s, step)
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// Acquire runs (or continues) one strategy on one image: it acquires
// angles from the full scan up to the budget and scores DIP and TV at the
// evaluation counts. st is the saved state (nil or empty to start); save
// is called with the state after every acquisition batch and evaluation
// (the caller writes it atomically), so an interrupted run resumes where
// it stopped and ends where an uninterrupted one ends.
func Acquire(ctx context.Context, img *LoopImage, strat Strategy, set LoopSettings, st *RunState,
	save func(*RunState) error, progress Progress) (*RunState, error) {
	set.defaults()
	C := len(img.Geo.Angles)
	if err := set.Check(C); err != nil {
		return nil, err
	}
	if len(img.Full) != C*img.Geo.NDet || len(img.Truth) != img.Geo.N*img.Geo.N {
		return nil, fmt.Errorf("design: image %s: full scan has %d values for %d angles × %d bins, truth %d pixels", img.Name, len(img.Full), C, img.Geo.NDet, len(img.Truth))
	}
	if st == nil || st.Strategy == "" {
		st = &RunState{Strategy: strat, Image: img.Name}
	}
	if st.Strategy != strat || st.Image != img.Name {
		return nil, fmt.Errorf("design: saved state is for %s on %s, not %s on %s", st.Strategy, st.Image, strat, img.Name)
	}
	if progress == nil {
		progress = func(string) {}
	}
	all := CandidatesAt(img.Geo.Angles)
	var err error
	lp := &loop{img: img, set: set, st: st, cands: all, save: save, progress: progress, dips: map[int]*dip.FitResult{}}
	if len(st.Acquired) == 0 && strat != EqualSpace {
		pilot, err := all.Equal(set.Start, img.Geo.Angles[0])
		if err != nil {
			return nil, err
		}
		st.Acquired = pilot
	}
	_, pixelPrior := strat.pixelPrior()
	switch {
	case strat.linDIP():
		err = lp.linDIP(ctx, strat)
	case strat == EqualSpace:
		// nothing to acquire: every count has its own equal spacing
	case strat == RandomSeq:
		if len(st.Acquired) < set.Budget {
			rest, err := all.Without(st.Acquired).Random(set.Budget-len(st.Acquired), stepRNG(set.Seed, img.Name, strat, 0))
			if err != nil {
				return nil, err
			}
			st.Acquired = append(st.Acquired, rest...)
		}
	case strat == GoldenSeq:
		if len(st.Acquired) < set.Budget {
			rest, err := all.Without(st.Acquired).Golden(set.Budget-len(st.Acquired), 1, img.Geo.Angles[st.Acquired[len(st.Acquired)-1]])
			if err != nil {
				return nil, err
			}
			st.Acquired = append(st.Acquired, rest...)
		}
	case pixelPrior:
		err = lp.pixelGaussian(ctx, strat)
	default:
		err = fmt.Errorf("design: unknown strategy %q", strat)
	}
	if err != nil {
		return st, err
	}
	if err := lp.evaluate(ctx, strat); err != nil {
		return st, err
	}
	st.Done = true
	return st, lp.persist()
}

type loop struct {
	img      *LoopImage
	set      LoopSettings
	st       *RunState
	cands    *Candidates
	save     func(*RunState) error
	progress Progress
	dips     map[int]*dip.FitResult // DIP fits of this process, by angle count, for the evaluation
	pilot    *pilotFit              // eig-pilot: the pilot's DIP fit, kept for every batch
}

// pilotFit is a DIP fit with what its linearisation needs.
type pilotFit struct {
	u   *dip.UNet
	s   dip.FitSettings
	res *dip.FitResult
}

func (lp *loop) persist() error {
	if lp.save == nil {
		return nil
	}
	return lp.save(lp.st)
}

// measured returns the geometry and data of the first k acquired angles.
func (lp *loop) measured(idx []int) (radon.Geometry, []float32) {
	g := lp.img.Geo.Subset(idx)
	b := lp.img.Geo.NDet
	y := make([]float32, len(idx)*b)
	for i, c := range idx {
		copy(y[i*b:(i+1)*b], lp.img.Full[c*b:(c+1)*b])
	}
	return g, y
}

// fitDIP fits the DIP to the given angles from the fixed initial weights
// (the same settings for every strategy).
func (lp *loop) fitDIP(ctx context.Context, idx []int) (*dip.UNet, dip.FitSettings, *dip.FitResult, error) {
	g, y := lp.measured(idx)
	n := g.N
	arch, err := dip.Preset(dip.PresetFor(n))
	if err != nil {
		return nil, dip.FitSettings{}, nil, err
	}
	u, err := dip.NewUNet(arch, n)
	if err != nil {
		return nil, dip.FitSettings{}, nil, err
	}
	eta := lp.img.NoiseRel
	if eta <= 0 {
		eta = 0.05
	}
	s := dip.DefaultFitSettings(n, len(idx), eta)
	if lp.set.DIPIters > 0 {
		s.MaxIter = lp.set.DIPIters
	}
	s.NoiseStd, s.Seed = lp.img.NoiseStd, lp.set.DIPSeed
	s.Input = make([]float32, n*n)
	if err := radon.FBP(s.Input, y, g, radon.FBPSettings{Filter: radon.Hann}); err != nil {
		return nil, s, nil, err
	}
	A, err := radon.NewOperator(g)
	if err != nil {
		return nil, s, nil, err
	}
	res, err := dip.Fit(ctx, u, A, y, s, nil)
	if err != nil {
		return nil, s, nil, err
	}
	return u, s, &res, nil
}

// linDIP runs a lin-DIP strategy: refit, linearise, sample, choose the
// next batch jointly, until the budget. eig-pilot fits the DIP and the
// hyperparameters at the pilot only (after a resume it fits the pilot
// again: the same fit, as the fit is deterministic) and linearises that
// fit for every batch.
func (lp *loop) linDIP(ctx context.Context, strat Strategy) error {
	set, st := lp.set, lp.st
	frozen := strat == LinEIGPilot
	for len(st.Acquired) < set.Budget {
		k := len(st.Acquired)
		t0 := time.Now()
		var u *dip.UNet
		var ds dip.FitSettings
		var res *dip.FitResult
		var err error
		switch {
		case frozen && lp.pilot != nil:
			u, ds, res = lp.pilot.u, lp.pilot.s, lp.pilot.res
		case frozen:
			if u, ds, res, err = lp.fitDIP(ctx, st.Acquired[:set.Start]); err != nil {
				return err
			}
			lp.pilot = &pilotFit{u: u, s: ds, res: res}
			lp.dips[set.Start] = res
		default:
			if u, ds, res, err = lp.fitDIP(ctx, st.Acquired); err != nil {
				return err
			}
			lp.dips[k] = res
		}
		t1 := time.Now()
		g, y := lp.measured(st.Acquired)
		A, err := radon.NewOperator(g)
		if err != nil {
			return err
		}
		ls := linearised.DefaultDIPSettings(set.MemAvailable)
		ls.Regime = set.Regime
		closed := set.ClosedForm && g.N*g.N <= MaxDensePixels
		// The choice needs the samples only: no std map, and the samples
		// the matrix-free regime draws for its variances are kept.
		ls.SamplesOnly = true
		ls.Samples, ls.KeepSamples = set.Samples, !closed
		if set.FixNoise {
			ls.NoiseStd = lp.img.NoiseStd
			ls.MLL.FixNoise, ls.EM.FixNoise = true, true
		}
		sl := linearised.DIPSlice{Net: u, Params: res.Params, Input: res.State.Input, Seed: ds.Seed, HasSeed: true}
		rng := stepRNG(set.Seed, lp.img.Name, strat, k)
		lm, err := linearised.NewDIPModel(ctx, sl, A, y, ls, rng)
		if err != nil {
			return err
		}
		fixedHyper := set.FixedHyper || frozen
		if st.Hyper != nil && len(st.Hyper.LogVar) == len(lm.Prior.H.LogVar) {
			lm.Prior.H = st.Hyper.Clone()
			lm.Settings.SkipFit = fixedHyper
			lm.Settings.MLL.Steps = set.RefitMLLSteps
		}
		post, err := lm.Run(ctx, rng, nil)
		if err != nil {
			return err
		}
		if h := post.Hyper.Clone(); !fixedHyper || st.Hyper == nil {
			st.Hyper = &h
		}
		npix := g.N * g.N
		free := lp.cands.Without(st.Acquired)
		next := min(set.RefitEvery, set.Budget-k)
		sel := Settings{Criterion: strat.criterion()}
		var plan *Plan
		var t2 time.Time
		if set.ClosedForm && post.Exact != nil && npix <= MaxDensePixels {
			sigma, err := post.Exact.ImageCovariance(ctx)
			if err != nil {
				return err
			}
			t2 = time.Now()
			if plan, err = SelectDense(ctx, g, free, sigma, post.NoiseVar(), 0, next, sel, nil); err != nil {
				return err
			}
		} else {
			x := post.Samples
			if len(x) != set.Samples*npix {
				x = make([]float32, set.Samples*npix)
				if err := post.DrawSamples(ctx, x, set.Samples, rng); err != nil {
					return err
				}
			}
			t2 = time.Now()
			if plan, err = Select(ctx, g, free, []SliceSamples{{X: x, S: set.Samples, NoiseVar: post.NoiseVar()}}, next, sel, rng, nil); err != nil {
				return err
			}
		}
		st.Acquired = append(st.Acquired, plan.Chosen...)
		st.Refits = append(st.Refits, Refit{Angles: k, DIPSeconds: t1.Sub(t0).Seconds(), LinSeconds: t2.Sub(t1).Seconds(),
			SelSeconds: time.Since(t2).Seconds(), SigmaY: math.Sqrt(post.NoiseVar()), Regime: post.Regime.String(),
			SubspaceRank: post.Subspace.Rank, Capped: post.Subspace.Capped})
		if err := lp.persist(); err != nil {
			return err
		}
		what := "refit"
		if frozen {
			what = "the pilot's fit linearised"
		}
		lp.progress(fmt.Sprintf("%s %s: %s at %d angles (σ_y %.3g, %s, subspace rank %d, capped %v), chose %d",
			lp.img.Name, strat, what, k, math.Sqrt(post.NoiseVar()), post.Regime, post.Subspace.Rank, post.Subspace.Capped, len(plan.Chosen)))
		// Evaluations at this count can use this fit.
		if slices.Contains(set.Eval, k) {
			if err := lp.evalAt(ctx, strat, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// pixelGaussian runs a pixel-prior baseline: fit on the pilot, then choose
// the rest of the budget jointly from its samples (its posterior does not
// depend on the values measured later).
func (lp *loop) pixelGaussian(ctx context.Context, strat Strategy) error {
	set, st := lp.set, lp.st
	if len(st.Acquired) >= set.Budget {
		return nil
	}
	g, y := lp.measured(st.Acquired)
	prior, _ := strat.pixelPrior()
	pg, err := FitPixelGaussian(ctx, radon.NewProjector(g), y, prior, nil)
	if err != nil {
		return err
	}
	rng := stepRNG(set.Seed, lp.img.Name, strat, len(st.Acquired))
	free, k := lp.cands.Without(st.Acquired), set.Budget-len(st.Acquired)
	var plan *Plan
	if set.ClosedForm && g.N*g.N <= MaxDensePixels {
		sigma, err := pg.Covariance()
		if err != nil {
			return err
		}
		if plan, err = SelectDense(ctx, g, free, sigma, pg.NoiseVar, 0, k, Settings{}, nil); err != nil {
			return err
		}
	} else {
		x := make([]float32, set.Samples*g.N*g.N)
		if err := pg.Samples(ctx, x, set.Samples, rng); err != nil {
			return err
		}
		if plan, err = Select(ctx, g, free, []SliceSamples{{X: x, S: set.Samples, NoiseVar: pg.NoiseVar}}, k, Settings{}, rng, nil); err != nil {
			return err
		}
	}
	st.Acquired = append(st.Acquired, plan.Chosen...)
	lp.progress(fmt.Sprintf("%s %s: chose %d angles from the pilot", lp.img.Name, strat, len(plan.Chosen)))
	return lp.persist()
}

// evaluate scores every evaluation count not yet scored.
func (lp *loop) evaluate(ctx context.Context, strat Strategy) error {
	for _, e := range lp.set.Eval {
		if err := lp.evalAt(ctx, strat, e); err != nil {
			return err
		}
	}
	return nil
}

// anglesAt returns the candidate indices measured at count k.
func (lp *loop) anglesAt(strat Strategy, k int) ([]int, error) {
	if strat == EqualSpace {
		return lp.cands.Equal(k, lp.img.Geo.Angles[0])
	}
	if len(lp.st.Acquired) < k {
		return nil, fmt.Errorf("design: %s has %d angles, evaluation wants %d", strat, len(lp.st.Acquired), k)
	}
	return lp.st.Acquired[:k], nil
}

func (lp *loop) evalAt(ctx context.Context, strat Strategy, k int) error {
	for _, e := range lp.st.Evals {
		if e.Angles == k {
			return nil
		}
	}
	idx, err := lp.anglesAt(strat, k)
	if err != nil {
		return err
	}
	res := lp.dips[k]
	if res == nil {
		if _, _, res, err = lp.fitDIP(ctx, idx); err != nil {
			return err
		}
	}
	g, y := lp.measured(idx)
	tv := make([]float32, g.N*g.N)
	if err := radon.TV(tv, y, g, radon.TVSettings{Lambda: radon.TVLambdaForNoise(g, lp.img.NoiseStd)}, nil); err != nil {
		return err
	}
	n, truth := g.N, lp.img.Truth
	ev := Eval{Angles: k, DIPPSNR: metrics.PSNR(res.Image, truth, 0), TVPSNR: metrics.PSNR(tv, truth, 0),
		DIPIters: res.Iter, DIPStop: res.Reason}
	if n >= 7 {
		ev.DIPSSIM, ev.TVSSIM = metrics.SSIM(res.Image, truth, n, 0), metrics.SSIM(tv, truth, n, 0)
	}
	lp.st.Evals = append(lp.st.Evals, ev)
	slices.SortFunc(lp.st.Evals, func(a, b Eval) int { return a.Angles - b.Angles })
	lp.progress(fmt.Sprintf("%s %s: %d angles, DIP %.2f dB, TV %.2f dB", lp.img.Name, strat, k, ev.DIPPSNR, ev.TVPSNR))
	return lp.persist()
}
