package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/evaluation"
	"github.com/ctrecon/ctrecon/h5io"
)

type evaluateOpts struct {
	in, truth, slices string
	object            float64
	patch, bins       int
	patchLL           string
	patchLLSet        bool // --patch-ll given: sizes too large for the image are an error, not dropped
	patchSet          bool // --patch given: too large is an error, not shrunk to n/2
	json              string
}

func evaluateCmd() *cobra.Command {
	var o evaluateOpts
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "Score a reconstruction and its std map against a ground truth",
		Long: `Compares a reconstruction file with a ground truth (a scan file with
/exchange/ground_truth, or an image file) and prints, per slice:

  accuracy      PSNR (range of the truth), SSIM, RMSE
  with a std map (/recon/std, δ included as written by 'ctrecon uncertainty'):
  test LL       mean per-pixel log N(truth | image, σ²), beside the same for a
                constant σ equal to the true RMSE (an oracle no real std map
                knows); higher is better
  coverage      fraction of pixels with |error| ≤ σ and ≤ 2σ (0.683, 0.954 if
                calibrated)
  Spearman      rank correlation of |error| and σ, beside what a calibrated σ
                of the same map would score: one pixel's |error| scatters
                around its σ, so even a perfect map stays well below 1 when σ
                varies little across the image; and the same on patches
                (--patch), whose RMS error is far less noisy
  by σ decile   RMS σ against RMS error; a calibrated map follows the diagonal

Every number is given for all pixels and for the object (truth > --object,
grown by one pixel), where empty background does not flatter it. --json FILE
writes the same numbers for scripts: a list with one object per slice (psnr,
ssim, regions[] with rmse, test_ll, oracle_ll, coverage_1sigma/2sigma,
spearman…, calibration bins; patch_ll[] per size with joint and independent
values per region, null where no whole patch fits).`,
		Example: `  ctrecon evaluate -i uq.h5 --truth scan.h5
  ctrecon evaluate -i dip.h5 --truth phantom.h5 --slices 0:4
  ctrecon evaluate -i uq.h5 --truth scan.h5 --json uq-scores.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.patchLLSet, o.patchSet = cmd.Flags().Changed("patch-ll"), cmd.Flags().Changed("patch")
			return runEvaluate(cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.in, "in", "i", "", "reconstruction file (/recon/image, optional /recon/std)")
	f.StringVar(&o.truth, "truth", "", "scan or image file with the ground truth")
	f.StringVar(&o.slices, "slices", "", "slices to evaluate, a:b (default: all)")
	f.Float64Var(&o.object, "object", 0.01, "object region: truth above this value, grown by one pixel")
	f.IntVar(&o.patch, "patch", 8, "patch size for the patch-wise Spearman (at most N/2; the default shrinks to fit a small image)")
	f.IntVar(&o.bins, "bins", 10, "number of σ bins (equal pixel counts)")
	f.StringVar(&o.patchLL, "patch-ll", "1,2,10", "patch sizes for the patch-wise LL (needs /recon/samples; at most N/2, the default leaves larger ones out)")
	f.StringVar(&o.json, "json", "", "also write every number to this JSON file (one object per slice), for scripts")
	return cmd
}

// settings are the evaluation's settings from the flags.
func (o evaluateOpts) settings() evaluation.Settings {
	return evaluation.Settings{Object: o.object, Patch: o.patch, Bins: o.bins}
}

func runEvaluate(w io.Writer, o evaluateOpts) error {
	if o.in == "" || o.truth == "" {
		return usagef("need -i RECON and --truth SCAN_OR_IMAGE")
	}
	if o.patch < 1 || o.bins < 1 {
		return usagef("--patch and --bins must be at least 1")
	}
	rc, err := h5io.ReadRecon(o.in)
	if err != nil {
		return err
	}
	truth, err := h5io.ReadGroundTruth(o.truth)
	if err != nil {
		return err
	}
	n := rc.Image.N
	if truth.N != n || truth.Slices != rc.Image.Slices {
		return fmt.Errorf("%s: ground truth is %d×%d×%d, %s holds %d×%d×%d", o.truth, truth.Slices, truth.N, truth.N, o.in, rc.Image.Slices, n, n)
	}
	if o.patch > n/2 && !o.patchSet {
		o.patch = max(1, n/2) // the default suits any image: at least 4 patches
	}
	if o.patch > n/2 {
		return usagef("--patch %d leaves fewer than 4 patches in a %d×%d image", o.patch, n, n)
	}
	sizes, err := parsePatchSizes(o.patchLL, n, !o.patchLLSet)
	if err != nil {
		return err
	}
	if o.json != "" {
		if err := checkOutput(o.json, o.in, o.truth); err != nil {
			return err
		}
	}
	a, b, err := parseSlices(o.slices, rc.Image.Slices)
	if err != nil {
		return err
	}
	var report []evaluation.Report
	err = evaluation.Recon(rc, truth, a, b, o.settings(), sizes, func(r evaluation.ReconSlice) error {
		fmt.Fprintf(w, "%s slice %d (%d×%d) against %s\n", o.in, r.Index, n, n, o.truth)
		writeEval(w, r.Slice)
		if len(r.PatchLL) > 0 {
			writePatchLL(w, r.PatchLL, r.PatchSamples, r.Delta)
		}
		report = append(report, r.Report())
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", o.in, err)
	}
	if o.json != "" {
		return writeJSONAtomic(o.json, report)
	}
	return nil
}

// writeEval prints one slice's evaluation.
func writeEval(w io.Writer, e *evaluation.Slice) {
	row := func(label string, f func(r evaluation.Region) string) {
		fmt.Fprintf(w, "  %-34s", label)
		for _, r := range e.Regions {
			fmt.Fprintf(w, " %-16s", f(r))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  PSNR %.2f dB (range of the truth), SSIM %.4f\n", e.PSNR, e.SSIM)
	row("", func(r evaluation.Region) string { return r.Name })
	row("pixels", func(r evaluation.Region) string { return fmt.Sprint(r.Pixels) })
	row("RMSE", func(r evaluation.Region) string { return fmt.Sprintf("%.4g", r.RMSE) })
	if len(e.Regions) == 0 || e.Regions[0].Cal == nil {
		fmt.Fprintln(w, "  no std map: accuracy only")
		return
	}
	cal := func(f func(r evaluation.Region) string) func(r evaluation.Region) string {
		return func(r evaluation.Region) string {
			if r.Cal == nil {
				return "–"
			}
			return f(r)
		}
	}
	row("test LL per pixel", cal(func(r evaluation.Region) string { return fmt.Sprintf("%.3f", r.Cal.LogLik) }))
	row("  constant σ = true RMSE (oracle)", cal(func(r evaluation.Region) string { return fmt.Sprintf("%.3f", r.OracleLL) }))
	row("±1σ / ±2σ coverage", cal(func(r evaluation.Region) string { return fmt.Sprintf("%.3f / %.3f", r.Cal.Cover1, r.Cal.Cover2) }))
	row("Spearman(|error|, σ)", cal(func(r evaluation.Region) string { return fmt.Sprintf("%.3f", r.Cal.Spearman) }))
	row("  a calibrated σ of this map", cal(func(r evaluation.Region) string { return fmt.Sprintf("%.3f", r.Cal.SpearmanCalibrated) }))
	row(fmt.Sprintf("  on %d×%d patches (RMS)", e.Patch, e.Patch), cal(func(r evaluation.Region) string {
		if r.PatchRhoErr != nil {
			return "too few"
		}
		return fmt.Sprintf("%.3f", r.PatchRho)
	}))
	for _, r := range e.Regions {
		if r.Cal == nil {
			continue
		}
		fmt.Fprintf(w, "  %s by σ bin: RMS σ → RMS error (pixels)\n", r.Name)
		var parts []string
		for _, b := range r.Cal.Bins {
			parts = append(parts, fmt.Sprintf("%.4g → %.4g (%d)", b.RMSSigma, b.RMSError, b.Count))
		}
		for i := 0; i < len(parts); i += 4 {
			fmt.Fprintf(w, "    %s\n", strings.Join(parts[i:min(i+4, len(parts))], ", "))
		}
	}
}

// parsePatchSizes reads --patch-ll: comma-separated sizes from 1 to n/2, or
// empty for none. With dropLarge (the flag's default) sizes above n/2 are
// left out instead of refused, so the default suits any image.
func parsePatchSizes(spec string, n int, dropLarge bool) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err == nil && dropLarge && v > max(1, n/2) {
			continue
		}
		if err != nil || v < 1 || v > max(1, n/2) {
			return nil, usagef("--patch-ll %q: want sizes from 1 to %d, comma-separated", spec, max(1, n/2))
		}
		sizes = append(sizes, v)
	}
	return sizes, nil
}

// writePatchLL prints the rows of patchLL.
func writePatchLL(w io.Writer, rows []evaluation.PatchLLRow, k int, delta float64) {
	fmt.Fprintf(w, "  patch LL per pixel, covariance of %d samples + δ %.3g (independent pixels, std map):\n", k, delta)
	for _, r := range rows {
		if r.TooFewSamples {
			fmt.Fprintf(w, "    %d×%d: only %d samples for %d pixels per patch; the covariance would be mostly δ\n", r.Size, r.Size, k, r.Size*r.Size)
			continue
		}
		fmt.Fprintf(w, "    %-6s", fmt.Sprintf("%d×%d", r.Size, r.Size))
		for _, v := range []*evaluation.PatchLLValue{r.All, r.Object} {
			if v == nil {
				fmt.Fprintf(w, " %-24s", "no whole patch")
				continue
			}
			fmt.Fprintf(w, " %-24s", fmt.Sprintf("%.3f (%.3f)", v.Joint, v.Independent))
		}
		fmt.Fprintln(w)
	}
}
