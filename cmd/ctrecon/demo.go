package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/figures"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/phantoms"
)

type demoOpts struct {
	out, phantom string
	size, angles int
	noise        float64
	dipIters     int
	skipDIP      bool
}

func demoCmd() *cobra.Command {
	var o demoOpts
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The whole pipeline on a built-in phantom: simulate, FBP, TV, DIP, uncertainty, next angles",
		Long: `Runs the main job on a built-in phantom and writes every intermediate file:

  phantom.h5   the image
  scan.h5      its simulated sparse-view scan (exact line integrals, η noise)
  fbp.h5       filtered back-projection
  tv.h5        total-variation reconstruction
  dip.h5       deep-image-prior reconstruction (with its trained model)
  uq.h5        the DIP image with its linearised-Laplace std map (/recon/std)
               and 256 posterior samples
  plan.h5      the next 5 angles to measure (expected information gain)
  *.png        truth | reconstructions | errors, the sinogram;
               uncertainty.png: error | std | calibration;
               plan.png: each candidate angle's score, measured and chosen
  summary.txt  PSNR, SSIM and time of each method

Each step is the ctrecon command of the same name; summary.txt lists them, so
any step can be rerun by hand with other settings.`,
		Example: `  ctrecon demo -o demo-out
  ctrecon demo -o demo-out --phantom rectangles --angles 20 --seed 3`,
		RunE: func(cmd *cobra.Command, args []string) error { return runDemo(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "out", "o", "demo-out", "output folder (created if missing)")
	f.StringVar(&o.phantom, "phantom", "shepp-logan", "shepp-logan, ellipses or rectangles")
	f.IntVar(&o.size, "size", 32, "image size N")
	f.IntVar(&o.angles, "angles", 20, "number of equally spaced angles")
	f.Float64Var(&o.noise, "noise", 0.05, "relative noise level η")
	f.IntVar(&o.dipIters, "dip-iters", 0, "most DIP iterations (0 = default)")
	f.BoolVar(&o.skipDIP, "no-dip", false, "skip the DIP and uncertainty steps (FBP and TV only)")
	return cmd
}

// step is one pipeline command run in-process with the demo's global flags.
type step struct {
	name string
	args []string
}

func (s step) commandLine() string { return "ctrecon " + strings.Join(s.args, " ") }

func runStep(cmd *cobra.Command, s step) (time.Duration, error) {
	start := time.Now()
	if err := runInProcess(cmd.Context(), s.args, cmd.OutOrStdout()); err != nil {
		return 0, fmt.Errorf("demo step %s (%s): %w", s.name, s.commandLine(), err)
	}
	return time.Since(start), nil
}

func runDemo(cmd *cobra.Command, o demoOpts) error {
	if !isBuiltin(o.phantom) {
		return usagef("--phantom %q: want one of %s", o.phantom, strings.Join(phantoms.BuiltinKinds, ", "))
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	p := func(name string) string { return filepath.Join(o.out, name) }
	size, ang, noise := strconv.Itoa(o.size), strconv.Itoa(o.angles), strconv.FormatFloat(o.noise, 'g', -1, 64)
	steps := []step{
		{"phantom", []string{"phantom", "--kind", o.phantom, "--size", size, "-o", p("phantom.h5")}},
		{"simulate", []string{"simulate", "--phantom", o.phantom, "--size", size, "--analytic", "--angles", ang,
			"--noise", noise, "-o", p("scan.h5")}},
		{"fbp", []string{"fbp", "-i", p("scan.h5"), "-o", p("fbp.h5")}},
		{"tv", []string{"tv", "-i", p("scan.h5"), "-o", p("tv.h5")}},
	}
	methods := []string{"fbp", "tv"}
	if !o.skipDIP {
		a := []string{"dip", "-i", p("scan.h5"), "-o", p("dip.h5")}
		if o.dipIters > 0 {
			a = append(a, "--iters", strconv.Itoa(o.dipIters))
		}
		steps = append(steps, step{"dip", a},
			step{"uncertainty", []string{"uncertainty", "-i", p("scan.h5"), "--recon", p("dip.h5"), "--samples", "256", "-o", p("uq.h5")}},
			step{"plot", []string{"plot", "-i", p("uq.h5"), "--truth", p("scan.h5"), "--calibration", "-o", p("uncertainty.png")}},
			step{"plan", []string{"plan", "-i", p("scan.h5"), "--recon", p("uq.h5"), "--next", "5", "-o", p("plan.h5")}})
		methods = append(methods, "dip")
	}
	times := map[string]time.Duration{}
	total := time.Now()
	for _, s := range steps {
		logf("── %s: %s", s.name, s.commandLine())
		d, err := runStep(cmd, s)
		if err != nil {
			return err
		}
		times[s.name] = d
	}
	scan, err := h5io.ReadScan(p("scan.h5"))
	if err != nil {
		return err
	}
	truth := scan.GroundTruth.Slice(0)
	n := scan.ImageSize
	var panels []*figures.Panel
	lo, hi := figures.Percentiles(0, 100).Resolve(truth)
	win := figures.Fixed(lo, hi)
	panels = append(panels, figures.ImagePanel(truth, n, n, figures.ImageOptions{Title: "truth", Map: figures.Grey(), Window: win}))
	var errPanels []*figures.Panel
	var summary strings.Builder
	tw := tabwriter.NewWriter(&summary, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "method\tPSNR (dB)\tSSIM\ttime\n")
	for _, m := range methods {
		rc, err := h5io.ReadRecon(p(m + ".h5"))
		if err != nil {
			return err
		}
		img := rc.Image.Slice(0)
		psnr := metrics.PSNR(img, truth, 0)
		ssim := metrics.SSIM(img, truth, n, 0)
		fmt.Fprintf(tw, "%s\t%.2f\t%.3f\t%.1fs\n", m, psnr, ssim, times[m].Seconds())
		panels = append(panels, figures.ImagePanel(img, n, n, figures.ImageOptions{
			Title: fmt.Sprintf("%s  %.1f dB", m, psnr), Map: figures.Grey(), Window: win}))
		e := make([]float32, len(img))
		for i := range img {
			e[i] = img[i] - truth[i]
		}
		errPanels = append(errPanels, figures.ImagePanel(e, n, n, figures.ImageOptions{
			Title: m + " error", Map: figures.Diverging(), Window: figures.Fixed(-0.3*(hi-lo), 0.3*(hi-lo))}))
	}
	tw.Flush()
	so := figures.ImageOptions{Title: fmt.Sprintf("sinogram, %d angles, η = %g", scan.Angles(), o.noise),
		Map: figures.Grey(), XLabel: "detector bin", YLabel: "angle (°)"}
	errPanels = append([]*figures.Panel{figures.SinogramPanel(scan.Sinogram(nil, 0), scan.ThetaDeg, scan.NDet, so)}, errPanels...)
	if err := figures.SavePNG(p("reconstructions.png"), len(panels), append(panels, errPanels...)...); err != nil {
		return err
	}
	fmt.Fprintf(&summary, "\n%s phantom, %d², %d angles, η = %g, seed %d; total %.1fs\n\nsteps:\n",
		o.phantom, n, scan.Angles(), o.noise, g.seed, time.Since(total).Seconds())
	for _, s := range steps {
		fmt.Fprintf(&summary, "  %s\n", s.commandLine())
	}
	if !o.skipDIP {
		uq, err := h5io.ReadRecon(p("uq.h5"))
		if err != nil {
			return err
		}
		fmt.Fprintf(&summary, "\nuncertainty (%.1fs):", times["uncertainty"].Seconds())
		for _, a := range uq.Attrs {
			switch a.Name {
			case "regime", "sigma_y", "test_loglik", "test_loglik_constant_rmse", "coverage_1sigma", "coverage_2sigma", "spearman", "spearman_calibrated", "spearman_patch":
				fmt.Fprintf(&summary, " %s=%v", a.Name, fmtAttr(a.Value))
			}
		}
		fmt.Fprintln(&summary)
		pl, err := h5io.ReadPlan(p("plan.h5"))
		if err != nil {
			return err
		}
		fmt.Fprintf(&summary, "\nnext %d angles to measure (%s, chosen jointly; plan.png):", len(pl.Selected), pl.Criterion)
		for _, a := range pl.Selected {
			fmt.Fprintf(&summary, " %.1f°", a)
		}
		if m := pl.PredictedMeanStd; len(m) > 1 {
			fmt.Fprintf(&summary, "\npredicted mean std %.4g now, %.4g after them (linear model, hyperparameters fixed)", m[0], m[len(m)-1])
		}
		fmt.Fprintln(&summary)
	}
	if err := writeFileAtomic(p("summary.txt"), []byte(summary.String())); err != nil {
		return err
	}
	fmt.Fprint(cmd.OutOrStdout(), summary.String())
	logf("figures: %s", p("reconstructions.png"))
	return nil
}

func fmtAttr(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'g', 4, 64)
	}
	return fmt.Sprint(v)
}
