package main

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/internal/atomicfile"
	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/pipeline"
	"github.com/ctrecon/ctrecon/volume"
)

type designOpts struct {
	full, out, strategies, eval, dipSeeds string
	regime, images, merge                 string
	start, budget, refit, samples         int
	dipIters                              int
	fixedHyper, fixNoise, resume          bool
	closedForm, report                    bool
}

func designCmd() *cobra.Command {
	var o designOpts
	cmd := &cobra.Command{
		Use:   "design",
		Short: "Simulate adaptive angle selection on full scans and compare strategies",
		Long: `Simulates an adaptive acquisition on scans that hold every candidate angle
(e.g. ctrecon simulate --phantom rectangles --count 20 --angles 200): each
strategy starts from --start equally spaced angles and "measures" more rows of
the full scan until --budget:

  eig, diag-eig, var  the linearised DIP: every --refit-every acquisitions the
                      DIP is refitted (from the same initial weights) to the
                      angles measured so far, linearised (the defaults of
                      ctrecon uncertainty, in the matrix-free regime unless
                      --regime says otherwise), and the next batch is chosen
                      jointly from --samples posterior samples by the criterion
                      (--closed-form with --regime exact: from the exact
                      posterior covariance, up to 64²)
  eig-pilot           eig without adaptation: the pilot's DIP fit and
                      hyperparameters are kept; every --refit-every
                      acquisitions that linearised model is conditioned on
                      the angles chosen so far and sampled afresh, so the
                      choices never see the values measured after the pilot
                      (against eig: what refitting on new data adds)
  equal               k equally spaced angles at every count k
  random              seeded random angles after the pilot
  golden              the golden-angle sequence after the pilot
  iso, matern,        a linear-Gaussian model with a pixel prior fitted to
  matern-radial       the pilot by marginal likelihood, choosing the rest by
                      EIG (not adaptive: its posterior ignores the measured
                      values). iso: independent pixels; matern: Matérn-½
                      along rows times along columns (separable, so it
                      favours angles near 0° and 90° on any image);
                      matern-radial: Matérn-½ of the Euclidean distance
                      (rotation invariant, no preferred axes)

The lin-DIP choice needs samples only, so the matrix-free regime is the
default here: at 15 angles of a 64² rectangles scan it gave the exact
regime's std map within its Monte-Carlo error (mean std 1.5% apart, per-pixel
correlation 0.996, the same σ_y and coverage) for about a seventh of the CPU
time.

What it costs, on one core (5 → 40 angles, refits every 5): a lin-DIP run
about 25 min at 64² and 1.25–1.75 h at 128²; the other strategies 3–5 min at
64² and 15–20 min at 128², most of it their DIP and TV evaluations. A study is image × seed ×
strategy runs: plan the cores (docs/studies/design.md). The progress bar
counts runs weighted by these costs (a lin-DIP run ` + strconv.Itoa(design.LinEIG.RunCost()) + `, eig-pilot ` + strconv.Itoa(design.LinEIGPilot.RunCost()) + `, the others
` + strconv.Itoa(design.EqualSpace.RunCost()) + `), so its time left holds while dear and cheap runs alternate.

At every --eval count the DIP and TV reconstructions from the strategy's
angles are scored against the ground truth, with the same settings for every
strategy (the DIP stops by the discrepancy principle with the known noise
level, no oracle). Every slice of every --full file is an image; --dip-seeds
repeats the whole study with other initial weights.

Writes to DIR: results.h5 (per strategy: PSNR/SSIM [run][eval], the angles
in order), table.md (mean ± s.e.; the paired differences to equal spacing,
with each image's DIP seeds averaged first and a sign test over images; the
same by the rectangles' orientation, with where the chosen angles lie; lin-DIP
EIG against each other strategy), psnr.png (PSNR against angles, error bars over runs) and state.json, the
progress so far: after an interruption, the same command with --resume
continues where it stopped (finished steps are not redone) and ends where an
uninterrupted run ends (same --threads). --report writes the tables of what is
finished so far without computing anything. state.json names the scans by file
name and content, so a study can also be continued on another machine from
the same scans regenerated there (simulate is seeded) and a copy of DIR.

To spread a study over processes or machines, give each its own folder and
a share of the images (--images a:b, 0-based over every slice of every --full
file, the same other flags); then --report --merge DIR,DIR… -o ALL writes the
tables of them all (their settings must agree; the image shares are not part
of them).`,
		Example: `  ctrecon simulate --phantom rectangles --size 64 --count 20 --angles 200 -o rect-full.h5
  ctrecon design --full rect-full.h5 --start 5 --budget 40 --strategies eig,var,equal,random,golden,iso -o study
  ctrecon design --full rect-full.h5 ... -o study --resume     # after an interruption
  ctrecon design --full rect-full.h5 ... --images 0:10 -o part0   # two processes …
  ctrecon design --full rect-full.h5 ... --images 10:20 -o part1
  ctrecon design --full rect-full.h5 ... --report --merge part0,part1 -o study`,
		RunE: func(cmd *cobra.Command, args []string) error { return runDesign(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.full, "full", "", "full scans with every candidate angle and a ground truth, comma separated")
	f.StringVarP(&o.out, "out", "o", "", "output folder")
	f.IntVar(&o.start, "start", 5, "pilot angles (equally spaced)")
	f.IntVar(&o.budget, "budget", 40, "angles at the end")
	f.IntVar(&o.refit, "refit-every", 5, "acquisitions between DIP refits (lin-DIP strategies; also their batch size)")
	f.StringVar(&o.eval, "eval", "10,20,30,40", "angle counts where DIP and TV are scored")
	f.StringVar(&o.strategies, "strategies", "eig,var,equal,random,golden,iso", "eig, diag-eig, var, eig-pilot, equal, random, golden, iso, matern, matern-radial")
	f.IntVar(&o.samples, "samples", 256, "posterior samples per choice")
	f.StringVar(&o.dipSeeds, "dip-seeds", "0", "DIP initial-weight seeds (added to --seed), comma separated")
	f.IntVar(&o.dipIters, "dip-iters", 0, "most DIP iterations (0: the default by size)")
	f.BoolVar(&o.fixedHyper, "fixed-hyper", false, "fit the linearised hyperparameters at the pilot only")
	f.BoolVar(&o.fixNoise, "fix-noise", false, "fix σ_y to the scan's noise_std instead of learning it")
	f.StringVar(&o.regime, "regime", "matrix-free", "linearised model of the lin-DIP strategies: matrix-free, exact or auto (as ctrecon uncertainty chooses); see above")
	f.BoolVar(&o.closedForm, "closed-form", false, "lin-DIP strategies in the exact regime (up to 64²): choose from the exact posterior covariance instead of samples")
	f.BoolVar(&o.resume, "resume", false, "continue an interrupted study in the output folder")
	f.StringVar(&o.images, "images", "", "run only images a:b (0-based over every slice of every --full file; default all): a share of a study spread over processes")
	f.StringVar(&o.merge, "merge", "", "with --report: also the studies in these folders (comma separated), run with the same settings on other --images")
	f.BoolVar(&o.report, "report", false, "write the tables and figure from what the folder's state.json holds, computing nothing (a study in progress, or spread over machines)")
	return cmd
}

// afterDesignSave, when set (by tests), runs after every save of the state.
var afterDesignSave func()

// writeJSONAtomic writes v as indented JSON to path atomically.
func writeJSONAtomic(path string, v any) error { return atomicfile.WriteJSON(path, v) }

func runDesign(cmd *cobra.Command, o designOpts) error {
	if o.full == "" || o.out == "" {
		return usagef("give the full scans (--full FILE[,FILE…]) and an output folder (-o DIR)")
	}
	evals, err := parseInts(o.eval)
	if err != nil {
		return usagef("--eval %q: want angle counts, comma separated", o.eval)
	}
	seedOffsets, err := parseInts(o.dipSeeds)
	if err != nil {
		return usagef("--dip-seeds %q: want integers, comma separated", o.dipSeeds)
	}
	var strats []design.Strategy
	for _, s := range strings.Split(o.strategies, ",") {
		st, err := design.ParseStrategy(strings.TrimSpace(s))
		if err != nil {
			return usageError{err}
		}
		strats = append(strats, st)
	}
	regime, err := parseRegime(o.regime)
	if err != nil {
		return err
	}
	if o.closedForm && regime == linearised.MatrixFreeRegime {
		return usagef("--closed-form needs the exact posterior: add --regime exact (or auto)")
	}
	set := design.LoopSettings{Regime: regime, Start: o.start, Budget: o.budget, RefitEvery: o.refit, Eval: evals, Samples: o.samples,
		Seed: g.seed, DIPIters: o.dipIters, FixedHyper: o.fixedHyper, FixNoise: o.fixNoise, MemAvailable: memAvailable(), ClosedForm: o.closedForm}
	if o.start < 1 || o.refit < 1 || o.samples < 2 || o.dipIters < 0 {
		return usagef("--start and --refit-every must be ≥ 1, --samples ≥ 2, --dip-iters ≥ 0")
	}
	study := &pipeline.DesignStudy{Out: o.out, Strategies: strats, Loop: set, RegimeName: o.regime, DIPSeeds: seedOffsets,
		Images: o.images, Resume: o.resume, Report: o.report, Threads: par.Threads(), Backend: backendTag(), Hooks: cliHooks()}
	study.Debugf = debugf
	study.AfterCheckpoint = func() {
		if afterDesignSave != nil {
			afterDesignSave()
		}
	}
	images := 0
	for _, path := range strings.Split(o.full, ",") {
		path = strings.TrimSpace(path)
		scan, err := loadScan(cmd, path)
		if err != nil {
			return err
		}
		if err := set.Check(scan.Angles()); err != nil {
			return usagef("%s: %v", path, strings.TrimPrefix(err.Error(), "design: "))
		}
		study.Scans, study.Paths = append(study.Scans, scan), append(study.Paths, path)
		images += scan.Slices
	}
	if o.merge != "" && !o.report {
		return usagef("--merge joins finished parts into tables: use it with --report")
	}
	if o.merge != "" {
		study.Merge = strings.Split(o.merge, ",")
	}
	if o.images != "" {
		if _, err := volume.ParseRange(o.images, images); err != nil {
			return usagef("--images: %v", err)
		}
	}
	return study.Run(cmd.Context())
}
