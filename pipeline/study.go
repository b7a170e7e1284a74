package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctrecon/ctrecon/datasets"
	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/evaluation"
	"github.com/ctrecon/ctrecon/internal/atomicfile"
	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

// StudyImage is one image of a study, scanned at every angle count.
type StudyImage struct {
	Name  string // kind#draw
	X     []float32
	N     int
	Exact func(g radon.Geometry) []float32 // analytic sinogram, nil for pixel images
}

// Kind is the image's kind, its name without the draw number.
func (im StudyImage) Kind() string {
	k, _, _ := strings.Cut(im.Name, "#")
	return k
}

// SpecError is a malformed --images specification.
type SpecError struct{ msg string }

func (e *SpecError) Error() string { return e.msg }

// StudyImages reads a KIND:COUNT,... list: count draws of each kind from
// draw first on (built-in phantoms with their analytic sinograms, MNIST
// digits, head-CT slices from 40 on, the DICOM slice), n×n.
func StudyImages(spec string, n int, seed uint64, first int) ([]StudyImage, error) {
	var out []StudyImage
	for _, item := range strings.Split(spec, ",") {
		kind, cs, ok := strings.Cut(strings.TrimSpace(item), ":")
		count := 1
		if ok {
			c, err := strconv.Atoi(cs)
			if err != nil || c < 1 {
				return nil, &SpecError{fmt.Sprintf("--images %q: count must be a positive number", item)}
			}
			count = c
		}
		for k := first; k < first+count; k++ {
			switch kind {
			case "shepp-logan", "ellipses", "rectangles":
				p, err := phantoms.Builtin(kind, seed, k)
				if err != nil {
					return nil, err
				}
				out = append(out, StudyImage{Name: fmt.Sprintf("%s#%d", kind, k), X: p.Image(n, 4), N: n, Exact: p.BinSinogram})
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
				out = append(out, StudyImage{Name: fmt.Sprintf("digit#%d", k), X: x, N: n})
			case "ct":
				path, err := datasets.Locate(datasets.CraniumFile)
				if err != nil {
					return nil, err
				}
				v, err := datasets.CraniumSlices(path, 40+k, 41+k, n)
				if err != nil {
					return nil, err
				}
				out = append(out, StudyImage{Name: fmt.Sprintf("ct#%d", 40+k), X: v.Data, N: n})
			case "dicom":
				path, err := datasets.Locate(datasets.DICOMFile)
				if err != nil {
					return nil, err
				}
				v, err := datasets.DICOMSlice(path, n)
				if err != nil {
					return nil, err
				}
				out = append(out, StudyImage{Name: "CT_small", X: v.Data, N: n})
			default:
				return nil, &SpecError{fmt.Sprintf("--images: unknown kind %q", kind)}
			}
		}
	}
	return out, nil
}

// FBPBestCutoffs are the cutoffs (fractions of Nyquist) the fbp-best oracle
// tries with every window.
var FBPBestCutoffs = []float64{1, 0.8, 0.6, 0.5, 0.4, 0.3}

// StudyMethods are the methods a study knows.
var StudyMethods = []string{"fbp", "tv", "dip", "lin", "linmap", "det", "const", "mcdrop", "sgld"}

// uqMethods are the study methods that give a std map, in table order.
var uqMethods = []string{"lin", "linmap", "det", "const", "mcdrop", "sgld"}

// Study runs methods over images and angle counts (the tables of
// docs/RESULTS.md): reconstructions scored by PSNR and SSIM, uncertainty
// methods by test log-likelihood, coverage and Spearman. Noise and network
// seeds follow each image's draw, so a study split by First merges exactly.
type Study struct {
	Images    []StudyImage
	Angles    []int
	Noise     float64  // relative noise level η
	Methods   []string // of StudyMethods
	DIPIters  int      // 0: the default by size
	DIPTV     float64  // -1: the default by size, angles and noise
	MLLSteps  int
	PriorMean string // "init" or "zero"
	GPrior    bool
	MCSamples int
	First     int // the images' first draw (seeds follow draws)
	Seed      uint64
	// MemAvailable bounds the linearised models (bytes; 0: unknown).
	MemAvailable int64

	Hooks
}

