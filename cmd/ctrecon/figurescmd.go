package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/datasets"
	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/evaluation"
	"github.com/ctrecon/ctrecon/figures"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/pipeline"
)

// figuresSettings are the sizes and budgets of one `ctrecon figures` preset.
type figuresSettings struct {
	name string
	// recon, uncertainty, patchll: the head-CT slice and Shepp–Logan
	size, angles, dipIters, mllSteps, samples int
	patchLL                                   string
	// loglik: ctrecon study on MNIST digits
	studyImages, studyChunk, studySize, studyDIPIters, studyMLL, mcSamples int
	studyAngles                                                            []int
	// design
	designSize, designCount, designStart, designBudget, designDIPIters, designSamples int
	designStrategies, designEval, designSeeds                                         string
	// volume: head-CT slices a:b; volTV is the DIP's TV weight ("" = dip's default)
	volSlices, volTV                string
	volSize, volAngles, volDIPIters int
}

var figuresQuick = figuresSettings{
	name: "quick", size: 32, angles: 20, dipIters: 0, mllSteps: 100, samples: 128, patchLL: "1,2,10",
	studyImages: 1, studyChunk: 1, studySize: 28, studyDIPIters: 500, studyMLL: 50, mcSamples: 16, studyAngles: []int{5, 10, 20, 30},
	designSize: 32, designCount: 1, designStart: 5, designBudget: 15, designDIPIters: 300, designSamples: 64,
	designStrategies: "eig,equal,random", designEval: "5,10,15", designSeeds: "0",
	volSlices: "51:57", volSize: 32, volAngles: 20, volDIPIters: 0,
}

// figuresFull are docs/RESULTS.md's settings (0 = the subcommand's default).
var figuresFull = figuresSettings{
	name: "full", size: 128, angles: 30, samples: 256, mllSteps: 1000, patchLL: "1,2,10",
	studyImages: 20, studyChunk: 5, studySize: 28, studyMLL: 1000, mcSamples: 64, studyAngles: []int{5, 10, 20, 30},
	designSize: 64, designCount: 20, designStart: 5, designBudget: 40, designSamples: 256,
	designStrategies: "eig,var,equal,random,golden,iso,matern", designEval: "10,20,30,40", designSeeds: "0,1",
	// γ = 5e-4: at 128² the default weight keeps every head-CT slice at the
	// 3000-iteration cap (about 10 min each) and below this one's PSNR, and the
	// warm start saves nothing (docs/RESULTS.md, "Volumes").
	volSlices: "0:108", volSize: 128, volAngles: 30, volTV: "0.0005",
}

// figuresPreset, when set (by tests), replaces --quick's settings.
var figuresPreset *figuresSettings

var figureNames = []string{"recon", "uncertainty", "loglik", "patchll", "design", "volume"}

type figuresOpts struct {
	out         string
	quick, full bool
	only        string
	designFrom  string
}

