package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/pipeline"
)

type studyOpts struct {
	images    string
	size      int
	angles    string
	noise     float64
	methods   string
	dipIters  int
	dipTV     float64
	mllSteps  int
	priorMean string
	gPrior    bool
	mcSamples int
	out       string
	first     int
	values    string
	merge     string
}

func studyCmd() *cobra.Command {
	var o studyOpts
	cmd := &cobra.Command{
		Use:   "study",
		Short: "Accuracy and calibration tables over many images (FBP, TV, DIP, uncertainty)",
		Long: `Runs methods over a set of images and angle counts and prints markdown tables
of mean ± standard error: PSNR and SSIM of the reconstructions (fbp, tv, dip),
and for the uncertainty methods the per-pixel test log-likelihood on all pixels
and on the object (truth > 0.01, grown by one pixel), ±1σ/±2σ coverage and Spearman(|error|, σ):

  lin       linearised DIP, type-II ML hyperparameters, std with δ
  linmap    linearised DIP, MAP hyperparameters with the TV-PredCP hyperprior
  det       the deterministic baseline N(x̂, δ) (δ from the linearised fit)
  const     a Gaussian with constant σ equal to the true RMSE (an oracle)
  mcdrop    MC-dropout DIP (dropout p = 0.05 after every conv, --mc-samples)
  sgld      DIP-SGLD: Langevin sampling of the network's weights from the DIP's
            own loss as the likelihood (known σ), started at the trained DIP,
            Metropolis-adjusted with a step adapted in burn-in (300 steps),
            --mc-samples outputs kept every 10 steps

--images is a comma-separated list of KIND:COUNT with KIND one of
shepp-logan, ellipses, rectangles (analytic sinograms, seeded), digits (MNIST
test images from index 0), ct (head-CT slices from 40 on), dicom.
Built-in phantoms get exact (analytic, bin-averaged) sinograms; pixel images
(digits, ct, dicom) are projected on a 4× finer grid, each pixel a constant
square, so no method is flattered by sharing the data's discretisation.
"fbp" is the Hann filter; "fbp-best" the best of the four filters and the
cutoffs 0.3–1 for each image, chosen with the ground truth (an oracle, as
"the best FBP").

A long study can be split over processes or machines: --first K starts every
kind at draw K (digit K, …; noise and network seeds follow the draw), and
--values FILE saves every per-image number; --merge FILE,FILE,… then prints
the tables of all of them together, without computing anything. For a single
kind, --first 0 and --first 10 with COUNT 10 merge to exactly the tables of
one run with COUNT 20.`,
		Example: `  ctrecon study --images digits:20 --size 28 --angles 5,10,20,30 --methods fbp,tv,dip
  ctrecon study --images digits:5 --size 28 --angles 20 --methods lin,det,const,mcdrop
  ctrecon study --images shepp-logan:1,rectangles:5 --size 128 --angles 30
  ctrecon study --images digits:10 --first 10 --angles 5 --methods lin,const --values b.json
  ctrecon study --merge a.json,b.json -o table.md`,
		RunE: func(cmd *cobra.Command, args []string) error { return runStudy(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.images, "images", "ellipses:3", "images: KIND:COUNT,...")
	f.IntVar(&o.size, "size", 28, "image size N (real data is resized)")
	f.StringVar(&o.angles, "angles", "20", "angle counts, comma separated")
	f.Float64Var(&o.noise, "noise", 0.05, "relative noise level η")
	f.StringVar(&o.methods, "methods", "fbp,tv,dip", "fbp, tv, dip, lin, det, const, mcdrop")
	f.IntVar(&o.dipIters, "dip-iters", 0, "most DIP iterations (0 = default)")
	f.Float64Var(&o.dipTV, "dip-tv", -1, "DIP TV weight γ for every image (-1 = default by size, angles and noise)")
	f.IntVar(&o.mllSteps, "mll-steps", 1000, "marginal-likelihood steps for lin/det")
	f.StringVar(&o.priorMean, "prior-mean", defaultPriorMean, "lin/linmap: centre of the weight prior, init (the DIP's initial weights) or zero")
	f.BoolVar(&o.gPrior, "g-prior", false, "lin/linmap: the g-prior (weights normalised by ‖(A·J)_{:,i}‖; see uncertainty --help)")
	f.IntVar(&o.mcSamples, "mc-samples", 64, "samples of the MC-dropout and SGLD baselines")
	f.StringVarP(&o.out, "out", "o", "", "also write the tables to this markdown file")
	f.IntVar(&o.first, "first", 0, "start every kind at this draw (digit index, CT slice 40+K, phantom draw K)")
	f.StringVar(&o.values, "values", "", "also save every per-image value to this JSON file (for --merge)")
	f.StringVar(&o.merge, "merge", "", "comma-separated --values files: print their tables together and compute nothing")
	return cmd
}

func runStudy(cmd *cobra.Command, o studyOpts) error {
	if o.merge != "" {
		files := strings.Split(o.merge, ",")
		res, err := pipeline.MergeStudyValues(files)
		if err != nil {
			return err
		}
		return printStudy(cmd, o.out, res.Markdown(fmt.Sprintf("Merged from %s; mean ± s.e. over the images of each kind.\n\n", strings.Join(files, ", "))))
	}
	if err := checkPriorMean(o.priorMean); err != nil {
		return err
	}
	if o.first < 0 {
		return usagef("--first must be ≥ 0")
	}
	if !(o.dipTV >= 0 || o.dipTV == -1) || math.IsInf(o.dipTV, 0) {
		return usagef("--dip-tv %g: want a weight ≥ 0, or -1 for the default", o.dipTV)
	}
	images, err := pipeline.StudyImages(o.images, o.size, g.seed, o.first)
	if err != nil {
		return asUsage(err)
	}
	var angleCounts []int
	for _, a := range strings.Split(o.angles, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(a))
		if err != nil || k < 1 {
			return usagef("--angles %q: want positive numbers", o.angles)
		}
		angleCounts = append(angleCounts, k)
	}
	study := &pipeline.Study{Images: images, Angles: angleCounts, Noise: o.noise, Methods: strings.Split(o.methods, ","),
		DIPIters: o.dipIters, DIPTV: o.dipTV, MLLSteps: o.mllSteps, PriorMean: o.priorMean, GPrior: o.gPrior,
		MCSamples: o.mcSamples, First: o.first, Seed: g.seed, MemAvailable: memAvailable(), Hooks: cliHooks()}
	study.Debugf = debugf
	res, err := study.Run(cmd.Context())
	if err != nil {
		return asUsage(err)
	}
	if o.values != "" {
		if err := res.SaveValues(o.values); err != nil {
			return err
		}
	}
	header := fmt.Sprintf("Images: %s at %d², η = %g, seed %d; mean ± s.e. over the images of each kind; %.0f s in all.\n\n",
		o.images, o.size, o.noise, g.seed, res.Seconds)
	return printStudy(cmd, o.out, res.Markdown(header))
}

// asUsage makes a malformed --images or --methods a usage error.
func asUsage(err error) error {
	var se *pipeline.SpecError
	if errors.As(err, &se) {
		return usageError{err}
	}
	return err
}

// printStudy prints a study's tables and, when out is set, writes them
// there.
func printStudy(cmd *cobra.Command, out, md string) error {
	fmt.Fprint(cmd.OutOrStdout(), md)
	if out != "" {
		return writeFileAtomic(out, []byte(md))
	}
	return nil
}