// StudyResults are a study's per-image values by image kind, method and
// angle count.
type StudyResults struct {
	Kinds            []string // in order of appearance, one set of tables each
	Angles           []int
	Methods          []string
	Seconds          float64 // the run's time (0 for merged values)
	psnr, ssim, secs map[studyKey]*stat
	uq               map[studyUQKey]*stat
}

func (r *StudyResults) has(m string) bool { return slices.Contains(r.Methods, m) }

// Run runs the study.
func (sd *Study) Run(ctx context.Context) (*StudyResults, error) {
	for _, m := range sd.Methods {
		if !slices.Contains(StudyMethods, m) {
			return nil, &SpecError{fmt.Sprintf("--methods: unknown %q (want %s)", m, strings.Join(StudyMethods, ", "))}
		}
	}
	has := func(m string) bool { return slices.Contains(sd.Methods, m) }
	if has("sgld") && !(sd.Noise > 0) {
		// Its likelihood needs σ > 0; refuse before the first DIP fit.
		return nil, &SpecError{"--methods sgld needs noisy scans (--noise > 0): its likelihood has the noise level σ in it"}
	}
	wantUQ := slices.ContainsFunc(uqMethods, has)
	psnr, ssim, secs := map[studyKey]*stat{}, map[studyKey]*stat{}, map[studyKey]*stat{}
	uq := map[studyUQKey]*stat{}
	add := func(m map[studyKey]*stat, k studyKey, v float64) {
		if m[k] == nil {
			m[k] = &stat{}
		}
		m[k].add(v)
	}
	var kinds []string // image kinds in order of appearance, one set of tables each
	for _, im := range sd.Images {
		if k := im.Kind(); !slices.Contains(kinds, k) {
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
	start := time.Now()
	b := sd.bar(len(sd.Images)*len(sd.Angles), "study")
	for _, na := range sd.Angles {
		for ii, im := range sd.Images {
			draw := ii + sd.First // seeds follow the draw, so split runs merge exactly
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			n := im.N
			kind = im.Kind()
			geo := radon.NewGeometry(n, radon.EqualAngles(na))
			A, err := radon.NewOperator(geo)
			if err != nil {
				return nil, err
			}
			var y []float32
			if im.Exact != nil {
				y = im.Exact(geo)
			} else if y, err = radon.ProjectOversampled(im.X, geo, 4); err != nil {
				return nil, err
			}
			rng := rand.New(rand.NewPCG(sd.Seed, uint64(1000*na+draw)))
			sigma := radon.AddNoise(y, y, sd.Noise, rng)
			fbp := make([]float32, n*n)
			t0 := time.Now()
			if err := radon.FBP(fbp, y, geo, radon.FBPSettings{Filter: radon.Hann}); err != nil {
				return nil, err
			}
			record := func(m string, img []float32, t time.Duration) {
				k := studyKey{kind, m, na}
				add(psnr, k, metrics.PSNR(img, im.X, 0))
				add(ssim, k, metrics.SSIM(img, im.X, n, 0))
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
				best, bestP := fbp, metrics.PSNR(fbp, im.X, 0)
				for _, f := range []radon.Filter{radon.Ramp, radon.SheppLogan, radon.Cosine, radon.Hann} {
					for _, cut := range FBPBestCutoffs {
						if f == radon.Hann && cut == 1 {
							continue // that is "fbp"
						}
						alt := make([]float32, n*n)
						if err := radon.FBP(alt, y, geo, radon.FBPSettings{Filter: f, Cutoff: cut}); err != nil {
							return nil, err
						}
						if p := metrics.PSNR(alt, im.X, 0); p > bestP {
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
					return nil, err
				}
				record("tv", tv, time.Since(t0))
			}
			if !has("dip") && !wantUQ {
				b.Add(1)
				continue
			}
			arch, _ := dip.Preset(dip.PresetFor(n))
			s := dip.DefaultFitSettings(n, na, sd.Noise)
			if sd.DIPTV >= 0 {
				s.Gamma = sd.DIPTV
			}
			if sd.DIPIters > 0 {
				s.MaxIter = sd.DIPIters
			}
			s.NoiseStd, s.Input, s.Seed = sigma, fbp, sd.Seed+uint64(draw)
			u, err := dip.NewUNet(arch, n)
			if err != nil {
				return nil, err
			}
			t0 = time.Now()
			res, err := dip.Fit(ctx, u, A, y, s, nil)
			if err != nil {
				return nil, err
			}
			if has("dip") {
				record("dip", res.Image, time.Since(t0))
			}
			sd.debugf("%s, %d angles: DIP stopped by %s at %d (best %d), PSNR %.2f", im.Name, na, res.Reason, res.Iter, res.BestIter, metrics.PSNR(res.Image, im.X, 0))
			mask := metrics.ObjectRegion(im.X, n)
			calib := func(method string, mean []float32, variance []float64) error {
				for _, region := range []struct {
					name string
					mask []bool
				}{{"all", nil}, {"object", mask}} {
					c, err := linearised.Calibrate(im.X, mean, variance, region.mask, 10)
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
				r := linearised.RMSE(im.X, res.Image, nil)
				if err := calib("const", res.Image, linearised.ConstantVariance(n*n, r*r)); err != nil {
					return nil, err
				}
			}
			// linFit runs the linearised model with the given hyperparameter
			// fit, records its time and returns the result.
			linFit := func(method string, mll linearised.MLLSettings) (*linearised.Result, error) {
				set := linearised.DefaultDIPSettings(sd.MemAvailable)
				set.MLL = mll
				set.GPrior = sd.GPrior
				if sd.PriorMean == "zero" {
					set.Centre = linearised.CentreZero
				}
				sl := linearised.DIPSlice{Net: u, Params: res.Params, Input: res.State.Input, Seed: s.Seed, HasSeed: true, Image: res.Image}
				t0 := time.Now()
				lm, err := linearised.NewDIPModel(ctx, sl, A, y, set, rand.New(rand.NewPCG(sd.Seed, 0x67707200+uint64(draw))))
				if err != nil {
					return nil, err
				}
				lr, err := lm.Run(ctx, rand.New(rand.NewPCG(sd.Seed, uint64(draw))), nil)
				if err != nil {
					return nil, err
				}
				addUQ(method, "seconds", na, time.Since(t0).Seconds())
				return lr, nil
			}
			if has("lin") || has("det") {
				lr, err := linFit("lin", linearised.MLLSettings{Steps: sd.MLLSteps})
				if err != nil {
					return nil, err
				}
				if has("lin") {
					if err := calib("lin", res.Image, evaluation.Variance(lr.Std)); err != nil {
						return nil, err
					}
				}
				if has("det") {
					if err := calib("det", res.Image, linearised.ConstantVariance(n*n, lr.Delta)); err != nil {
						return nil, err
					}
				}
			}
			if has("linmap") {
				lr, err := linFit("linmap", linearised.MLLSettings{Steps: sd.MLLSteps, PredCP: linearised.PredCPSettings{Gamma: s.Gamma}})
				if err != nil {
					return nil, err
				}
				if err := calib("linmap", res.Image, evaluation.Variance(lr.Std)); err != nil {
					return nil, err
				}
			}
			if has("mcdrop") {
				t0 := time.Now()
				mean, variance, err := dip.MCDropout(ctx, arch, n, A, y, s, sd.MCSamples, sd.Seed+uint64(draw))
				if err != nil {
					return nil, err
				}
				if err := calib("mcdrop", mean, variance); err != nil {
					return nil, err
				}
				record("mcdrop", mean, time.Since(t0))
			}
			if has("sgld") {
				t0 := time.Now()
				ls := dip.LangevinSettings{Samples: sd.MCSamples, Seed: sd.Seed + uint64(draw)}
				mean, variance, lres, err := dip.SGLD(ctx, u, A, y, s, res, ls)
				if err != nil {
					return nil, err
				}
				sd.debugf("%s, %d angles: SGLD step %.3g, acceptance %.2f", im.Name, na, lres.Step, lres.AcceptRate)
				if err := calib("sgld", mean, variance); err != nil {
					return nil, err
				}
				record("sgld", mean, time.Since(t0)) // the chain only: the DIP fit it starts from is "dip"
			}
			b.Add(1)
		}
	}
	b.Finish()
	return &StudyResults{Kinds: kinds, Angles: sd.Angles, Methods: sd.Methods, Seconds: time.Since(start).Seconds(),
		psnr: psnr, ssim: ssim, secs: secs, uq: uq}, nil
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
	m, se := metrics.MeanSE(s.v)
	if len(s.v) == 1 {
		return fmt.Sprintf("%.3g", m)
	}
	return fmt.Sprintf("%.3g ± %.2g", m, se)
}

// Markdown is the study's tables after header: per image kind, PSNR, SSIM
// and seconds of the reconstructions, and the uncertainty methods' test LL
// (all pixels, object), coverage, Spearman and seconds; mean ± s.e.
func (r *StudyResults) Markdown(header string) string {
	kinds, angleCounts, psnr, ssim, secs, uq := r.Kinds, r.Angles, r.psnr, r.ssim, r.secs, r.uq
	has := r.has
	wantUQ := slices.ContainsFunc(uqMethods, has)
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
		for _, m := range []string{"fbp", "fbp-best", "tv", "dip", "mcdrop", "sgld"} {
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
			for _, m := range uqMethods {
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
	return md.String()
}

// StudyRecord is one list of per-image values in a --values file.
type StudyRecord struct {
	Kind   string    `json:"kind"`
	Method string    `json:"method"`
	Metric string    `json:"metric"`
	Angles int       `json:"angles"`
	Values []float64 `json:"values"`
}

// SaveValues writes every per-image value to path (JSON), for MergeStudyValues.
func (r *StudyResults) SaveValues(path string) error {
	psnr, ssim, secs, uq := r.psnr, r.ssim, r.secs, r.uq
	var recs []StudyRecord
	for metric, m := range map[string]map[studyKey]*stat{"psnr": psnr, "ssim": ssim, "seconds-rec": secs} {
		for k, st := range m {
			recs = append(recs, StudyRecord{k.kind, k.method, metric, k.angles, st.v})
		}
	}
	for k, st := range uq {
		recs = append(recs, StudyRecord{k.kind, k.method, k.metric, k.angles, st.v})
	}
	slices.SortFunc(recs, func(a, b StudyRecord) int {
		return strings.Compare(fmt.Sprintf("%s/%s/%s/%06d", a.Kind, a.Method, a.Metric, a.Angles),
			fmt.Sprintf("%s/%s/%s/%06d", b.Kind, b.Method, b.Metric, b.Angles))
	})
	data, err := json.MarshalIndent(recs, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, data)
}

// ReadStudyValues reads a study --values file.
func ReadStudyValues(path string) ([]StudyRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var recs []StudyRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("%s: not a study --values file: %v", path, err)
	}
	return recs, nil
}

// MergeStudyValues joins the values files of several studies (parts of
// one run over other images, or other angle counts) into one result.
func MergeStudyValues(files []string) (*StudyResults, error) {
	psnr, ssim, secs := map[studyKey]*stat{}, map[studyKey]*stat{}, map[studyKey]*stat{}
	uq := map[studyUQKey]*stat{}
	recMaps := map[string]map[studyKey]*stat{"psnr": psnr, "ssim": ssim, "seconds-rec": secs}
	var kinds, methods []string
	var angleCounts []int
	for _, f := range files {
		recs, err := ReadStudyValues(f)
		if err != nil {
			return nil, err
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
		return nil, fmt.Errorf("--merge: no values in %s", strings.Join(files, ","))
	}
	slices.Sort(angleCounts)
	return &StudyResults{Kinds: kinds, Angles: angleCounts, Methods: methods, psnr: psnr, ssim: ssim, secs: secs, uq: uq}, nil
}
