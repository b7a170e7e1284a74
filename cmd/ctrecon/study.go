package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/datasets"
	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/evaluation"
	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/radon"
)

// A study case is one image scanned at one angle count.
type studyImage struct {
	name  string
	x     []float32
	n     int
	exact func(g radon.Geometry) []float32 // analytic sinogram, nil for pixel images
}

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

// fbpBestCutoffs are the cutoffs (fractions of Nyquist) the fbp-best oracle
// tries with every window.
var fbpBestCutoffs = []float64{1, 0.8, 0.6, 0.5, 0.4, 0.3}

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
	f.IntVar(&o.mcSamples, "mc-samples", 64, "MC-dropout samples")
	f.StringVarP(&o.out, "out", "o", "", "also write the tables to this markdown file")
	f.IntVar(&o.first, "first", 0, "start every kind at this draw (digit index, CT slice 40+K, phantom draw K)")
	f.StringVar(&o.values, "values", "", "also save every per-image value to this JSON file (for --merge)")
	f.StringVar(&o.merge, "merge", "", "comma-separated --values files: print their tables together and compute nothing")
	return cmd
}

func studyImages(spec string, n int, seed uint64, first int) ([]studyImage, error) {
	var out []studyImage
	for _, item := range strings.Split(spec, ",") {
		kind, cs, ok := strings.Cut(strings.TrimSpace(item), ":")
		count := 1
		if ok {
			c, err := strconv.Atoi(cs)
			if err != nil || c < 1 {
				return nil, usagef("--images %q: count must be a positive number", item)
			}
			count = c
		}
		for k := first; k < first+count; k++ {
			switch kind {
			case "shepp-logan", "ellipses", "rectangles":
				p, err := builtinPhantom(kind, seed, k)
				if err != nil {
					return nil, err
				}
				out = append(out, studyImage{name: fmt.Sprintf("%s#%d", kind, k), x: p.Image(n, 4), n: n, exact: p.BinSinogram})
			case "digits":
				path, err := datasets.Locate(datasets.MNISTTestImages)
				if err != nil {
					return nil, err
				}
				img, _, err := datasets.MNISTImage(path, k)
				if err != nil {
					return nil, err
				}
				x := img
				if n != 28 {
					x = make([]float32, n*n)
					datasets.Resize(x, img, 28, n)
				}
				out = append(out, studyImage{name: fmt.Sprintf("digit#%d", k), x: x, n: n})
			case "ct":
				path, err := datasets.Locate(datasets.CraniumFile)
				if err != nil {
					return nil, err
				}
				v, err := datasets.CraniumSlices(path, 40+k, 41+k, n)
				if err != nil {
					return nil, err
				}
				out = append(out, studyImage{name: fmt.Sprintf("ct#%d", 40+k), x: v.Data, n: n})
			case "dicom":
				path, err := datasets.Locate(datasets.DICOMFile)
				if err != nil {
					return nil, err
				}
				v, err := datasets.DICOMSlice(path, n)
				if err != nil {
					return nil, err
				}
				out = append(out, studyImage{name: "CT_small", x: v.Data, n: n})
			default:
				return nil, usagef("--images: unknown kind %q", kind)
			}
		}
	}
	return out, nil
}

// kind is the image's kind, its name without the draw number.
func (im studyImage) kind() string {
	k, _, _ := strings.Cut(im.name, "#")
	return k
}

type studyKey struct {
	kind, method string
	angles       int
}

type studyUQKey struct {
	kind, method, metric string
	angles               int
}

// stat accumulates mean ± standard error.
type stat struct{ v []float64 }

func (s *stat) add(x float64) { s.v = append(s.v, x) }
func (s stat) String() string {
	if len(s.v) == 0 {
		return "–"
	}
	var m float64
	for _, x := range s.v {
		m += x
	}
	m /= float64(len(s.v))
	if len(s.v) == 1 {
		return fmt.Sprintf("%.3g", m)
	}
	var ss float64
	for _, x := range s.v {
		ss += (x - m) * (x - m)
	}
	se := math.Sqrt(ss/float64(len(s.v)-1)) / math.Sqrt(float64(len(s.v)))
	return fmt.Sprintf("%.3g ± %.2g", m, se)
}