func figuresCmd() *cobra.Command {
	var o figuresOpts
	cmd := &cobra.Command{
		Use:   "figures",
		Short: "Make the papers' figures (PNG, captions, tables) from ctrecon's own runs, cached in the output folder",
		Long: `Runs the ctrecon subcommands behind six figures and draws them into DIR:

  recon        truth | FBP | TV | DIP and their errors, on head-CT slice 54
               (real data) and a Shepp–Logan phantom; PSNR/SSIM in the titles
  uncertainty  DIP | |error| | std | calibration (RMS error against σ by bin)
               on the head-CT slice
  loglik       test log-likelihood against the number of angles for the
               linearised DIP (lin, linmap = TV-PredCP MAP), MC dropout,
               N(x̂, δ) and the constant-σ oracle (ctrecon study on MNIST
               digits, in place of the papers' KMNIST)
  patchll      patch-wise test LL against patch size (ctrecon evaluate on
               uncertainty files with posterior samples)
  design       PSNR against the number of angles per strategy (ctrecon
               design) and one strategy's chosen angles over the image
  volume       three orthogonal planes of a head-CT DIP volume and its std

Each figure NAME gets NAME.png, NAME.txt (caption: the exact command lines
and settings) and, for tables, NAME.md. Every intermediate file is kept in
DIR; a step whose output exists is skipped (the subcommands write their
outputs atomically, so an existing file is complete), so a rerun redoes only
what is missing, and an interrupted --full run continues (dip, uncertainty
and design resume their own partial work).

--quick (the default) uses 32² images, capped DIP iterations and MLL steps
and one image per point: a few minutes on 2 cores, numbers not to be quoted.
--full uses docs/RESULTS.md's settings: hours. A design study run on its own
(spread over processes with design --images and joined by --report --merge)
can be drawn with --design-from DIR instead of being run again.`,
		Example: `  ctrecon figures -o figs
  ctrecon figures -o figs --only recon,design
  ctrecon figures --full -o figs-full     # hours; rerun to continue
  ctrecon figures --full -o figs-full --design-from rect64-all`,
		RunE: func(cmd *cobra.Command, args []string) error { return runFigures(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "out", "o", "", "output folder (created if missing; holds the cache)")
	f.BoolVar(&o.quick, "quick", false, "small sizes and few images, minutes (the default)")
	f.BoolVar(&o.full, "full", false, "docs/RESULTS.md's settings, hours (resumable)")
	f.StringVar(&o.only, "only", "", "comma-separated figures to make: "+strings.Join(figureNames, ", ")+" (default all)")
	f.StringVar(&o.designFrom, "design-from", "", "draw the design figure from this finished (or --report/--merge) ctrecon design folder instead of running a study; its full scan must lie in it or beside it")
	return cmd
}

// figStep is one subcommand run in-process; it is skipped when its output
// exists. When one of resume exists (a partial run's checkpoint), --resume
// is added.
type figStep struct {
	name   string
	args   []string
	output string
	resume []string
	stdout string // write the command's stdout to this file
}

func (s figStep) commandLine() string {
	global := "ctrecon --seed " + strconv.FormatUint(g.seed, 10)
	if g.threads != 0 {
		global += " --threads " + strconv.Itoa(g.threads)
	}
	return global + " " + strings.Join(s.args, " ")
}

type figRunner struct {
	cmd *cobra.Command
	dir string
	ran []string // outputs made by this run
	// designFrom is an existing design study folder to draw (--design-from),
	// designSettings its recorded settings.
	designFrom, designSettings string
}

func (r *figRunner) p(parts ...string) string {
	return filepath.Join(append([]string{r.dir}, parts...)...)
}

// run runs the steps in order, skipping those whose output exists.
func (r *figRunner) run(steps []figStep) error {
	for _, s := range steps {
		if _, err := os.Stat(s.output); err == nil {
			logf("── %s: cached (%s)", s.name, s.output)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(s.output), 0o755); err != nil {
			return err
		}
		args := s.args
		for _, m := range s.resume {
			if _, err := os.Stat(m); err == nil {
				args = append(slices.Clone(args), "--resume")
				break
			}
		}
		logf("── %s: %s", s.name, figStep{args: args}.commandLine())
		var out bytes.Buffer
		w := io.Writer(io.Discard)
		if s.stdout != "" {
			w = &out
		}
		global := []string{"--seed", strconv.FormatUint(g.seed, 10), "--threads", strconv.Itoa(g.threads)}
		if g.quiet {
			global = append(global, "-q")
		}
		if g.verbose {
			global = append(global, "-v")
		}
		saved := g
		root := newRoot()
		root.SetArgs(append(global, args...))
		root.SetOut(w)
		start := time.Now()
		err := root.ExecuteContext(r.cmd.Context())
		g = saved
		if err != nil {
			return fmt.Errorf("figures step %s (%s): %w", s.name, s.commandLine(), err)
		}
		if s.stdout != "" {
			if err := writeFileAtomic(s.stdout, out.Bytes()); err != nil {
				return err
			}
		}
		debugf("   %s: %.1fs", s.name, time.Since(start).Seconds())
		r.ran = append(r.ran, s.output)
	}
	return nil
}

// caption writes NAME.txt: the text, the settings and every step's command.
func (r *figRunner) caption(name, text string, set figuresSettings, steps []figStep) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.png — %s\n\n", name, text)
	line := settingsLine(name, set)
	if name == "design" && r.designFrom != "" {
		line = fmt.Sprintf("drawn from the existing study in %s (ctrecon figures --design-from), whose settings are: %s", r.designFrom, r.designSettings)
	}
	fmt.Fprintf(&b, "Made by `ctrecon figures --%s` (seed %d); %s\n\nCommands (run in this order; paths relative to the figures folder):\n",
		set.name, g.seed, line)
	for _, s := range steps {
		fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(s.commandLine(), r.dir+string(filepath.Separator), ""))
	}
	return writeFileAtomic(r.p(name+".txt"), []byte(b.String()))
}

