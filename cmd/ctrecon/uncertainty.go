package main

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/pipeline"
	"github.com/ctrecon/ctrecon/radon"
	"github.com/ctrecon/ctrecon/volume"
)

type uqOpts struct {
	in, recon, out string
	regime         string
	steps          int
	samples        int
	noDelta, noFit bool
	fixNoise       bool
	predcp         bool
	rank           int
	maxRank        int
	sampleCG       bool
	fit            string
	priorMean      string
	gPrior         bool
	gPriorProbes   int
	slices         string
	resume         bool
}

func uncertaintyCmd() *cobra.Command {
	var o uqOpts
	cmd := &cobra.Command{
		Use:   "uncertainty",
		Short: "Pixelwise uncertainty of a DIP reconstruction (linearised Laplace)",
		Long: `Linearises the trained U-Net of a DIP reconstruction at its weights θ*,
h(θ) = f(θ*) + J(θ − θ*), puts a Gaussian prior on the conv weights (a
Matérn-½ GP over each 3×3 filter, one σ², ℓ per U-Net block; normal for 1×1
convs), fits the prior and the noise variance σ_y² by type-II maximum
likelihood, and writes the posterior pixel std:

  /recon/image     the DIP reconstruction (the predictive mean)
  /recon/std       √(posterior variance + δ), δ = σ_y²·mean diag((AᵀA)⁺)
  /recon/samples   posterior samples of the image (with --samples k)

Small scans (up to 3000 measurements) use the exact regime (dense K_yy,
Cholesky, closed-form variances, Adam on the marginal likelihood). Larger ones
use the matrix-free regime: the model is conditioned on the data's projection
onto a subspace of measurement space, grown by randomized block Krylov until
it misses less than 5% of the effective dimension (or reaches --max-rank or
the memory available); the same objective is fitted there by a fixed point
from scales read off the trained weights, and the std comes from 256 posterior
samples. Conditioning on part of the data can only widen the posterior, so the
std is never below the exact one (equal at full rank); the log says how much
the subspace missed. --sample-cg instead fits and samples the full model with
CG (a rank --rank Nyström preconditioner): exact, much slower. --fit em fits
the linear model's own evidence instead of the Laplace objective (smaller
prior scales and σ_y; docs/studies/uq-128.md). The prior is centred at the
DIP's initial weights θ₀ (recovered from the seed the recon file records),
so that it describes how far training moved the network rather than the
size of its random initialisation; --prior-mean zero centres it at zero as
bayes_dip does (wider, often underconfident stds). --g-prior normalises
every weight by its scale in the data, ‖(A·J)_{:,i}‖ (the g-prior of arXiv
2210.04994), before the block prior applies: weights the projections see
strongly get proportionally smaller prior scales (on the 128² real slice its
±1σ/±2σ coverage comes out near nominal; docs/studies/uq-128.md). The scales
are exact in the exact regime and estimated from --g-prior-probes random
probes in the matrix-free one (relative error √(2/probes)). The δ term keeps
pixels where the network is saturated (J ≈ 0) from getting a zero std; leave
it out with --no-delta only to study that effect.

Volumes: slices are linearised one after another, each finished slice kept in
OUT.slices/ (an interruption loses only the slice in flight: rerun with
--resume); --slices a:b takes part of the DIP file's range, and ctrecon merge
joins parts. Per-slice values (σ_y, δ, subspace rank, calibration, seconds)
are in the table /slices beside the DIP's; /recon attributes that vary by
slice are their means.`,
		Example: `  ctrecon uncertainty -i scan.h5 --recon dip.h5 -o dip-uq.h5
  ctrecon uncertainty -i scan.h5 --recon dip.h5 --samples 16 -o dip-uq.h5
  ctrecon uncertainty -i ct-scan.h5 --recon ct-dip.h5 --fit em -o ct-uq.h5
  ctrecon uncertainty -i scan.h5 --recon dip.h5 --g-prior -o dip-uq-g.h5
  ctrecon plot -i dip-uq.h5 --truth scan.h5 --calibration -o uq.png
  ctrecon evaluate -i dip-uq.h5 --truth scan.h5`,
		RunE: func(cmd *cobra.Command, args []string) error { return runUncertainty(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.in, "in", "i", "", "the scan file the DIP was fitted to")
	f.StringVar(&o.slices, "slices", "", "slice range a:b of the scan (default: every slice of the DIP file)")
	f.BoolVar(&o.resume, "resume", false, "continue an interrupted run, reusing the finished slices in OUT.slices/")
	f.StringVar(&o.recon, "recon", "", "DIP reconstruction file (from ctrecon dip)")
	f.StringVarP(&o.out, "out", "o", "", "output reconstruction file with /recon/std")
	f.StringVar(&o.regime, "regime", "auto", "auto, exact or matrix-free")
	f.IntVar(&o.steps, "mll-steps", 1000, "exact regime: Adam steps of the marginal-likelihood fit (lr 0.01)")
	f.IntVar(&o.rank, "rank", 300, "matrix-free regime with --sample-cg or --predcp: rank of the Nyström CG preconditioner")
	f.StringVar(&o.fit, "fit", "auto", "hyperparameter fit: auto (Laplace marginal likelihood: Adam in the exact regime, its fixed point in the matrix-free one), mll (Adam everywhere) or em (the linear model's evidence, arXiv 2210.04994)")
	f.IntVar(&o.maxRank, "max-rank", 0, "matrix-free regime: largest subspace dimension (0: all measurements, as memory allows)")
	f.BoolVar(&o.sampleCG, "sample-cg", false, "matrix-free regime: fit and sample the full model with CG (exact, much slower) instead of the subspace model")
	f.IntVar(&o.samples, "samples", 0, "posterior samples to store in /recon/samples (the matrix-free std always uses at least 256)")
	f.BoolVar(&o.noDelta, "no-delta", false, "leave the δ image-noise floor out of the std")
	f.BoolVar(&o.noFit, "no-fit", false, "keep the initial hyperparameters (σ_b² = 1, ℓ = 0.1, σ_y² = 1)")
	f.BoolVar(&o.fixNoise, "fix-noise", false, "fix σ_y to the scan's noise_std instead of learning it")
	f.StringVar(&o.priorMean, "prior-mean", defaultPriorMean, "centre of the prior on the conv weights: init (the DIP's initial weights, recovered from the seed in the recon file) or zero")
	f.BoolVar(&o.gPrior, "g-prior", false, "normalise the weights by their scale in the data, ‖(A·J)_{:,i}‖, before the block prior (the g-prior of arXiv 2210.04994)")
	f.IntVar(&o.gPriorProbes, "g-prior-probes", linearised.DefaultGPriorProbes, "matrix-free regime with --g-prior: random probes behind the weight scales (the exact regime computes them exactly)")
	f.BoolVar(&o.predcp, "predcp", false, "MAP with the TV-PredCP hyperprior (λ = m·γ of the DIP fit) instead of plain type-II ML")
	addCenterFlag(cmd)
	return cmd
}

// defaultPriorMean is where the prior on the conv weights is centred unless
// --prior-mean says otherwise (see linearised.Problem.PriorMean): at the
// DIP's initial weights, which beat zero on all pixels of every 128² scan
// (docs/studies/uq-128.md); on 28² digits it is level on all pixels, better
// on the object at 5 angles and worse at 20–30 (docs/studies/digits-uq-20.md).
const defaultPriorMean = "init"

// checkPriorMean refuses a --prior-mean other than init or zero (uncertainty
// and study take the same flag).
func checkPriorMean(v string) error {
	if v != "init" && v != "zero" {
		return usagef("--prior-mean %q: want init or zero", v)
	}
	return nil
}

func runUncertainty(cmd *cobra.Command, o uqOpts) (err error) {
	if o.in == "" || o.recon == "" {
		return usagef("give the scan (-i SCAN) and the DIP reconstruction (--recon DIP)")
	}
	if err := checkOutput(o.out, o.in, o.recon); err != nil {
		return err
	}
	regime, err := parseRegime(o.regime)
	if err != nil {
		return err
	}
	if err := checkPriorMean(o.priorMean); err != nil {
		return err
	}
	if o.gPriorProbes < 1 {
		return usagef("--g-prior-probes %d: want at least 1", o.gPriorProbes)
	}
	var method linearised.FitMethod
	switch o.fit {
	case "auto":
		method = linearised.FitAuto
	case "mll":
		method = linearised.FitMLL
	case "em":
		method = linearised.FitEM
	default:
		return usagef("--fit %q: want auto, mll or em", o.fit)
	}
	if o.steps < 1 || o.samples < 0 || o.rank < 1 || o.maxRank < 0 {
		return usagef("--mll-steps and --rank must be ≥ 1, --samples and --max-rank ≥ 0")
	}
	scan, err := loadScan(cmd, o.in)
	if err != nil {
		return err
	}
	rc, err := h5io.ReadRecon(o.recon)
	if err != nil {
		return err
	}
	model, err := dip.ReadModel(o.recon, rc)
	if err != nil {
		return err
	}
	if want, ok := rc.Group(dip.ModelGroup).AttrString("scan_hash"); ok && want != h5io.ScanHash(scan) {
		return fmt.Errorf("%s was fitted to another scan than %s (the data or angles differ); run ctrecon dip on this scan first", o.recon, o.in)
	}
	dStart, dTotal := rc.SliceRange()
	if model.N != scan.ImageSize || dTotal != scan.Slices {
		return fmt.Errorf("%s holds %d slice(s) of %d² from a %d-slice scan, but %s has %d slice(s) of %d²", o.recon, model.Slices, model.N, dTotal, o.in, scan.Slices, scan.ImageSize)
	}
	rng := volume.Range{Lo: dStart, Hi: dStart + model.Slices}
	if o.slices != "" {
		lo, hi, err := parseSlices(o.slices, scan.Slices)
		if err != nil {
			return err
		}
		if lo < rng.Lo || hi > rng.Hi {
			return usagef("--slices %s: %s holds slices %s only", o.slices, o.recon, rng)
		}
		rng = volume.Range{Lo: lo, Hi: hi}
	}
	if o.fixNoise && !(scan.NoiseStd > 0) {
		return fmt.Errorf("--fix-noise: %s has no noise_std", o.in)
	}
	geo, err := pipeline.ScanGeometry(scan)
	if err != nil {
		return err
	}
	A, err := radon.NewOperator(geo)
	if err != nil {
		return err
	}
	n := scan.ImageSize
	set := linearised.DefaultDIPSettings(memAvailable())
	set.Regime, set.Method, set.MLL.Steps, set.MLL.FixNoise = regime, method, o.steps, o.fixNoise
	set.EM.FixNoise = o.fixNoise
	set.MatrixFree.SampleCG = o.sampleCG
	set.MatrixFree.CG.PrecondRank = o.rank
	set.MatrixFree.Subspace.MaxRank = o.maxRank
	set.SkipFit, set.Samples, set.KeepSamples, set.NoDelta = o.noFit, o.samples, o.samples > 0, o.noDelta
	set.GPrior, set.GPriorProbes = o.gPrior, o.gPriorProbes
	set.RequireSeed = cmd.Flags().Changed("prior-mean")
	if o.priorMean == "zero" {
		set.Centre = linearised.CentreZero
	}
	if o.fixNoise {
		set.NoiseStd = scan.NoiseStd
	}
	if o.predcp {
		gamma, ok := model.Attr("gamma")
		if !ok || !(gamma > 0) {
			return fmt.Errorf("--predcp: %s has no positive DIP TV weight (gamma) to set the hyperprior's strength", o.recon)
		}
		set.MLL.PredCP = linearised.PredCPSettings{Gamma: gamma}
	}
	settings := fmt.Sprintf("regime=%s fit=%s steps=%d samples=%d delta=%v nofit=%v fixnoise=%v predcp=%v rank=%d maxrank=%d samplecg=%v prior=%s gprior=%v/%d seed=%d",
		o.regime, o.fit, o.steps, o.samples, !o.noDelta, o.noFit, o.fixNoise, o.predcp, o.rank, o.maxRank, o.sampleCG, o.priorMean, o.gPrior, o.gPriorProbes, g.seed)
	fp := fmt.Sprintf("%s scan=%s dip=%s threads=%d", settings, h5io.ScanHash(scan), reconHash(rc), par.Threads()) + backendTag()
	job := volume.Job{Dir: volume.SliceDir(o.out), Fingerprint: fp, Range: rng, ScanSlices: scan.Slices}
	if err := checkMemory(fmt.Sprintf("the assembled uncertainty of slices %s", rng),
		volume.AssemblyBytes(rng.Len(), n, int64((2+o.samples)*n*n+len(model.Params)/model.Slices))); err != nil {
		return err
	}
	if err := job.Start(o.resume); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			job.Abandon()
		}
	}()
	start := time.Now()
	sino := make([]float32, geo.SinoLen())
	for k := rng.Lo; k < rng.Hi; k++ {
		if done, err := job.Done(k); err != nil {
			return err
		} else if done {
			logf("slice %d: done in an earlier run", k)
			continue
		}
		res, err := uncertaintySlice(cmd, o, rc, model, k-dStart, k, scan, A, sino, set, settings)
		if err != nil {
			return err
		}
		if err := job.Save(k, res); err != nil {
			return err
		}
	}
	out, err := job.Assemble()
	if err != nil {
		return err
	}
	if scan.GroundTruth != nil {
		truth := h5io.Volume{Slices: rng.Len(), N: n, Data: scan.GroundTruth.Data[rng.Lo*n*n : rng.Hi*n*n]}
		// The means over slices, with the volume's own log line.
		for _, a := range reportCalibration(truth, out.Image, *out.Std) {
			out.SetAttr(a.Name, a.Value)
		}
	}
	if err := h5io.WriteRecon(o.out, out); err != nil {
		return err
	}
	job.Clean()
	logf("wrote %s: slices %s (%s)", o.out, rng, fmtDur(time.Since(start).Seconds()))
	return nil
}

