package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/evaluation"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/radon"
)

// PlanJob plans the next angles to measure for a scan from its uncertainty
// file: the candidates (Candidates equally spaced in Range, minus the
// measured angles and Exclude), the posterior (the file's samples; or, when
// it has fewer than two or ClosedForm is set, its stored model rebuilt:
// Samples fresh samples or the exact covariance), and design.Select or
// design.SelectDense.
type PlanJob struct {
	Scan      *h5io.Scan
	ScanPath  string
	Recon     *h5io.Recon // the uncertainty file
	ReconPath string

	Criterion  design.Criterion
	Candidates int
	Range      design.Interval   // radians, hi excluded; the zero value: one view period, [0, π) parallel, [0, 2π) fan
	Exclude    []design.Interval // radians
	ROI        []bool            // nil: the whole image
	// How the user gave the range, exclusions and ROI (recorded in the
	// plan file as given).
	RangeSpec, ExcludeSpec, ROISpec string
	Next                            int     // angles to choose (≥ 1)
	AllFree                         bool    // choose up to every free candidate instead of Next (with TargetStd)
	TargetStd                       float64 // > 0: stop once the predicted ROI std is below it
	TopK                            bool    // score once and take the best Next
	ClosedForm                      bool    // plan from the rebuilt exact model's covariance (one slice)
	Samples                         int     // drawn from the stored model when the file has none (≥ 2)
	Seed                            uint64
	// MemAvailable bounds a rebuilt model (bytes; 0: unknown).
	MemAvailable int64

	Hooks
}

// PlanResult is a finished plan: the choice, the candidates it was made
// among, what it was made from, and the plan file's contents (attributes
// for the settings the caller adds).
type PlanResult struct {
	Plan       *design.Plan
	Candidates *design.Candidates
	Range      design.Interval // the candidates' range (radians; PlanJob.Range or its default)
	Geometry   radon.Geometry
	SigmaY     float64 // the fitted noise level used
	Delta      float64 // the image-noise floor in the file's std
	Samples    int     // posterior samples used (with Dense: those the file holds)
	Dense      bool    // chosen from the exact covariance
	Seconds    float64 // the selection's time
	File       *h5io.Plan
}