func settingsLine(name string, s figuresSettings) string {
	it := func(v int) string {
		if v == 0 {
			return "default"
		}
		return strconv.Itoa(v)
	}
	switch name {
	case "recon", "uncertainty", "patchll":
		return fmt.Sprintf("settings: %d² images, %d angles, 5%% noise, DIP iterations %s, MLL steps %s, %d posterior samples.",
			s.size, s.angles, it(s.dipIters), it(s.mllSteps), s.samples)
	case "loglik":
		return fmt.Sprintf("settings: %d MNIST test digits at %d², angles %v, 5%% noise, DIP iterations %s, MLL steps %s, %d MC-dropout samples.",
			s.studyImages, s.studySize, s.studyAngles, it(s.studyDIPIters), it(s.studyMLL), s.mcSamples)
	case "design":
		return fmt.Sprintf("settings: %d rectangles image(s) at %d², 200 candidate angles, start %d, budget %d, strategies %s, scored at %s, DIP seeds %s, DIP iterations %s, %d samples per choice.",
			s.designCount, s.designSize, s.designStart, s.designBudget, s.designStrategies, s.designEval, s.designSeeds, it(s.designDIPIters), s.designSamples)
	case "volume":
		tv := "default"
		if s.volTV != "" {
			tv = s.volTV
		}
		return fmt.Sprintf("settings: head-CT slices %s at %d², %d angles, 5%% noise, DIP iterations %s (warm start), DIP TV weight %s, MLL steps %s.",
			s.volSlices, s.volSize, s.volAngles, it(s.volDIPIters), tv, it(s.mllSteps))
	}
	return ""
}