// reconHash identifies a DIP reconstruction's content (image and trained
// parameters), so that finished slices of an interrupted run are not reused
// for another DIP file.
func reconHash(rc *h5io.Recon) string {
	h := fnv.New64a()
	var b [4]byte
	put := func(v []float32) {
		for _, x := range v {
			u := math.Float32bits(x)
			b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
			h.Write(b[:])
		}
	}
	put(rc.Image.Data)
	if g := rc.Group(dip.ModelGroup); g != nil {
		for _, a := range g.Arrays {
			put(a.Data)
		}
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// uncertaintySlice linearises slice j of the DIP file (scan slice k) and
// returns its one-slice result: the DIP image, std, samples, the DIP's own
// rows (/dip, its /slices row), the fitted hyperparameters (/linearised) and
// this slice's values in /slices.
func uncertaintySlice(cmd *cobra.Command, o uqOpts, rc *h5io.Recon, model *dip.Model, j, k int, scan *h5io.Scan,
	A linop.Operator, sino []float32, set linearised.DIPSettings, settings string) (*h5io.Recon, error) {
	n := scan.ImageSize
	sl, err := linearised.SliceOf(model, j)
	if err != nil {
		return nil, err
	}
	sl.Image = rc.Image.Slice(j)
	xhat := sl.Image
	scan.Sinogram(sino, k)
	t0 := time.Now()
	lm, err := linearised.NewDIPModel(cmd.Context(), sl, A, sino, set, linearised.GPriorRNG(g.seed, k))
	if err != nil {
		return nil, fmt.Errorf("%s: slice %d: %v", o.recon, k, err)
	}
	if lm.Centre != set.Centre {
		logf("%s does not record the DIP's seed: the prior is centred at zero", o.recon)
	}
	chosen := lm.Regime
	my, _ := A.Dims()
	nw := sl.Net.NumConvWeights()
	if chosen == linearised.ExactRegime {
		if err := checkMemory("the exact linearised model", lm.Bytes()); err != nil {
			return nil, err
		}
	}
	logf("slice %d: %s regime, %d measurements, %d conv weights in %d prior blocks", k, chosen, my, nw, len(lm.Problem.Blocks))
	if lm.GPriorFrom != "" {
		logf("slice %d: g-prior weight scales from %s in %s", k, lm.GPriorFrom, fmtDur(time.Since(t0).Seconds()))
	}
	barSteps := o.steps
	if (chosen == linearised.MatrixFreeRegime && !o.predcp && set.Method != linearised.FitMLL) || set.Method == linearised.FitEM {
		barSteps = -1 // fixed-point iterations over growth rounds: no total known in advance
	}
	b := newBar(barSteps, fmt.Sprintf("fit slice %d/%d", k+1, scan.Slices))
	rng := rand.New(rand.NewPCG(g.seed, 0x756e63+uint64(k)))
	res, err := lm.Run(cmd.Context(), rng, func(step int, loss float64) {
		if barSteps < 0 { // the fixed point reports the effective dimension γ
			b.Describe(fmt.Sprintf("fit %d/%d effective dimension %.0f", k+1, scan.Slices, loss))
		} else {
			b.Describe(fmt.Sprintf("fit %d/%d objective %.5g", k+1, scan.Slices, loss))
		}
		b.Add(1)
	})
	b.Finish()
	if err != nil {
		return nil, err
	}
	for i, v := range res.Std {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("slice %d: the posterior std has a non-finite value at pixel %d (numerical trouble); try --regime exact or fewer --mll-steps", k, i)
		}
	}
	// The DIP file's rows for this slice (image, model, its table row),
	// minus an earlier uncertainty's results when an uncertainty file was
	// given as --recon.
	out := rc.SliceRows(j, j+1)
	out.Method = "dip+linearised"
	out.Attrs = nil
	out.Samples = nil
	var groups []h5io.Group
	var table *h5io.Group
	for _, gr := range out.Groups {
		switch gr.Path {
		case linearised.StoredGroup:
		case h5io.SlicesGroup:
			t := gr
			t.Arrays = nil
			for _, a := range gr.Arrays {
				if !uqTableNames[a.Name] {
					t.Arrays = append(t.Arrays, a)
				}
			}
			table = &t
		default:
			groups = append(groups, gr)
		}
	}
	if table == nil {
		table = &h5io.Group{Path: h5io.SlicesGroup}
	}
	std := h5io.NewVolume(1, n)
	copy(std.Data, res.Std)
	out.Std = &std
	for r := 0; r < o.samples; r++ {
		for i := 0; i < n*n; i++ {
			out.Samples = append(out.Samples, res.Samples[r*n*n+i]+xhat[i])
		}
	}
	stored := &linearised.Stored{GPrior: o.gPrior, GPriorProbes: o.gPriorProbes, Seed: g.seed, Centre: lm.Centre,
		Hyper: []linearised.Hyper{res.Hyper.Clone()}}
	sigmaY := math.Sqrt(res.Hyper.NoiseVar())
	logf("slice %d: σ_y %.4g (scan noise_std %.4g), δ %.3g, mean std %.4g", k, sigmaY, scan.NoiseStd, res.Delta, mean32(res.Std))
	seconds := time.Since(t0).Seconds()
	out.Attrs = []h5io.Attr{{Name: h5io.AttrScanHash, Value: h5io.ScanHash(scan)}, {Name: h5io.AttrSettings, Value: settings},
		{Name: "regime", Value: chosen.String()}, {Name: "prior_mean", Value: lm.Centre.String()},
		{Name: "g_prior", Value: b2i(o.gPrior)}, {Name: "with_delta", Value: b2i(!o.noDelta)},
		{Name: "sigma_y", Value: sigmaY}, {Name: "delta", Value: res.Delta}, {Name: "fit_steps", Value: res.Fit.Steps},
		{Name: "jitter", Value: res.Fit.Jitter}, {Name: "seconds", Value: seconds}}
	row := map[string]float64{"sigma_y": sigmaY, "delta": res.Delta, "fit_steps": float64(res.Fit.Steps), "jitter": res.Fit.Jitter,
		"mean_std": mean32(res.Std), "uq_seconds": seconds, "mll_loss": res.Fit.Loss,
		"subspace_rank": math.NaN(), "effective_dim": math.NaN(), "effective_dim_missed": math.NaN(), "subspace_capped": math.NaN()}
	if !math.IsNaN(res.Fit.Loss) {
		out.Attrs = append(out.Attrs, h5io.Attr{Name: "mll_loss", Value: res.Fit.Loss})
	}
	if si := res.Subspace; si.Rank > 0 {
		note := ""
		if si.Capped {
			note = " (stopped at the rank/memory cap: the std is wider than the full model's there)"
		}
		logf("slice %d: subspace rank %d of %d, effective dimension %.0f inside, about %.0f missed%s", k, si.Rank, my, si.Gamma, si.TailDim, note)
		out.Attrs = append(out.Attrs, h5io.Attr{Name: "subspace_rank", Value: si.Rank},
			h5io.Attr{Name: "effective_dim", Value: si.Gamma}, h5io.Attr{Name: "effective_dim_missed", Value: si.TailDim},
			h5io.Attr{Name: "subspace_capped", Value: b2i(si.Capped)})
		row["subspace_rank"], row["effective_dim"], row["effective_dim_missed"] = float64(si.Rank), si.Gamma, si.TailDim
		row["subspace_capped"] = float64(b2i(si.Capped))
	}
	if scan.GroundTruth != nil {
		truth := h5io.Volume{Slices: 1, N: n, Data: scan.GroundTruth.Slice(k)}
		for _, a := range reportCalibration(truth, out.Image, std) {
			out.Attrs = append(out.Attrs, a)
			if v, ok := a.Value.(float64); ok {
				row[a.Name] = v
			}
		}
	}
	for _, name := range uqTableOrder {
		// A value this run does not have (no ground truth, no subspace,
		// no loss) is left out: the same for every slice of a run.
		if v, ok := row[name]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			table.Arrays = append(table.Arrays, h5io.Array{Name: name, Shape: []int{1}, Data: []float32{float32(v)}})
		}
	}
	out.Groups = append(groups, stored.Group(), *table)
	return out, nil
}

