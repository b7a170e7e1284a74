package main

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/radon"
)

// scanHash identifies a scan's data and angles, so that a DIP model is only
// ever linearised against the measurement it was fitted to.
func scanHash(s *h5io.Scan) string {
	h := fnv.New64a()
	var b [8]byte
	for _, v := range s.Data {
		u := math.Float32bits(v)
		b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		h.Write(b[:4])
	}
	for _, t := range s.ThetaDeg {
		u := math.Float64bits(t)
		for i := range b {
			b[i] = byte(u >> (8 * i))
		}
		h.Write(b[:])
	}
	fmt.Fprintf(h, "%d/%g/%d", s.NDet, s.DetSpacing, s.ImageSize)
	if s.Geometry == "fan" || s.CenterOffset != 0 { // parallel scans keep their earlier hashes
		fmt.Fprintf(h, "/%s/%g/%g/%s/%g", s.Geometry, s.SourceDistance, s.DetectorDistance, s.Detector, s.CenterOffset)
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

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
it out with --no-delta only to study that effect.`,
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

func runUncertainty(cmd *cobra.Command, o uqOpts) error {
	if o.in == "" || o.recon == "" {
		return usagef("give the scan (-i SCAN) and the DIP reconstruction (--recon DIP)")
	}
	if err := checkOutput(o.out, o.in, o.recon); err != nil {
		return err
	}
	var regime linearised.Regime
	switch o.regime {
	case "auto":
		regime = linearised.Auto
	case "exact":
		regime = linearised.ExactRegime
	case "matrix-free":
		regime = linearised.MatrixFreeRegime
	default:
		return usagef("--regime %q: want auto, exact or matrix-free", o.regime)
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
	if want, ok := rc.Group(dip.ModelGroup).AttrString("scan_hash"); ok && want != scanHash(scan) {
		return fmt.Errorf("%s was fitted to another scan than %s (the data or angles differ); run ctrecon dip on this scan first", o.recon, o.in)
	}
	if model.N != scan.ImageSize || model.Slices != scan.Slices {
		return fmt.Errorf("%s holds %d slice(s) of %d², but %s has %d slice(s) of %d²", o.recon, model.Slices, model.N, o.in, scan.Slices, scan.ImageSize)
	}
	if o.fixNoise && !(scan.NoiseStd > 0) {
		return fmt.Errorf("--fix-noise: %s has no noise_std", o.in)
	}
	geo, err := scanGeometry(scan)
	if err != nil {
		return err
	}
	A := radon.NewProjector(geo)
	n := scan.ImageSize
	std := h5io.NewVolume(scan.Slices, n)
	var samples []float32
	if o.samples > 0 {
		samples = make([]float32, o.samples*scan.Slices*n*n)
	}
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
	start := time.Now()
	var attrs []h5io.Attr
	sino := make([]float32, geo.SinoLen())
	stored := &linearised.Stored{GPrior: o.gPrior, GPriorProbes: o.gPriorProbes, Seed: g.seed}
	for k := 0; k < scan.Slices; k++ {
		sl, err := linearised.SliceOf(model, k)
		if err != nil {
			return err
		}
		sl.Image = rc.Image.Slice(k)
		xhat := sl.Image
		scan.Sinogram(sino, k)
		t0 := time.Now()
		lm, err := linearised.NewDIPModel(cmd.Context(), sl, A, sino, set, linearised.GPriorRNG(g.seed, k))
		if err != nil {
			return fmt.Errorf("%s: slice %d: %v", o.recon, k, err)
		}
		if lm.Centre != set.Centre && k == 0 {
			logf("%s does not record the DIP's seed: the prior is centred at zero", o.recon)
		}
		chosen := lm.Regime
		my, _ := A.Dims()
		nw := sl.Net.NumConvWeights()
		if chosen == linearised.ExactRegime {
			if err := checkMemory("the exact linearised model", lm.Bytes()); err != nil {
				return err
			}
		}
		logf("slice %d: %s regime, %d measurements, %d conv weights in %d prior blocks", k, chosen, my, nw, len(lm.Problem.Blocks))
		if lm.GPriorFrom != "" {
			logf("slice %d: g-prior weight scales from %s in %s", k, lm.GPriorFrom, fmtDur(time.Since(t0).Seconds()))
		}
		barSteps := o.steps
		if (chosen == linearised.MatrixFreeRegime && !o.predcp && method != linearised.FitMLL) || method == linearised.FitEM {
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
			return err
		}
		centre := lm.Centre.String()
		stored.Centre = lm.Centre
		stored.Hyper = append(stored.Hyper, res.Hyper.Clone())
		for i, v := range res.Std {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("slice %d: the posterior std has a non-finite value at pixel %d (numerical trouble); try --regime exact or fewer --mll-steps", k, i)
			}
		}
		copy(std.Slice(k), res.Std)
		for r := 0; r < o.samples; r++ {
			dst := samples[(r*scan.Slices+k)*n*n : (r*scan.Slices+k+1)*n*n]
			for i := range dst {
				dst[i] = res.Samples[r*n*n+i] + xhat[i]
			}
		}
		if si := res.Subspace; si.Rank > 0 {
			note := ""
			if si.Capped {
				note = " (stopped at the rank/memory cap: the std is wider than the full model's there)"
			}
			logf("slice %d: subspace rank %d of %d, effective dimension %.0f inside, about %.0f missed%s", k, si.Rank, my, si.Gamma, si.TailDim, note)
		}
		sigmaY := math.Sqrt(res.Hyper.NoiseVar())
		logf("slice %d: σ_y %.4g (scan noise_std %.4g), δ %.3g, mean std %.4g", k, sigmaY, scan.NoiseStd, res.Delta, mean32(res.Std))
		if k == scan.Slices-1 {
			attrs = append(attrs, h5io.Attr{Name: "regime", Value: chosen.String()},
				h5io.Attr{Name: "sigma_y", Value: sigmaY}, h5io.Attr{Name: "delta", Value: res.Delta},
				h5io.Attr{Name: "fit_steps", Value: res.Fit.Steps}, h5io.Attr{Name: "jitter", Value: res.Fit.Jitter},
				h5io.Attr{Name: "prior_mean", Value: centre}, h5io.Attr{Name: "g_prior", Value: b2i(o.gPrior)})
			if si := res.Subspace; si.Rank > 0 {
				attrs = append(attrs, h5io.Attr{Name: "subspace_rank", Value: si.Rank},
					h5io.Attr{Name: "effective_dim", Value: si.Gamma}, h5io.Attr{Name: "effective_dim_missed", Value: si.TailDim},
					h5io.Attr{Name: "subspace_capped", Value: b2i(si.Capped)})
			}
			if !math.IsNaN(res.Fit.Loss) {
				attrs = append(attrs, h5io.Attr{Name: "mll_loss", Value: res.Fit.Loss})
			}
		}
	}
	attrs = append(attrs, h5io.Attr{Name: "seconds", Value: time.Since(start).Seconds()},
		h5io.Attr{Name: "with_delta", Value: b2i(!o.noDelta)})
	if scan.GroundTruth != nil {
		attrs = append(attrs, reportCalibration(scan, rc.Image, std)...)
	}
	var groups []h5io.Group
	for _, gr := range rc.Groups {
		if gr.Path != linearised.StoredGroup { // an uncertainty file given as --recon
			groups = append(groups, gr)
		}
	}
	out := &h5io.Recon{Method: "dip+linearised", Image: rc.Image, Std: &std, Samples: samples, Attrs: attrs,
		Groups: append(groups, stored.Group())}
	if err := h5io.WriteRecon(o.out, out); err != nil {
		return err
	}
	logf("wrote %s (%s)", o.out, fmtDur(time.Since(start).Seconds()))
	return nil
}

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
func reportCalibration(scan *h5io.Scan, rec, std h5io.Volume) []h5io.Attr {
	n := rec.N
	var ll, llc, cov1, cov2, rho, rhoRef, rhoPatch float64
	// 8×8 patches, smaller on small images so that there are at least 16.
	o := evaluateOpts{object: 0.01, patch: min(8, max(1, n/4)), bins: 10}
	for k := 0; k < rec.Slices; k++ {
		e, err := evaluateSlice(scan.GroundTruth.Slice(k), rec.Slice(k), std.Slice(k), n, o)
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