func runFigures(cmd *cobra.Command, o figuresOpts) error {
	if o.out == "" {
		return usagef("an output folder is required: -o DIR")
	}
	if o.quick && o.full {
		return usagef("--quick and --full exclude each other")
	}
	set := figuresQuick
	if o.full {
		set = figuresFull
	} else if figuresPreset != nil {
		set = *figuresPreset
	}
	want := map[string]bool{}
	if o.only == "" {
		for _, n := range figureNames {
			want[n] = true
		}
	} else {
		for _, n := range strings.Split(o.only, ",") {
			n = strings.TrimSpace(n)
			if !slices.Contains(figureNames, n) {
				return usagef("--only %q: unknown figure %q; want some of %s", o.only, n, strings.Join(figureNames, ", "))
			}
			want[n] = true
		}
	}
	// Real data first, so a missing data set fails before hours of work.
	needCT := want["recon"] || want["uncertainty"] || want["patchll"] || want["volume"]
	if needCT {
		if _, err := datasets.Locate(datasets.CraniumFile); err != nil {
			return fmt.Errorf("figures need the head CT: %w", err)
		}
	}
	if want["loglik"] {
		if _, err := datasets.Locate(datasets.MNISTTestImages); err != nil {
			return fmt.Errorf("figures need MNIST: %w", err)
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	r := &figRunner{cmd: cmd, dir: o.out, designFrom: o.designFrom}
	start := time.Now()
	for _, name := range figureNames {
		if !want[name] {
			continue
		}
		logf("figure %s", name)
		var err error
		switch name {
		case "recon":
			err = r.reconFigure(set)
		case "uncertainty":
			err = r.uncertaintyFigure(set)
		case "loglik":
			err = r.loglikFigure(set)
		case "patchll":
			err = r.patchLLFigure(set)
		case "design":
			err = r.designFigure(set)
		case "volume":
			err = r.volumeFigure(set)
		}
		if err != nil {
			return err
		}
		logf("wrote %s (%s)", r.p(name+".png"), r.p(name+".txt"))
	}
	logf("figures: %d step(s) run, %.1fs", len(r.ran), time.Since(start).Seconds())
	return nil
}

func itoa(v int) string { return strconv.Itoa(v) }

// withIters appends "--flag v" unless v is 0 (the subcommand's default).
func withIters(args []string, flag string, v int) []string {
	if v > 0 {
		return append(args, flag, itoa(v))
	}
	return args
}

// sliceSteps are the steps from an image to its FBP, TV, DIP and the DIP's
// uncertainty with samples, in DIR/sub: the head-CT slice ("ct") or
// Shepp–Logan ("sl").
func (r *figRunner) sliceSteps(sub string, set figuresSettings, fbpTV bool) []figStep {
	p := func(f string) string { return r.p(sub, f) }
	var steps []figStep
	if sub == "ct" {
		steps = append(steps,
			figStep{name: "ct phantom", args: []string{"phantom", "--kind", "ct", "--slice", "54", "--size", itoa(set.size), "-o", p("phantom.h5")}, output: p("phantom.h5")},
			figStep{name: "ct simulate", args: []string{"simulate", "-i", p("phantom.h5"), "--angles", itoa(set.angles), "--noise", "0.05", "--oversample", "4", "-o", p("scan.h5")}, output: p("scan.h5")})
	} else {
		steps = append(steps, figStep{name: "sl simulate", args: []string{"simulate", "--phantom", "shepp-logan", "--size", itoa(set.size), "--analytic",
			"--angles", itoa(set.angles), "--noise", "0.05", "-o", p("scan.h5")}, output: p("scan.h5")})
	}
	if fbpTV {
		steps = append(steps,
			figStep{name: sub + " fbp", args: []string{"fbp", "-i", p("scan.h5"), "-o", p("fbp.h5")}, output: p("fbp.h5")},
			figStep{name: sub + " tv", args: []string{"tv", "-i", p("scan.h5"), "-o", p("tv.h5")}, output: p("tv.h5")})
	}
	steps = append(steps,
		figStep{name: sub + " dip", args: withIters([]string{"dip", "-i", p("scan.h5"), "-o", p("dip.h5")}, "--iters", set.dipIters),
			output: p("dip.h5"), resume: []string{p("dip.h5.ckpt"), p("dip.h5.slices")}})
	return steps
}

func (r *figRunner) uqStep(sub string, set figuresSettings) figStep {
	p := func(f string) string { return r.p(sub, f) }
	return figStep{name: sub + " uncertainty", args: withIters([]string{"uncertainty", "-i", p("scan.h5"), "--recon", p("dip.h5"),
		"--samples", itoa(set.samples), "-o", p("uq.h5")}, "--mll-steps", set.mllSteps), output: p("uq.h5"), resume: []string{p("uq.h5.slices")}}
}

func errorOf(img, truth []float32) []float32 {
	e := make([]float32, len(img))
	for i := range img {
		e[i] = img[i] - truth[i]
	}
	return e
}

func (r *figRunner) reconFigure(set figuresSettings) error {
	var steps []figStep
	for _, sub := range []string{"ct", "sl"} {
		steps = append(steps, r.sliceSteps(sub, set, true)...)
	}
	if err := r.run(steps); err != nil {
		return err
	}
	var panels []*figures.Panel
	var md strings.Builder
	fmt.Fprintf(&md, "| image | method | PSNR (dB) | SSIM |\n|---|---|---|---|\n")
	for _, c := range []struct{ sub, title, unit string }{
		{"ct", fmt.Sprintf("head CT, slice 54, %d²", set.size), "μ/(3μ_water)"},
		{"sl", fmt.Sprintf("Shepp–Logan, %d²", set.size), "intensity"},
	} {
		scan, err := h5io.ReadScan(r.p(c.sub, "scan.h5"))
		if err != nil {
			return err
		}
		truth := scan.GroundTruth.Slice(0)
		n := scan.ImageSize
		lo, hi := figures.Percentiles(0, 100).Resolve(truth)
		row := []*figures.Panel{figures.ImagePanel(truth, n, n, figures.ImageOptions{Title: "truth: " + c.title, Window: figures.Fixed(lo, hi), BarLabel: c.unit})}
		so := figures.ImageOptions{Title: fmt.Sprintf("sinogram, %d angles, η = 0.05", scan.Angles()), XLabel: "detector bin", YLabel: "angle (°)", BarLabel: "line integral"}
		errs := []*figures.Panel{figures.SinogramPanel(scan.Sinogram(nil, 0), scan.ThetaDeg, scan.NDet, so)}
		for _, m := range []string{"fbp", "tv", "dip"} {
			rc, err := h5io.ReadRecon(r.p(c.sub, m+".h5"))
			if err != nil {
				return err
			}
			img := rc.Image.Slice(0)
			psnr, ssim := metrics.PSNR(img, truth, 0), metrics.SSIM(img, truth, n, 0)
			fmt.Fprintf(&md, "| %s | %s | %.2f | %.3f |\n", c.title, strings.ToUpper(m), psnr, ssim)
			row = append(row, figures.ImagePanel(img, n, n, figures.ImageOptions{
				Title: fmt.Sprintf("%s: %.1f dB, SSIM %.2f", strings.ToUpper(m), psnr, ssim), Window: figures.Fixed(lo, hi), BarLabel: c.unit}))
			errs = append(errs, figures.ImagePanel(errorOf(img, truth), n, n, figures.ImageOptions{
				Title: strings.ToUpper(m) + " − truth", Map: figures.Diverging(), Window: figures.Fixed(-0.3*(hi-lo), 0.3*(hi-lo)), BarLabel: "error, " + c.unit}))
		}
		panels = append(panels, row...)
		panels = append(panels, errs...)
	}
	if err := figures.SavePNG(r.p("recon.png"), 4, panels...); err != nil {
		return err
	}
	if err := writeFileAtomic(r.p("recon.md"), []byte(md.String())); err != nil {
		return err
	}
	return r.caption("recon", "Reconstructions from a sparse-view scan with 5% noise: rows 1–2 the real head-CT slice 54 "+
		"(projected on a 4× finer grid), rows 3–4 a Shepp–Logan phantom (exact line integrals). Each first row: truth, FBP (Hann), "+
		"TV and DIP on the truth's window; each second row: the sinogram and each method's error (diverging map, ±30% of the truth's range). "+
		"Pixel units on the axes; image values are linear attenuation relative to 3× water's (CT) or the phantom's intensity. PSNR/SSIM also in recon.md.",
		set, steps)
}

func (r *figRunner) uncertaintyFigure(set figuresSettings) error {
	steps := append(r.sliceSteps("ct", set, false), r.uqStep("ct", set))
	if err := r.run(steps); err != nil {
		return err
	}
	scan, err := h5io.ReadScan(r.p("ct", "scan.h5"))
	if err != nil {
		return err
	}
	rc, err := h5io.ReadRecon(r.p("ct", "uq.h5"))
	if err != nil {
		return err
	}
	if rc.Std == nil {
		return fmt.Errorf("%s has no /recon/std", r.p("ct", "uq.h5"))
	}
	n := scan.ImageSize
	truth, img, std := scan.GroundTruth.Slice(0), rc.Image.Slice(0), rc.Std.Slice(0)
	e := errorOf(img, truth)
	abs := make([]float32, len(e))
	for i, v := range e {
		abs[i] = float32(math.Abs(float64(v)))
	}
	lo, hi := figures.Percentiles(0, 100).Resolve(truth)
	const unit = "μ/(3μ_water)"
	psnr := metrics.PSNR(img, truth, 0)
	cal, err := figures.CalibrationPanel(std, e, 10, figures.LineOptions{Title: "calibration (10 σ bins)",
		XLabel: "predicted σ, rms per bin (" + unit + ")", YLabel: "RMS error per bin (" + unit + ")"})
	if err != nil {
		return err
	}
	panels := []*figures.Panel{
		figures.ImagePanel(img, n, n, figures.ImageOptions{Title: fmt.Sprintf("DIP, head CT slice 54: %.1f dB", psnr), Window: figures.Fixed(lo, hi), BarLabel: unit}),
		figures.ImagePanel(abs, n, n, figures.ImageOptions{Title: "|DIP − truth|", Map: figures.Viridis(), Window: figures.Window{Min: 0, Max: percentile(abs, 99.5)}, BarLabel: unit}),
		figures.ImagePanel(std, n, n, figures.ImageOptions{Title: "linearised-Laplace std", Map: figures.Viridis(), Window: figures.Window{Min: 0, Max: percentile(std, 99.5)}, BarLabel: unit}),
		cal,
	}
	if err := figures.SavePNG(r.p("uncertainty.png"), 4, panels...); err != nil {
		return err
	}
	return r.caption("uncertainty", "The DIP reconstruction of the real head-CT slice 54, its absolute error, the linearised-Laplace "+
		"predictive std (type-II ML hyperparameters, δ floor included) and the calibration: pixels in 10 bins of equal count by σ, "+
		"RMS error (± its standard error) against RMS σ per bin; a calibrated std follows the dashed diagonal.", set, steps)
}

func (r *figRunner) loglikFigure(set figuresSettings) error {
	methods := "lin,linmap,det,const,mcdrop"
	var steps []figStep
	var values []string
	for first := 0; first < set.studyImages; first += set.studyChunk {
		count := min(set.studyChunk, set.studyImages-first)
		for _, a := range set.studyAngles {
			v := r.p("loglik", fmt.Sprintf("values-a%d-first%d.json", a, first))
			args := []string{"study", "--images", "digits:" + itoa(count), "--first", itoa(first), "--size", itoa(set.studySize),
				"--angles", itoa(a), "--methods", methods, "--mll-steps", itoa(set.studyMLL), "--mc-samples", itoa(set.mcSamples)}
			args = withIters(args, "--dip-iters", set.studyDIPIters)
			steps = append(steps, figStep{name: fmt.Sprintf("study %d angles, digits %d–%d", a, first, first+count-1),
				args: append(args, "--values", v), output: v})
			values = append(values, v)
		}
	}
	steps = append(steps, figStep{name: "study merge", args: []string{"study", "--merge", strings.Join(values, ","), "-o", r.p("loglik.md")}, output: r.p("loglik.md")})
	if err := r.run(steps); err != nil {
		return err
	}
	// Per method and angle count, the per-image test LL of all pixels and of the object.
	type key struct {
		method, metric string
		angles         int
	}
	vals := map[key][]float64{}
	for _, f := range values {
		recs, err := pipeline.ReadStudyValues(f)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			k := key{rec.Method, rec.Metric, rec.Angles}
			vals[k] = append(vals[k], rec.Values...)
		}
	}
	labels := map[string]string{"lin": "lin. DIP (type-II ML)", "linmap": "lin. DIP (TV-PredCP MAP)", "mcdrop": "MC dropout",
		"det": "N(x̂, δ)", "const": "constant σ = RMSE (oracle)"}
	var panels []*figures.Panel
	for _, reg := range []struct{ metric, title string }{{"ll-all", "all pixels"}, {"ll-object", "object (truth > 0.01, grown 1 px)"}} {
		var series []figures.Series
		for _, m := range strings.Split(methods, ",") {
			var x, y, e []float64
			for _, a := range set.studyAngles {
				v := vals[key{m, reg.metric, a}]
				if len(v) == 0 {
					continue
				}
				mean, se := meanSE(v)
				x, y, e = append(x, float64(a)), append(y, mean), append(e, se)
			}
			if len(x) > 0 {
				series = append(series, figures.Series{Name: labels[m], X: x, Y: y, Err: e, Points: true, Dashed: m == "const"})
			}
		}
		pn, err := figures.LinePanel(figures.LineOptions{Title: "test log-likelihood, " + reg.title, XLabel: "number of angles",
			YLabel: "test LL per pixel (nats, mean ± s.e.)"}, series...)
		if err != nil {
			return err
		}
		panels = append(panels, pn)
	}
	if err := (figures.Figure{Panels: panels, Cols: 2, PanelWidth: 5.4 * 72, PanelHeight: 4.2 * 72}).SavePNG(r.p("loglik.png")); err != nil {
		return err
	}
	return r.caption("loglik", "Per-pixel Gaussian test log-likelihood of the truth under each method's predictive, against the number of "+
		"angles, on all pixels and on the object; mean ± standard error over the images (no bar with one image). MNIST test digits "+
		"stand in for the papers' KMNIST (not fetched by make data). lin/linmap: the linearised DIP with type-II ML and TV-PredCP MAP "+
		"hyperparameters; MC dropout: p = 0.05 after every conv; N(x̂, δ): the DIP image with the linearised fit's constant δ; "+
		"the constant-σ oracle knows the true RMSE. All tables (coverage, Spearman, PSNR): loglik.md.", set, steps)
}

func meanSE(v []float64) (mean, se float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1) / float64(len(v)))
}