// uqTableOrder lists uncertainty's columns of the per-slice table, in order
// (a run without a ground truth has no calibration columns).
var uqTableOrder = []string{"sigma_y", "delta", "mean_std", "fit_steps", "jitter", "mll_loss", "subspace_rank", "effective_dim",
	"effective_dim_missed", "subspace_capped", "uq_seconds", "test_loglik", "test_loglik_constant_rmse", "coverage_1sigma",
	"coverage_2sigma", "spearman", "spearman_calibrated", "spearman_patch"}

var uqTableNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range uqTableOrder {
		m[n] = true
	}
	return m
}()

func mean32(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(len(v))
}

// reportCalibration logs how well the std map predicts the actual error on
// the scan's ground truth, over all pixels (averaged over slices): per-pixel
// test log-likelihood against that of a constant σ equal to the true RMSE,
// coverage, and rank correlation (with its calibrated reference and on
// patches; see 'ctrecon evaluate').
func reportCalibration(truth, rec, std h5io.Volume) []h5io.Attr {
	n := rec.N
	var ll, llc, cov1, cov2, rho, rhoRef, rhoPatch float64
	// 8×8 patches, smaller on small images so that there are at least 16.
	o := evaluateOpts{object: 0.01, patch: min(8, max(1, n/4)), bins: 10}
	for k := 0; k < rec.Slices; k++ {
		e, err := evaluateSlice(truth.Slice(k), rec.Slice(k), std.Slice(k), n, o)
		if err == nil && e.regions[0].patchRhoErr != nil {
			err = e.regions[0].patchRhoErr
		}
		if err != nil {
			logf("calibration: %v", err)
			return nil
		}
		all := e.regions[0]
		ll += all.cal.LogLik
		llc += all.oracleLL
		cov1 += all.cal.Cover1
		cov2 += all.cal.Cover2
		rho += all.cal.Spearman
		rhoRef += all.cal.SpearmanCalibrated
		rhoPatch += all.patchRho
	}
	s := float64(rec.Slices)
	ll, llc, cov1, cov2, rho, rhoRef, rhoPatch = ll/s, llc/s, cov1/s, cov2/s, rho/s, rhoRef/s, rhoPatch/s
	logf("calibration against the ground truth: test log-likelihood %.3f per pixel (constant σ = RMSE: %.3f), ±1σ coverage %.1f%%, ±2σ %.1f%%, Spearman(|error|, σ) %.2f (a calibrated σ of this map: %.2f; %d×%d patches: %.2f)",
		ll, llc, 100*cov1, 100*cov2, rho, rhoRef, o.patch, o.patch, rhoPatch)
	return []h5io.Attr{{Name: "test_loglik", Value: ll}, {Name: "test_loglik_constant_rmse", Value: llc},
		{Name: "coverage_1sigma", Value: cov1}, {Name: "coverage_2sigma", Value: cov2}, {Name: "spearman", Value: rho},
		{Name: "spearman_calibrated", Value: rhoRef}, {Name: "spearman_patch", Value: rhoPatch}, {Name: "spearman_patch_size", Value: o.patch}}
}

// parseRegime reads a --regime flag (uncertainty, design).
func parseRegime(s string) (linearised.Regime, error) {
	switch s {
	case "auto":
		return linearised.Auto, nil
	case "exact":
		return linearised.ExactRegime, nil
	case "matrix-free":
		return linearised.MatrixFreeRegime, nil
	}
	return linearised.Auto, usagef("--regime %q: want auto, exact or matrix-free", s)
}
