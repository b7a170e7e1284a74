package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/figures"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/pipeline"
)

type planOpts struct {
	in, recon, out, png string
	next, candidates    int
	rangeDeg, exclude   string
	criterion, roi      string
	targetStd           float64
	topK, closedForm    bool
	samples             int
}

func planCmd() *cobra.Command {
	var o planOpts
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Choose the next projection angles to measure (expected information gain)",
		Long: `Plans which angles to measure next for a scan, from the posterior samples of
its uncertainty file (ctrecon uncertainty --samples 256). Every candidate angle
(--candidates equally spaced in --range, minus the measured ones and --exclude)
is scored from the samples projected onto it. Parallel- and fan-beam scans
are planned alike; a view repeats after 180° in parallel beam and after 360°
in fan beam, so the default range is that period, and in fan beam the view
opposite a measured one is a candidate of its own.

  eig       expected information gain ½ log det(I + Ĉ_a/σ_y²), Ĉ_a the samples'
            covariance over the angle's detector bins (the default)
  diag-eig  the same with Ĉ_a's diagonal only (ignores correlations)
  var       mean predictive variance of the angle's bins

The angles are chosen one at a time, and after each the samples are
conditioned on a simulated measurement of it, so the next choice sees what
the first already told: a batch does not pile up on neighbouring angles
(--top-k scores once and takes the best K, as the reference code does).
--roi x0:x1,y0:y1 (pixel columns x0..x1−1, rows y0..y1−1 from the top) scores
each angle from the samples' ROI pixels only (the rest set to zero): what it
tells about the region's own contribution to the projections. With
--target-std S it keeps adding angles until the predicted mean std in the ROI
(the whole image without --roi) falls below S and says how many that took.

The predicted stds are the linear model's, with its hyperparameters and the
DIP fixed: they do not depend on what the new measurements will show. A plan
adapts to the data only when the DIP and the uncertainty are refitted after
measuring (ctrecon design simulates that loop). From samples, the predicted
fall in std is optimistic (1.8× the exact one with 256 samples, 1.1× with
2048, measured at 32²; docs/studies/design.md): with --target-std prefer
--closed-form where it applies, or more samples.

The samples come from the uncertainty file (--samples K there); a file without
them has its model rebuilt from the DIP and the stored hyperparameters and
--samples are drawn from it (minutes at 128²: the matrix-free model is grown
again). --closed-form rebuilds the exact model instead and uses its posterior
covariance itself: every score is exact, with no Monte-Carlo noise (256
samples give EIG scores with a few per cent of noise, which matters when the
best candidates are close).

Writes the plan file (/design/theta_candidates, theta_selected in order,
scores [pick][candidate] with NaN for measured and excluded candidates,
predicted_mean_std and predicted_roi_std) and a PNG of the scores.`,
		Example: `  ctrecon uncertainty -i scan.h5 --recon dip.h5 --samples 256 -o uq.h5
  ctrecon plan -i scan.h5 --recon uq.h5 --next 5 -o plan.h5
  ctrecon plan -i scan.h5 --recon uq.h5 --next 3 --exclude 80:100 --criterion var -o plan.h5
  ctrecon plan -i scan.h5 --recon uq.h5 --roi 40:80,30:60 --target-std 0.02 -o roi-plan.h5`,
		RunE: func(cmd *cobra.Command, args []string) error { return runPlan(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.in, "in", "i", "", "the measured scan")
	f.StringVar(&o.recon, "recon", "", "its uncertainty file with posterior samples (ctrecon uncertainty --samples K)")
	f.StringVarP(&o.out, "out", "o", "", "output plan file")
	f.StringVar(&o.png, "png", "", "figure of the scores (default: OUT with .png; \"none\" for no figure)")
	f.IntVar(&o.next, "next", 5, "how many angles to choose (with --target-std: the most to choose, default all)")
	f.IntVar(&o.candidates, "candidates", 200, "candidate angles, equally spaced in --range")
	f.StringVar(&o.rangeDeg, "range", "", "candidate range lo:hi in degrees, hi excluded (default: one view period, 0:180 in parallel beam, 0:360 in fan beam)")
	f.StringVar(&o.exclude, "exclude", "", "angle ranges that cannot be measured, lo:hi in degrees, comma separated")
	f.StringVar(&o.criterion, "criterion", "eig", "eig, diag-eig or var")
	f.StringVar(&o.roi, "roi", "", "region of interest x0:x1,y0:y1 in pixels (columns, rows from the top; ends excluded)")
	f.Float64Var(&o.targetStd, "target-std", 0, "add angles until the predicted mean std (in the ROI) is below this")
	f.BoolVar(&o.topK, "top-k", false, "score once and take the best K (no conditioning between picks)")
	f.BoolVar(&o.closedForm, "closed-form", false, "exact regime, one slice up to 64²: rebuild the stored model and choose from its exact posterior covariance (no sampling error)")
	f.IntVar(&o.samples, "samples", 256, "when the file holds no samples: how many to draw from its stored model")
	return cmd
}

// parseRangeDeg reads "lo:hi" in degrees.
func parseRangeDeg(flag, s string) (float64, float64, error) {
	a, b, ok := strings.Cut(s, ":")
	lo, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	hi, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if !ok || err1 != nil || err2 != nil || math.IsNaN(lo) || math.IsNaN(hi) || !(hi > lo) {
		return 0, 0, usagef("%s %q: want lo:hi in degrees with lo < hi", flag, s)
	}
	return lo, hi, nil
}

// parseROI reads "x0:x1,y0:y1" into a mask of an n×n image.
func parseROI(s string, n int) ([]bool, error) {
	xs, ys, ok := strings.Cut(s, ",")
	if !ok {
		return nil, usagef("--roi %q: want x0:x1,y0:y1 (pixels)", s)
	}
	var v [4]int
	for i, part := range []string{xs, ys} {
		a, b, ok := strings.Cut(part, ":")
		lo, err1 := strconv.Atoi(strings.TrimSpace(a))
		hi, err2 := strconv.Atoi(strings.TrimSpace(b))
		if !ok || err1 != nil || err2 != nil {
			return nil, usagef("--roi %q: want x0:x1,y0:y1 (whole pixels)", s)
		}
		v[2*i], v[2*i+1] = lo, hi
	}
	for i := 0; i < 4; i += 2 {
		if v[i] < 0 || v[i+1] > n || v[i] >= v[i+1] {
			return nil, usagef("--roi %q: the region must lie inside the %d×%d image, with x0 < x1 and y0 < y1", s, n, n)
		}
	}
	mask := make([]bool, n*n)
	for i := v[2]; i < v[3]; i++ {
		for j := v[0]; j < v[1]; j++ {
			mask[i*n+j] = true
		}
	}
	return mask, nil
}

func runPlan(cmd *cobra.Command, o planOpts) error {
	if o.in == "" || o.recon == "" {
		return usagef("give the scan (-i SCAN) and its uncertainty file (--recon UQ)")
	}
	if err := checkOutput(o.out, o.in, o.recon); err != nil {
		return err
	}
	crit, err := design.ParseCriterion(o.criterion)
	if err != nil {
		return usageError{err}
	}
	nextSet := cmd.Flags().Changed("next")
	switch {
	case o.next < 1 && (nextSet || o.targetStd == 0):
		return usagef("--next %d: want at least 1 angle", o.next)
	case o.candidates < 1:
		return usagef("--candidates %d: want at least 1", o.candidates)
	case o.targetStd < 0 || math.IsNaN(o.targetStd):
		return usagef("--target-std must be positive")
	case o.samples < 2:
		return usagef("--samples %d: want at least 2", o.samples)
	}
	var rng design.Interval // zero: one view period, by the scan's beam
	if o.rangeDeg != "" {
		lo, hi, err := parseRangeDeg("--range", o.rangeDeg)
		if err != nil {
			return err
		}
		if lo < 0 || hi > 360 {
			return usagef("--range %q: the candidates must lie in [0°, 360°]", o.rangeDeg)
		}
		rng = design.Interval{Lo: lo * math.Pi / 180, Hi: hi * math.Pi / 180}
	}
	var excl []design.Interval
	if o.exclude != "" {
		for _, part := range strings.Split(o.exclude, ",") {
			a, b, err := parseRangeDeg("--exclude", part)
			if err != nil {
				return err
			}
			excl = append(excl, design.Interval{Lo: a * math.Pi / 180, Hi: b * math.Pi / 180})
		}
	}
	png := o.png
	if png == "" {
		png = strings.TrimSuffix(o.out, ".h5") + ".png"
	}
	scan, err := loadScan(cmd, o.in)
	if err != nil {
		return err
	}
	rc, err := h5io.ReadRecon(o.recon)
	if err != nil {
		return err
	}
	var roi []bool
	if o.roi != "" {
		if roi, err = parseROI(o.roi, scan.ImageSize); err != nil {
			return err
		}
	}
	if o.closedForm && scan.Slices != 1 {
		return usagef("--closed-form plans one slice; %s has %d", o.in, scan.Slices)
	}
	if o.closedForm && scan.ImageSize*scan.ImageSize > design.MaxDensePixels {
		return usagef("--closed-form: the dense posterior covariance of a %d² image is too large (up to %d pixels)", scan.ImageSize, design.MaxDensePixels)
	}
	job := &pipeline.PlanJob{Scan: scan, ScanPath: o.in, Recon: rc, ReconPath: o.recon, Criterion: crit,
		Candidates: o.candidates, Range: rng, Exclude: excl, ROI: roi,
		RangeSpec: o.rangeDeg, ExcludeSpec: o.exclude, ROISpec: o.roi, Next: o.next, TargetStd: o.targetStd, TopK: o.topK,
		ClosedForm: o.closedForm, Samples: o.samples, Seed: g.seed, MemAvailable: memAvailable(), Hooks: cliHooks()}
	if o.targetStd > 0 && !nextSet {
		job.AllFree = true // as many as it takes
	}
	res, err := job.Run(cmd.Context())
	if err != nil {
		return err
	}
	if err := h5io.WritePlan(o.out, res.File); err != nil {
		return err
	}
	plan, cands := res.Plan, res.Candidates
	deg := func(i int) float64 { return cands.Angles[i] * 180 / math.Pi }
	w := cmd.OutOrStdout()
	where := "whole image"
	if roi != nil {
		where = "ROI " + o.roi
	}
	from := fmt.Sprintf("%d samples", res.Samples)
	if res.Dense {
		from = "exact posterior covariance"
	}
	fmt.Fprintf(w, "next %d angle(s) by %s (%s, σ_y %.4g, %s):\n", len(plan.Chosen), crit, from, res.SigmaY, map[bool]string{true: "scored once, top-k", false: "chosen jointly"}[o.topK])
	fmt.Fprintf(w, "  now            predicted mean std %.4g (%s %.4g)\n", plan.MeanStd[0], where, plan.ROIStd[0])
	for i, c := range plan.Chosen {
		fmt.Fprintf(w, "  %2d  %7.2f°  score %-10.4g predicted mean std %.4g (%s %.4g)\n", i+1, deg(c), plan.Scores[i][c], plan.MeanStd[i+1], where, plan.ROIStd[i+1])
	}
	if o.targetStd > 0 {
		last := plan.ROIStd[len(plan.ROIStd)-1]
		if last < o.targetStd {
			fmt.Fprintf(w, "target std %.4g reached with %d more angle(s) (%s)\n", o.targetStd, len(plan.Chosen), where)
		} else {
			fmt.Fprintf(w, "target std %.4g not reached: %.4g with all %d angle(s) chosen (%s)\n", o.targetStd, last, len(plan.Chosen), where)
		}
	}
	fmt.Fprintf(w, "the predicted stds are the linear model's with its hyperparameters and the DIP fixed; refit after measuring\n")
	if !res.Dense && len(plan.Chosen) > 0 {
		fmt.Fprintf(w, "(from %d samples the predicted fall in std is optimistic: 1.8× the exact one at 256 samples, 1.1× at 2048, on a 32² test; --closed-form is exact)\n", res.Samples)
	}
	if png != "none" {
		ps := figures.PlanScores{Scores: plan.Scores[0], Chosen: plan.Chosen, Criterion: crit.String()}
		for _, a := range cands.Angles {
			ps.CandidatesDeg = append(ps.CandidatesDeg, a*180/math.Pi)
		}
		ps.MeasuredDeg = scan.ThetaDeg // as plot reads them back, so its redraw is this PNG bit for bit
		pn, err := figures.PlanPanel(ps)
		if err != nil {
			return err
		}
		if err := figures.SavePNG(png, 1, pn); err != nil {
			return err
		}
	}
	logf("wrote %s (%s)", o.out, fmtDur(res.Seconds))
	return nil
}