// Run checks the inputs (files that belong together, a fitted noise level,
// free candidates) and makes the plan. Parallel- and fan-beam scans are
// planned alike; measured views count modulo their period
// (design.ViewPeriod), so in fan beam the view opposite a measured one is
// a candidate.
func (j *PlanJob) Run(ctx context.Context) (*PlanResult, error) {
	scan, rc := j.Scan, j.Recon
	n := scan.ImageSize
	switch {
	case j.Next < 1 && !j.AllFree:
		return nil, fmt.Errorf("%d angles to choose: want at least 1", j.Next)
	case j.Candidates < 1:
		return nil, fmt.Errorf("%d candidates: want at least 1", j.Candidates)
	case j.Samples < 2:
		return nil, fmt.Errorf("%d samples: want at least 2", j.Samples)
	case j.ROI != nil && len(j.ROI) != n*n:
		return nil, fmt.Errorf("an ROI of %d pixels for a %d² image", len(j.ROI), n)
	}
	if rc.Image.N != n || rc.Image.Slices != scan.Slices {
		return nil, fmt.Errorf("%s holds %d slice(s) of %d², but %s has %d slice(s) of %d²: they do not belong together", j.ReconPath, rc.Image.Slices, rc.Image.N, j.ScanPath, scan.Slices, n)
	}
	if grp := rc.Group(dip.ModelGroup); grp != nil {
		if want, ok := grp.AttrString("scan_hash"); ok && want != h5io.ScanHash(scan) {
			return nil, fmt.Errorf("%s was made from another scan than %s (the data or angles differ)", j.ReconPath, j.ScanPath)
		}
	}
	per := scan.Slices * n * n
	k := len(rc.Samples) / per
	sigmaY, ok := rc.AttrFloat("sigma_y")
	if !ok || !(sigmaY > 0) {
		return nil, fmt.Errorf("%s does not record the fitted noise level sigma_y; make it with ctrecon uncertainty", j.ReconPath)
	}
	delta := evaluation.StdDelta(rc)
	stored, haveModel, err := linearised.ReadStored(j.ReconPath, rc)
	if err != nil {
		return nil, err
	}
	rebuild := j.ClosedForm || k < 2
	if rebuild && !haveModel {
		return nil, fmt.Errorf("%s has %d posterior samples and no stored model to draw them from: run ctrecon uncertainty -i %s --recon DIP --samples 256 -o %s", j.ReconPath, k, j.ScanPath, j.ReconPath)
	}
	if j.ClosedForm && scan.Slices != 1 {
		return nil, fmt.Errorf("--closed-form plans one slice; %s has %d", j.ScanPath, scan.Slices)
	}
	geo, err := ScanGeometry(scan)
	if err != nil {
		return nil, err
	}
	period := design.ViewPeriod(geo.Beam)
	rng := j.Range
	if rng == (design.Interval{}) {
		rng = design.Interval{Lo: 0, Hi: period}
	}
	cands, err := design.NewCandidates(j.Candidates, rng, period, geo.Angles, j.Exclude)
	if err != nil {
		return nil, err
	}
	free := cands.NumFree()
	if free == 0 {
		where := j.RangeSpec
		if where == "" {
			where = fmt.Sprintf("%.4g:%.4g", rng.Lo*180/math.Pi, rng.Hi*180/math.Pi)
		}
		return nil, fmt.Errorf("no candidate angle is left: all %d in %s° are measured or excluded", j.Candidates, where)
	}
	want := j.Next
	if j.AllFree {
		want = free
	}
	if want > free {
		return nil, fmt.Errorf("--next %d: only %d candidate angles are free", want, free)
	}
	var slices []design.SliceSamples
	var dense []float64
	if rebuild {
		if slices, dense, err = j.storedPosterior(ctx, stored, geo); err != nil {
			return nil, err
		}
		if dense == nil {
			k = j.Samples
			sigmaY = math.Sqrt(slices[0].NoiseVar)
			for i := range slices {
				slices[i].Delta = delta
			}
		}
	} else {
		slices = make([]design.SliceSamples, scan.Slices)
		for sl := range slices {
			x := make([]float32, k*n*n)
			img := rc.Image.Slice(sl)
			for r := 0; r < k; r++ {
				src := rc.Samples[r*per+sl*n*n : r*per+(sl+1)*n*n]
				for i, v := range src {
					x[r*n*n+i] = v - img[i]
				}
			}
			sy, dl := perSlice(rc, "sigma_y", sl, sigmaY), delta
			if delta != 0 {
				dl = perSlice(rc, "delta", sl, delta)
			}
			slices[sl] = design.SliceSamples{X: x, S: k, NoiseVar: sy * sy, Delta: dl}
		}
	}
	var stop func(float64, float64) bool
	if j.TargetStd > 0 {
		stop = func(_, roiStd float64) bool { return roiStd < j.TargetStd }
	}
	start := time.Now()
	b := j.bar(-1, "plan")
	sel := design.Settings{Criterion: j.Criterion, ROI: j.ROI, TopK: j.TopK}
	var plan *design.Plan
	if dense != nil {
		plan, err = design.SelectDense(ctx, geo, cands, dense, sigmaY*sigmaY, delta, want, sel, stop)
	} else {
		plan, err = design.Select(ctx, geo, cands, slices, want, sel, rand.New(rand.NewPCG(j.Seed, 0x706c616e)), stop)
	}
	b.Finish()
	if err != nil {
		return nil, err
	}
	res := &PlanResult{Plan: plan, Candidates: cands, Range: rng, Geometry: geo, SigmaY: sigmaY, Delta: delta, Samples: k,
		Dense: dense != nil, Seconds: time.Since(start).Seconds()}
	res.File = planFile(res, j)
	return res, nil
}