func runStudy(cmd *cobra.Command, o studyOpts) error {
	if o.merge != "" {
		return mergeStudy(cmd, o)
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
	images, err := studyImages(o.images, o.size, g.seed, o.first)
	if err != nil {
		return err
	}
	var angleCounts []int
	for _, a := range strings.Split(o.angles, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(a))
		if err != nil || k < 1 {
			return usagef("--angles %q: want positive numbers", o.angles)
		}
		angleCounts = append(angleCounts, k)
	}
	methods := strings.Split(o.methods, ",")
	known := []string{"fbp", "tv", "dip", "lin", "linmap", "det", "const", "mcdrop"}
	for _, m := range methods {
		if !slices.Contains(known, m) {
			return usagef("--methods: unknown %q (want %s)", m, strings.Join(known, ", "))
		}
	}
	has := func(m string) bool { return slices.Contains(methods, m) }
	wantUQ := has("lin") || has("linmap") || has("det") || has("const") || has("mcdrop")
	psnr, ssim, secs := map[studyKey]*stat{}, map[studyKey]*stat{}, map[studyKey]*stat{}
	uq := map[studyUQKey]*stat{}
	add := func(m map[studyKey]*stat, k studyKey, v float64) {
		if m[k] == nil {
			m[k] = &stat{}
		}
		m[k].add(v)
	}
	var kinds []string // image kinds in order of appearance, one set of tables each
	for _, im := range images {
		if k := im.kind(); !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	var kind string // of the image being processed
	addUQ := func(method, metric string, a int, v float64) {
		k := studyUQKey{kind, method, metric, a}
		if uq[k] == nil {
			uq[k] = &stat{}
		}
		uq[k].add(v)
	}
	ctx := cmd.Context()
	start := time.Now()
	b := newBar(len(images)*len(angleCounts), "study")
	for _, na := range angleCounts {
		for ii, im := range images {
			draw := ii + o.first // seeds follow the draw, so split runs merge exactly
			if err := ctx.Err(); err != nil {
				return err
			}
			n := im.n
			kind = im.kind()
			geo := radon.NewGeometry(n, radon.EqualAngles(na))
			A, err := radon.NewOperator(geo)
			if err != nil {
				return err
			}
			var y []float32
			if im.exact != nil {
				y = im.exact(geo)
			} else if y, err = radon.ProjectOversampled(im.x, geo, 4); err != nil {
				return err
			}
			rng := rand.New(rand.NewPCG(g.seed, uint64(1000*na+draw)))
			sigma := radon.AddNoise(y, y, o.noise, rng)
			fbp := make([]float32, n*n)
			t0 := time.Now()
			if err := radon.FBP(fbp, y, geo, radon.FBPSettings{Filter: radon.Hann}); err != nil {
				return err
			}
			record := func(m string, img []float32, t time.Duration) {
				k := studyKey{kind, m, na}
				add(psnr, k, metrics.PSNR(img, im.x, 0))
				add(ssim, k, metrics.SSIM(img, im.x, n, 0))
				if t > 0 { // the oracle fbp-best has no time of its own
					add(secs, k, t.Seconds())
				}
			}
			if has("fbp") {
				record("fbp", fbp, time.Since(t0))
				// The oracle searches the cutoff too: with noise and few
				// angles the best FBP is a window cut well below Nyquist
				// (docs/RESULTS.md, FBP quality: Hann at 0.4 beats every
				// window at cutoff 1 by 6 dB on a 30-angle real slice).
				best, bestP := fbp, metrics.PSNR(fbp, im.x, 0)
				for _, f := range []radon.Filter{radon.Ramp, radon.SheppLogan, radon.Cosine, radon.Hann} {
					for _, cut := range fbpBestCutoffs {
						if f == radon.Hann && cut == 1 {
							continue // that is "fbp"
						}
						alt := make([]float32, n*n)
						if err := radon.FBP(alt, y, geo, radon.FBPSettings{Filter: f, Cutoff: cut}); err != nil {
							return err
						}
						if p := metrics.PSNR(alt, im.x, 0); p > bestP {
							best, bestP = alt, p
						}
					}
				}
				record("fbp-best", best, 0)
			}
			if has("tv") {
				tv := make([]float32, n*n)
				t0 = time.Now()
				if err := radon.TV(tv, y, geo, radon.TVSettings{Lambda: radon.TVLambdaForNoise(geo, sigma)}, nil); err != nil {
					return err
				}
				record("tv", tv, time.Since(t0))
			}
			if !has("dip") && !wantUQ {
				b.Add(1)
				continue
			}
			arch, _ := dip.Preset(autoPreset(n))
			s := dip.DefaultFitSettings(n, na, o.noise)
			if o.dipTV >= 0 {
				s.Gamma = o.dipTV
			}
			if o.dipIters > 0 {
				s.MaxIter = o.dipIters
			}
			s.NoiseStd, s.Input, s.Seed = sigma, fbp, g.seed+uint64(draw)
			u, err := dip.NewUNet(arch, n)
			if err != nil {
				return err
			}
			t0 = time.Now()
			res, err := dip.Fit(ctx, u, A, y, s, nil)
			if err != nil {
				return err
			}
			if has("dip") {
				record("dip", res.Image, time.Since(t0))
			}
			debugf("%s, %d angles: DIP stopped by %s at %d (best %d), PSNR %.2f", im.name, na, res.Reason, res.Iter, res.BestIter, metrics.PSNR(res.Image, im.x, 0))
			mask := metrics.ObjectRegion(im.x, n)
			calib := func(method string, mean []float32, variance []float64) error {
				for _, region := range []struct {
					name string
					mask []bool
				}{{"all", nil}, {"object", mask}} {
					c, err := linearised.Calibrate(im.x, mean, variance, region.mask, 10)
					if err != nil {
						return err
					}
					addUQ(method, "ll-"+region.name, na, c.LogLik)
					if region.name == "all" {
						addUQ(method, "cover1", na, c.Cover1)
						addUQ(method, "cover2", na, c.Cover2)
						if method != "det" && method != "const" { // a constant σ has no rank order
							addUQ(method, "spearman", na, c.Spearman)
						}
					}
				}
				return nil
			}
			if has("const") {
				r := linearised.RMSE(im.x, res.Image, nil)
				if err := calib("const", res.Image, linearised.ConstantVariance(n*n, r*r)); err != nil {
					return err
				}
			}
			// linFit runs the linearised model with the given hyperparameter
			// fit, records its time and returns the result.
			linFit := func(method string, mll linearised.MLLSettings) (*linearised.Result, error) {
				set := linearised.DefaultDIPSettings(memAvailable())
				set.MLL = mll
				set.GPrior = o.gPrior
				if o.priorMean == "zero" {
					set.Centre = linearised.CentreZero
				}
				sl := linearised.DIPSlice{Net: u, Params: res.Params, Input: res.State.Input, Seed: s.Seed, HasSeed: true, Image: res.Image}
				t0 := time.Now()
				lm, err := linearised.NewDIPModel(ctx, sl, A, y, set, rand.New(rand.NewPCG(g.seed, 0x67707200+uint64(draw))))
				if err != nil {
					return nil, err
				}
				lr, err := lm.Run(ctx, rand.New(rand.NewPCG(g.seed, uint64(draw))), nil)
				if err != nil {
					return nil, err
				}
				addUQ(method, "seconds", na, time.Since(t0).Seconds())
				return lr, nil
			}
			if has("lin") || has("det") {
				lr, err := linFit("lin", linearised.MLLSettings{Steps: o.mllSteps})
				if err != nil {
					return err
				}
				if has("lin") {
					if err := calib("lin", res.Image, evaluation.Variance(lr.Std)); err != nil {
						return err
					}
				}
				if has("det") {
					if err := calib("det", res.Image, linearised.ConstantVariance(n*n, lr.Delta)); err != nil {
						return err
					}
				}
			}
			if has("linmap") {
				lr, err := linFit("linmap", linearised.MLLSettings{Steps: o.mllSteps, PredCP: linearised.PredCPSettings{Gamma: s.Gamma}})
				if err != nil {
					return err
				}
				if err := calib("linmap", res.Image, evaluation.Variance(lr.Std)); err != nil {
					return err
				}
			}
			if has("mcdrop") {
				mean, variance, err := mcDropout(ctx, arch, n, A, y, s, o.mcSamples, g.seed+uint64(draw))
				if err != nil {
					return err
				}
				if err := calib("mcdrop", mean, variance); err != nil {
					return err
				}
				add(psnr, studyKey{kind, "mcdrop", na}, metrics.PSNR(mean, im.x, 0))
				add(ssim, studyKey{kind, "mcdrop", na}, metrics.SSIM(mean, im.x, n, 0))
			}
			b.Add(1)
		}
	}
	b.Finish()
	if o.values != "" {
		if err := saveStudyValues(o.values, psnr, ssim, secs, uq); err != nil {
			return err
		}
	}
	header := fmt.Sprintf("Images: %s at %d², η = %g, seed %d; mean ± s.e. over the images of each kind; %.0f s in all.\n\n",
		o.images, o.size, o.noise, g.seed, time.Since(start).Seconds())
	return printStudy(cmd, o.out, header, kinds, angleCounts, has, psnr, ssim, secs, uq)
}

// printStudy writes the markdown tables of a study (to stdout and, when
// out is set, to that file).
func printStudy(cmd *cobra.Command, out, header string, kinds []string, angleCounts []int, has func(string) bool,
	psnr, ssim, secs map[studyKey]*stat, uq map[studyUQKey]*stat) error {
	wantUQ := has("lin") || has("linmap") || has("det") || has("const") || has("mcdrop")
	var md strings.Builder
	md.WriteString(header)
	writeTable := func(w io.Writer, title string, rows []string, cell func(row string, a int) string) {
		fmt.Fprintf(w, "%s\n\n| method |", title)
		for _, a := range angleCounts {
			fmt.Fprintf(w, " %d angles |", a)
		}
		fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", len(angleCounts)))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |", r)
			for _, a := range angleCounts {
				fmt.Fprintf(w, " %s |", cell(r, a))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	for _, kind := range kinds {
		// Images per angle count (merged runs may differ).
		counts := make([]int, len(angleCounts))
		for ai, a := range angleCounts {
			for k, st := range psnr {
				if k.kind == kind && k.angles == a {
					counts[ai] = max(counts[ai], len(st.v))
				}
			}
			for k, st := range uq {
				if k.kind == kind && k.angles == a {
					counts[ai] = max(counts[ai], len(st.v))
				}
			}
		}
		if slices.Min(counts) == slices.Max(counts) {
			fmt.Fprintf(&md, "### %s (%d image(s))\n\n", kind, counts[0])
		} else {
			fmt.Fprintf(&md, "### %s (images:", kind)
			for ai, a := range angleCounts {
				sep := ","
				if ai == 0 {
					sep = ""
				}
				fmt.Fprintf(&md, "%s %d at %d angles", sep, counts[ai], a)
			}
			fmt.Fprintf(&md, ")\n\n")
		}
		var recRows []string
		for _, m := range []string{"fbp", "fbp-best", "tv", "dip", "mcdrop"} {
			if psnr[studyKey{kind, m, angleCounts[0]}] != nil {
				recRows = append(recRows, m)
			}
		}
		if len(recRows) > 0 {
			get := func(m map[studyKey]*stat) func(string, int) string {
				return func(r string, a int) string {
					if s := m[studyKey{kind, r, a}]; s != nil {
						return s.String()
					}
					return "–"
				}
			}
			writeTable(&md, "PSNR (dB, range of the truth)", recRows, get(psnr))
			writeTable(&md, "SSIM", recRows, get(ssim))
			writeTable(&md, "Seconds per reconstruction", recRows, get(secs))
		}
		if wantUQ {
			var rows []string
			for _, m := range []string{"lin", "linmap", "det", "const", "mcdrop"} {
				if has(m) {
					rows = append(rows, m)
				}
			}
			for _, metric := range []struct{ key, title string }{
				{"ll-all", "Test log-likelihood per pixel, all pixels (higher is better)"},
				{"ll-object", "Test log-likelihood per pixel, object (truth > 0.01, grown by one pixel)"},
				{"cover1", "Fraction of pixels within ±1σ (0.683 if calibrated)"},
				{"cover2", "Fraction within ±2σ (0.954 if calibrated)"},
				{"spearman", "Spearman(|error|, σ)"},
			} {
				writeTable(&md, metric.title, rows, func(r string, a int) string {
					if s := uq[studyUQKey{kind, r, metric.key, a}]; s != nil {
						return s.String()
					}
					return "–"
				})
			}
			var timed []string
			for _, m := range []string{"lin", "linmap"} {
				if uq[studyUQKey{kind, m, "seconds", angleCounts[0]}] != nil {
					timed = append(timed, m)
				}
			}
			if len(timed) > 0 {
				writeTable(&md, "Seconds for the linearised model (hyperparameter fit + variances)", timed, func(r string, a int) string {
					if s := uq[studyUQKey{kind, r, "seconds", a}]; s != nil {
						return s.String()
					}
					return "–" // merged runs need not time every angle count
				})
			}
		}
	}
	fmt.Fprint(cmd.OutOrStdout(), md.String())
	if out != "" {
		return writeFileAtomic(out, []byte(md.String()))
	}
	return nil
}

// studyRecord is one list of per-image values in a --values file.
type studyRecord struct {
	Kind   string    `json:"kind"`
	Method string    `json:"method"`
	Metric string    `json:"metric"`
	Angles int       `json:"angles"`
	Values []float64 `json:"values"`
}

func saveStudyValues(path string, psnr, ssim, secs map[studyKey]*stat, uq map[studyUQKey]*stat) error {
	var recs []studyRecord
	for metric, m := range map[string]map[studyKey]*stat{"psnr": psnr, "ssim": ssim, "seconds-rec": secs} {
		for k, st := range m {
			recs = append(recs, studyRecord{k.kind, k.method, metric, k.angles, st.v})
		}
	}
	for k, st := range uq {
		recs = append(recs, studyRecord{k.kind, k.method, k.metric, k.angles, st.v})
	}
	slices.SortFunc(recs, func(a, b studyRecord) int {
		return strings.Compare(fmt.Sprintf("%s/%s/%s/%06d", a.Kind, a.Method, a.Metric, a.Angles),
			fmt.Sprintf("%s/%s/%s/%06d", b.Kind, b.Method, b.Metric, b.Angles))
	})
	data, err := json.MarshalIndent(recs, "", " ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// mergeStudy prints the tables of several --values files together.
// readStudyValues reads a study --values file.
func readStudyValues(path string) ([]studyRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var recs []studyRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("%s: not a study --values file: %v", path, err)
	}
	return recs, nil
}

func mergeStudy(cmd *cobra.Command, o studyOpts) error {
	psnr, ssim, secs := map[studyKey]*stat{}, map[studyKey]*stat{}, map[studyKey]*stat{}
	uq := map[studyUQKey]*stat{}
	recMaps := map[string]map[studyKey]*stat{"psnr": psnr, "ssim": ssim, "seconds-rec": secs}
	var kinds, methods []string
	var angleCounts []int
	files := strings.Split(o.merge, ",")
	for _, f := range files {
		recs, err := readStudyValues(f)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Metric == "spearman" && (r.Method == "det" || r.Method == "const") {
				continue // written by older versions; undefined for a constant σ
			}
			if !slices.Contains(kinds, r.Kind) {
				kinds = append(kinds, r.Kind)
			}
			if !slices.Contains(methods, r.Method) {
				methods = append(methods, r.Method)
			}
			if !slices.Contains(angleCounts, r.Angles) {
				angleCounts = append(angleCounts, r.Angles)
			}
			var st *stat
			if m, ok := recMaps[r.Metric]; ok {
				k := studyKey{r.Kind, r.Method, r.Angles}
				if m[k] == nil {
					m[k] = &stat{}
				}
				st = m[k]
			} else {
				k := studyUQKey{r.Kind, r.Method, r.Metric, r.Angles}
				if uq[k] == nil {
					uq[k] = &stat{}
				}
				st = uq[k]
			}
			st.v = append(st.v, r.Values...)
		}
	}
	if len(angleCounts) == 0 {
		return fmt.Errorf("--merge: no values in %s", o.merge)
	}
	slices.Sort(angleCounts)
	has := func(m string) bool { return slices.Contains(methods, m) }
	header := fmt.Sprintf("Merged from %s; mean ± s.e. over the images of each kind.\n\n", strings.Join(files, ", "))
	return printStudy(cmd, o.out, header, kinds, angleCounts, has, psnr, ssim, secs, uq)
}

// mcDropout fits a DIP with channel dropout (p = 0.05 after every conv) and
// returns the mean and variance of k stochastic forward passes.
func mcDropout(ctx context.Context, arch dip.Arch, n int, A linop.Operator, y []float32, s dip.FitSettings, k int, seed uint64) ([]float32, []float64, error) {
	arch.DropoutP = 0.05
	u, err := dip.NewUNet(arch, n)
	if err != nil {
		return nil, nil, err
	}
	u.SetDropout(rand.New(rand.NewPCG(seed, 0x64726f70)))
	res, err := dip.Fit(ctx, u, A, y, s, nil)
	if err != nil {
		return nil, nil, err
	}
	out := make([]float32, n*n)
	sum := make([]float64, n*n)
	sq := make([]float64, n*n)
	for r := 0; r < k; r++ {
		u.Forward(out, res.Params, res.State.Input)
		for i, v := range out {
			sum[i] += float64(v)
			sq[i] += float64(v) * float64(v)
		}
	}
	mean := make([]float32, n*n)
	variance := make([]float64, n*n)
	for i := range sum {
		m := sum[i] / float64(k)
		mean[i] = float32(m)
		variance[i] = math.Max(sq[i]/float64(k)-m*m, 1e-12)
	}
	return mean, variance, nil
}
