package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/pipeline"
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

func runUncertainty(cmd *cobra.Command, o uqOpts) error {
	if o.in == "" || o.recon == "" {
		return usagef("give the scan (-i SCAN) and the DIP reconstruction (--recon DIP)")
	}
	if err := checkOutput(o.out, o.in, o.recon); err != nil {
		return err
	}
	opts := pipeline.UQOptions{Regime: o.regime, Fit: o.fit, Steps: o.steps, Samples: o.samples, NoDelta: o.noDelta,
		NoFit: o.noFit, FixNoise: o.fixNoise, PredCP: o.predcp, Rank: o.rank, MaxRank: o.maxRank, SampleCG: o.sampleCG,
		PriorMean: o.priorMean, RequireSeed: cmd.Flags().Changed("prior-mean"), GPrior: o.gPrior, GPriorProbes: o.gPriorProbes,
		Seed: g.seed}
	if err := opts.Check(); err != nil {
		return usageError{err}
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
	rng, err := pipeline.DIPRange(scan, rc, model, o.recon)
	if err != nil {
		return err
	}
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
	job := &pipeline.UQVolume{Scan: scan, Recon: rc, ReconPath: o.recon, Model: model, Out: o.out, Range: rng,
		Options:      opts,
		MemAvailable: memAvailable(), Threads: par.Threads(), Backend: backendTag(), Resume: o.resume, Hooks: cliHooks()}
	return job.Run(cmd.Context())
}

// parseRegime reads a --regime flag (uncertainty, design).
func parseRegime(s string) (linearised.Regime, error) {
	r, err := pipeline.ParseRegime(s)
	if err != nil {
		return r, usagef("--%v", err)
	}
	return r, nil
}