// planFile is the plan file of DESIGN.md §2: candidates and choices in
// degrees, scores [pick][candidate], predicted stds, and the attributes of
// how the plan was made.
func planFile(r *PlanResult, j *PlanJob) *h5io.Plan {
	deg := func(i int) float64 { return r.Candidates.Angles[i] * 180 / math.Pi }
	selected := make([]float64, len(r.Plan.Chosen))
	scores := make([]float64, 0, len(r.Plan.Chosen)*len(r.Candidates.Angles))
	for i, c := range r.Plan.Chosen {
		selected[i] = deg(c)
		scores = append(scores, r.Plan.Scores[i]...)
	}
	candDeg := make([]float64, len(r.Candidates.Angles))
	for i := range candDeg {
		candDeg[i] = deg(i)
	}
	rangeSpec := j.RangeSpec
	if rangeSpec == "" {
		rangeSpec = fmt.Sprintf("%g:%g", r.Range.Lo*180/math.Pi, r.Range.Hi*180/math.Pi)
	}
	attrs := []h5io.Attr{{Name: "sigma_y", Value: r.SigmaY}, {Name: "samples", Value: r.Samples}, {Name: "joint", Value: b2i(!j.TopK)},
		{Name: "closed_form", Value: b2i(r.Dense)},
		{Name: "roi", Value: j.ROISpec}, {Name: "range", Value: rangeSpec}, {Name: "exclude", Value: j.ExcludeSpec},
		{Name: "delta", Value: r.Delta}, {Name: "scan", Value: absPath(j.ScanPath)}, {Name: "recon", Value: absPath(j.ReconPath)},
		{Name: "seed", Value: int(j.Seed)}, {Name: "seconds", Value: r.Seconds}}
	if j.TargetStd > 0 {
		attrs = append(attrs, h5io.Attr{Name: "target_std", Value: j.TargetStd})
	}
	return &h5io.Plan{Criterion: j.Criterion.String(), Candidates: candDeg, Selected: selected, Scores: scores,
		PredictedMeanStd: r.Plan.MeanStd, PredictedROIStd: r.Plan.ROIStd, Attrs: attrs}
}

// perSlice returns slice k's value of a column of the file's per-slice
// table (/slices; uncertainty writes σ_y and δ there), or def when the file
// has none (a single-slice file, or one made before the table existed: its
// attribute is the last slice's).
func perSlice(rc *h5io.Recon, name string, k int, def float64) float64 {
	if t := rc.Group(h5io.SlicesGroup); t != nil {
		if a := t.Get(name); a != nil && len(a.Data) == rc.Image.Slices && a.Data[k] > 0 {
			return float64(a.Data[k])
		}
	}
	return def
}

// storedPosterior rebuilds the uncertainty file's model slice by slice
// from its DIP and stored hyperparameters: the exact posterior covariance
// (ClosedForm, one slice) or Samples fresh zero-mean samples.
func (j *PlanJob) storedPosterior(ctx context.Context, stored *linearised.Stored, geo radon.Geometry) ([]design.SliceSamples, []float64, error) {
	model, err := dip.ReadModel(j.ReconPath, j.Recon)
	if err != nil {
		return nil, nil, err
	}
	A, err := radon.NewOperator(geo)
	if err != nil {
		return nil, nil, err
	}
	scan := j.Scan
	n := scan.ImageSize
	set := linearised.DefaultDIPSettings(j.MemAvailable)
	if j.ClosedForm {
		set.Regime = linearised.ExactRegime
		if n*n > design.MaxDensePixels {
			return nil, nil, fmt.Errorf("--closed-form: the dense posterior covariance of a %d² image is too large (up to %d pixels)", n, design.MaxDensePixels)
		}
	}
	var out []design.SliceSamples
	for k := 0; k < scan.Slices; k++ {
		t0 := time.Now()
		lm, err := stored.Rebuild(ctx, model, k, j.Recon.Image.Slice(k), A, scan.Sinogram(nil, k), set)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: slice %d: %v", j.ReconPath, k, err)
		}
		if lm.Regime == linearised.ExactRegime {
			if err := j.checkMemory("the exact linearised model", lm.Bytes()); err != nil {
				return nil, nil, err
			}
		}
		rng := rand.New(rand.NewPCG(j.Seed, 0x706c6100+uint64(k)))
		res, err := lm.Run(ctx, rng, nil)
		if err != nil {
			return nil, nil, err
		}
		if j.ClosedForm {
			sigma, err := res.Exact.ImageCovariance(ctx)
			j.logf("rebuilt the exact model of %s in %.2fs", j.ReconPath, time.Since(t0).Seconds())
			return nil, sigma, err
		}
		x := make([]float32, j.Samples*n*n)
		if err := res.DrawSamples(ctx, x, j.Samples, rng); err != nil {
			return nil, nil, err
		}
		out = append(out, design.SliceSamples{X: x, S: j.Samples, NoiseVar: res.NoiseVar()})
		j.logf("slice %d: drew %d samples from the stored %s model in %.2fs", k, j.Samples, lm.Regime, time.Since(t0).Seconds())
	}
	return out, nil, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