// readPatchLL reads the patch-LL rows of an `evaluate --json` file: per
// size, the joint and independent values for all pixels and the object
// (NaN where evaluate computed none), from its first slice.
func readPatchLL(path string) (map[int][4]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep []evalJSON
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out := map[int][4]float64{}
	for _, sl := range rep[:min(1, len(rep))] {
		for _, r := range sl.PatchLL {
			v := [4]float64{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
			for q, x := range []*evaluation.PatchLLValue{r.All, r.Object} {
				if x != nil {
					v[2*q], v[2*q+1] = x.Joint, x.Independent
				}
			}
			out[r.Size] = v
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no patch LL (does the uncertainty file hold samples?)", path)
	}
	return out, nil
}

func (r *figRunner) patchLLFigure(set figuresSettings) error {
	var steps []figStep
	var texts []string
	for _, sub := range []string{"ct", "sl"} {
		steps = append(steps, r.sliceSteps(sub, set, false)...)
		steps = append(steps, r.uqStep(sub, set))
		t := r.p("patchll", sub+"-evaluate.json")
		steps = append(steps, figStep{name: sub + " evaluate", args: []string{"evaluate", "-i", r.p(sub, "uq.h5"), "--truth", r.p(sub, "scan.h5"),
			"--patch-ll", set.patchLL, "--json", t}, output: t})
		texts = append(texts, t)
	}
	if err := r.run(steps); err != nil {
		return err
	}
	sizes, err := parseInts(set.patchLL)
	if err != nil {
		return err
	}
	var per []map[int][4]float64
	for _, t := range texts {
		m, err := readPatchLL(t)
		if err != nil {
			return err
		}
		per = append(per, m)
	}
	var md strings.Builder
	fmt.Fprintf(&md, "| patch | joint, all | independent, all | joint, object | independent, object |\n|---|---|---|---|---|\n")
	var panels []*figures.Panel
	for reg, title := range []string{"all pixels", "object"} {
		var series []figures.Series
		for j, name := range []string{"joint: covariance of the samples + δ", "independent pixels (std map)"} {
			var x, y, e []float64
			for _, s := range sizes {
				var v []float64
				for _, m := range per {
					if w, ok := m[s]; ok && !math.IsNaN(w[2*reg+j]) {
						v = append(v, w[2*reg+j])
					}
				}
				if len(v) == 0 {
					continue
				}
				mean, se := meanSE(v)
				x, y, e = append(x, float64(s)), append(y, mean), append(e, se)
			}
			if len(x) > 0 {
				series = append(series, figures.Series{Name: name, X: x, Y: y, Err: e, Points: true, Dashed: j == 1})
			}
		}
		if len(series) == 0 {
			continue
		}
		pn, err := figures.LinePanel(figures.LineOptions{Title: "patch-wise test LL, " + title, XLabel: "patch side (pixels, log scale)",
			YLabel: "test LL per pixel (nats, mean ± s.e.)", LogX: true}, series...)
		if err != nil {
			return err
		}
		panels = append(panels, pn)
	}
	for _, s := range sizes {
		fmt.Fprintf(&md, "| %d×%d |", s, s)
		for q := range 4 {
			var v []float64
			for _, m := range per {
				if w, ok := m[s]; ok && !math.IsNaN(w[q]) {
					v = append(v, w[q])
				}
			}
			if len(v) == 0 {
				fmt.Fprint(&md, " – |")
				continue
			}
			mean, se := meanSE(v)
			fmt.Fprintf(&md, " %.3f ± %.3f |", mean, se)
		}
		fmt.Fprintln(&md)
	}
	if len(panels) == 0 {
		return errors.New("patchll: evaluate printed no patch LL")
	}
	if err := (figures.Figure{Panels: panels, Cols: 2, PanelWidth: 5 * 72, PanelHeight: 4 * 72}).SavePNG(r.p("patchll.png")); err != nil {
		return err
	}
	if err := writeFileAtomic(r.p("patchll.md"), []byte(md.String())); err != nil {
		return err
	}
	return r.caption("patchll", fmt.Sprintf("Gaussian test log-likelihood of the truth on non-overlapping k×k patches (k = %s), per pixel, "+
		"under the covariance of the stored posterior samples plus δ (joint) and under independent pixels with the std map's "+
		"variances; mean ± s.e. over the head-CT slice 54 and the Shepp–Logan phantom (ctrecon evaluate's numbers, also in patchll.md).",
		set.patchLL), set, steps)
}

// studyScan finds the full scan of an existing design study folder: the
// first file its settings name, in the folder or beside it.
func studyScan(dir string, rd *h5io.Reader) (string, error) {
	fp, ok, err := rd.AttrString("/study", "settings")
	if err != nil || !ok {
		return "", fmt.Errorf("--design-from %s: results.h5 records no study settings (%v)", dir, err)
	}
	name := fingerprintScans(fp)[0]
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(filepath.Dir(filepath.Clean(dir)), name)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("--design-from %s: its scan %s is neither in it nor beside it (regenerate it with the simulate command the study used)", dir, name)
}

func (r *figRunner) designFigure(set figuresSettings) error {
	full := r.p("design", "full.h5")
	study := r.p("design", "study")
	strategies := strings.Split(set.designStrategies, ",")
	var steps []figStep
	if r.designFrom != "" {
		study = r.designFrom
		strategies = nil
		for _, s := range design.Strategies {
			strategies = append(strategies, string(s))
		}
	} else {
		args := []string{"design", "--full", full, "--start", itoa(set.designStart), "--budget", itoa(set.designBudget),
			"--strategies", set.designStrategies, "--eval", set.designEval, "--dip-seeds", set.designSeeds, "--samples", itoa(set.designSamples)}
		args = withIters(args, "--dip-iters", set.designDIPIters)
		steps = []figStep{
			{name: "design simulate", args: []string{"simulate", "--phantom", "rectangles", "--size", itoa(set.designSize), "--count", itoa(set.designCount),
				"--angles", "200", "--analytic", "-o", full}, output: full},
			{name: "design", args: append(args, "-o", study), output: filepath.Join(study, "results.h5"), resume: []string{filepath.Join(study, "state.json")}},
		}
		if err := r.run(steps); err != nil {
			return err
		}
	}
	rd, err := h5io.Open(filepath.Join(study, "results.h5"))
	if err != nil {
		return err
	}
	defer rd.Close()
	if r.designFrom != "" {
		if full, err = studyScan(study, rd); err != nil {
			return err
		}
		r.designSettings, _, _ = rd.AttrString("/study", "settings")
	}
	evals, _, err := rd.Float64("/study/eval_angles", 1)
	if err != nil {
		return err
	}
	var series []figures.Series
	var chosen []float64
	drawn := "" // the strategy whose angles are drawn: the first adaptive one
	for _, s := range strategies {
		grp := "/study/" + s
		if !rd.Has(grp + "/psnr_dip") {
			continue
		}
		ps, sh, err := rd.Float64(grp+"/psnr_dip", 2)
		if err != nil {
			return err
		}
		var x, y, e []float64
		for j, a := range evals {
			var v []float64
			for i := range sh[0] {
				if p := ps[i*sh[1]+j]; p >= 0 {
					v = append(v, p)
				}
			}
			if len(v) == 0 {
				continue
			}
			mean, se := meanSE(v)
			x, y, e = append(x, a), append(y, mean), append(e, se)
		}
		if len(x) > 0 {
			series = append(series, figures.Series{Name: s, X: x, Y: y, Err: e, Points: true})
		}
		if chosen == nil && s != "equal" {
			acq, ash, err := rd.Float64(grp+"/acquired_candidates", 2)
			if err != nil {
				return err
			}
			for _, c := range acq[:ash[1]] {
				if c >= 0 {
					chosen = append(chosen, c)
				}
			}
			if len(chosen) > 0 {
				drawn = s
			}
		}
	}
	rd.Close()
	if len(series) == 0 {
		return fmt.Errorf("%s holds no finished strategy", filepath.Join(study, "results.h5"))
	}
	pn, err := figures.LinePanel(figures.LineOptions{Title: "DIP reconstruction by strategy (mean ± s.e.)", XLabel: "number of angles",
		YLabel: "PSNR (dB)"}, series...)
	if err != nil {
		return err
	}
	panels := []*figures.Panel{pn}
	if len(chosen) > 0 {
		scan, err := h5io.ReadScan(full)
		if err != nil {
			return err
		}
		deg := make([]float64, len(chosen))
		for i, c := range chosen {
			deg[i] = scan.ThetaDeg[int(c)]
		}
		n := scan.ImageSize
		panels = append(panels, figures.AnglesPanel(scan.GroundTruth.Slice(0), n, deg, set.designStart, figures.ImageOptions{
			Title: fmt.Sprintf("%s: angles in order (pilot dashed)", drawn), BarLabel: "intensity"}))
	}
	if err := (figures.Figure{Panels: panels, Cols: 2, PanelWidth: 5 * 72, PanelHeight: 4.2 * 72}).SavePNG(r.p("design.png")); err != nil {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(study, "table.md")); err == nil {
		if err := writeFileAtomic(r.p("design.md"), b); err != nil {
			return err
		}
	}
	return r.caption("design", fmt.Sprintf("Simulated adaptive acquisition on random-rectangles phantoms (ctrecon design): left, the DIP's PSNR "+
		"against the number of measured angles for each strategy, mean ± s.e. over images and DIP seeds; right, the angles the "+
		"%q strategy measured on the first image, over its ground truth: each line runs through the centre along that angle's rays, "+
		"the %d equally spaced pilot angles dashed grey, the chosen ones coloured from dark (early) to yellow (late) and numbered in "+
		"order of acquisition. Tables (TV too, paired differences): design.md.", drawn, set.designStart), set, steps)
}

// volumeDIPArgs is the volume's dip command line: warm-started, with the
// preset's TV weight when it sets one.
func volumeDIPArgs(set figuresSettings, scan, out string) []string {
	args := []string{"dip", "-i", scan, "--warm-start"}
	if set.volTV != "" {
		args = append(args, "--tv", set.volTV)
	}
	return append(args, "-o", out)
}

func (r *figRunner) volumeFigure(set figuresSettings) error {
	p := func(f string) string { return r.p("volume", f) }
	steps := []figStep{
		{name: "volume phantom", args: []string{"phantom", "--kind", "ct", "--slices", set.volSlices, "--size", itoa(set.volSize), "-o", p("phantom.h5")}, output: p("phantom.h5")},
		{name: "volume simulate", args: []string{"simulate", "-i", p("phantom.h5"), "--angles", itoa(set.volAngles), "--noise", "0.05", "--oversample", "4", "-o", p("scan.h5")}, output: p("scan.h5")},
		{name: "volume dip", args: withIters(volumeDIPArgs(set, p("scan.h5"), p("dip.h5")), "--iters", set.volDIPIters),
			output: p("dip.h5"), resume: []string{p("dip.h5.ckpt"), p("dip.h5.slices")}},
		{name: "volume uncertainty", args: withIters([]string{"uncertainty", "-i", p("scan.h5"), "--recon", p("dip.h5"), "-o", p("uq.h5")}, "--mll-steps", set.mllSteps),
			output: p("uq.h5"), resume: []string{p("uq.h5.slices")}},
		{name: "volume plot", args: []string{"plot", "-i", p("uq.h5"), "--volume", "-o", r.p("volume.png")}, output: r.p("volume.png")},
	}
	if err := r.run(steps); err != nil {
		return err
	}
	return r.caption("volume", "A head-CT volume reconstructed slice by slice by the DIP (each slice warm-started from the previous one) "+
		"and its linearised-Laplace std: axial, coronal and sagittal planes through the volume's centre (top: DIP, grey, "+
		"μ/(3μ_water); bottom: std, viridis, same units). Axes in pixels and slices; the slice axis is not drawn to scale.", set, steps)
}
