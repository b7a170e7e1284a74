package pipeline

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/evaluation"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/radon"
	"github.com/ctrecon/ctrecon/volume"
)

// UQOptions are the settings of a linearised-uncertainty run, as the
// uncertainty command's flags give them (the names are the flags').
type UQOptions struct {
	Regime       string // "auto", "exact" or "matrix-free"
	Fit          string // "auto", "mll" or "em"
	Steps        int    // Adam steps of the exact regime's marginal-likelihood fit
	Samples      int    // posterior samples stored per slice
	NoDelta      bool   // leave δ out of the std
	NoFit        bool   // keep the initial hyperparameters
	FixNoise     bool   // σ_y fixed to the scan's noise_std
	PredCP       bool   // MAP with the TV-PredCP hyperprior
	Rank         int    // Nyström preconditioner rank (matrix-free with SampleCG or PredCP)
	MaxRank      int    // largest subspace (0: as memory allows)
	SampleCG     bool   // fit and sample the full model with CG
	PriorMean    string // "init" (the DIP's initial weights) or "zero"
	RequireSeed  bool   // PriorMean was asked for explicitly: a DIP file without its seed is an error
	GPrior       bool
	GPriorProbes int
	Seed         uint64
}

// Settings is the run's settings string (merge checks it; resume adds the
// data's hashes): the format earlier files carry.
func (o UQOptions) Settings() string {
	return fmt.Sprintf("regime=%s fit=%s steps=%d samples=%d delta=%v nofit=%v fixnoise=%v predcp=%v rank=%d maxrank=%d samplecg=%v prior=%s gprior=%v/%d seed=%d",
		o.Regime, o.Fit, o.Steps, o.Samples, !o.NoDelta, o.NoFit, o.FixNoise, o.PredCP, o.Rank, o.MaxRank, o.SampleCG, o.PriorMean, o.GPrior, o.GPriorProbes, o.Seed)
}

// ParseRegime reads a regime name (auto, exact, matrix-free).
func ParseRegime(s string) (linearised.Regime, error) {
	switch s {
	case "auto":
		return linearised.Auto, nil
	case "exact":
		return linearised.ExactRegime, nil
	case "matrix-free":
		return linearised.MatrixFreeRegime, nil
	}
	return linearised.Auto, fmt.Errorf("regime %q: want auto, exact or matrix-free", s)
}

// Check refuses options that do not name a regime, fit or prior centre,
// or whose counts are out of range; the messages name the uncertainty
// command's flags.
func (o UQOptions) Check() error {
	if _, err := ParseRegime(o.Regime); err != nil {
		return fmt.Errorf("--%v", err)
	}
	switch {
	case o.Fit != "auto" && o.Fit != "mll" && o.Fit != "em":
		return fmt.Errorf("--fit %q: want auto, mll or em", o.Fit)
	case o.PriorMean != "init" && o.PriorMean != "zero":
		return fmt.Errorf("--prior-mean %q: want init or zero", o.PriorMean)
	case o.GPriorProbes < 1:
		return fmt.Errorf("--g-prior-probes %d: want at least 1", o.GPriorProbes)
	case o.Steps < 1 || o.Samples < 0 || o.Rank < 1 || o.MaxRank < 0:
		return fmt.Errorf("--mll-steps %d, --samples %d, --rank %d, --max-rank %d: want --mll-steps and --rank ≥ 1, --samples and --max-rank ≥ 0", o.Steps, o.Samples, o.Rank, o.MaxRank)
	}
	return nil
}

// dipSettings maps the options onto linearised.DefaultDIPSettings for a
// machine with memAvailable bytes free (0: unknown).
func (o UQOptions) dipSettings(scan *h5io.Scan, model *dip.Model, memAvailable int64) (linearised.DIPSettings, error) {
	set := linearised.DefaultDIPSettings(memAvailable)
	regime, err := ParseRegime(o.Regime)
	if err != nil {
		return set, err
	}
	set.Regime, set.MLL.Steps, set.MLL.FixNoise, set.EM.FixNoise = regime, o.Steps, o.FixNoise, o.FixNoise
	set.Method = map[string]linearised.FitMethod{"auto": linearised.FitAuto, "mll": linearised.FitMLL, "em": linearised.FitEM}[o.Fit]
	set.MatrixFree.SampleCG = o.SampleCG
	set.MatrixFree.CG.PrecondRank = o.Rank
	set.MatrixFree.Subspace.MaxRank = o.MaxRank
	set.SkipFit, set.Samples, set.KeepSamples, set.NoDelta = o.NoFit, o.Samples, o.Samples > 0, o.NoDelta
	set.GPrior, set.GPriorProbes = o.GPrior, o.GPriorProbes
	set.RequireSeed = o.RequireSeed
	if o.PriorMean == "zero" {
		set.Centre = linearised.CentreZero
	}
	if o.FixNoise {
		if !(scan.NoiseStd > 0) {
			return set, fmt.Errorf("--fix-noise: the scan has no noise_std")
		}
		set.NoiseStd = scan.NoiseStd
	}
	if o.PredCP {
		gamma, ok := model.Attr("gamma")
		if !ok || !(gamma > 0) {
			return set, fmt.Errorf("--predcp: the DIP file has no positive TV weight (gamma) to set the hyperprior's strength")
		}
		set.MLL.PredCP = linearised.PredCPSettings{Gamma: gamma}
	}
	return set, nil
}

// UQVolume linearises the trained DIP of each slice of Range (by default
// every slice the DIP file holds) and writes Out: the DIP image, the
// posterior std (/recon/std), samples, the fitted model (/linearised) and
// the per-slice table (/slices) beside the DIP's. Finished slices are kept
// in Out.slices/, so an interrupted run resumed with Resume loses only the
// slice in flight.
type UQVolume struct {
	Scan      *h5io.Scan
	Recon     *h5io.Recon // the DIP file (or an earlier uncertainty file of it)
	ReconPath string      // for messages
	Model     *dip.Model  // the DIP file's trained networks
	Out       string
	Range     volume.Range // zero: every slice of the DIP file
	Options   UQOptions
	// MemAvailable bounds the subspace and the exact regime (bytes; 0:
	// unknown).
	MemAvailable int64
	// Threads and Backend enter the resume fingerprint (see DIPVolume).
	Threads int
	Backend string
	Resume  bool

	Hooks
}

// DIPRange is the slice range a DIP file holds, checked against its scan:
// the same data and angles (scan_hash), image size and slice count.
func DIPRange(scan *h5io.Scan, rc *h5io.Recon, model *dip.Model, reconPath string) (volume.Range, error) {
	if want, ok := rc.Group(dip.ModelGroup).AttrString("scan_hash"); ok && want != h5io.ScanHash(scan) {
		return volume.Range{}, fmt.Errorf("%s was fitted to another scan (the data or angles differ); run ctrecon dip on this scan first", reconPath)
	}
	start, total := rc.SliceRange()
	if model.N != scan.ImageSize || total != scan.Slices {
		return volume.Range{}, fmt.Errorf("%s holds %d slice(s) of %d² from a %d-slice scan, but the scan has %d slice(s) of %d²", reconPath, model.Slices, model.N, total, scan.Slices, scan.ImageSize)
	}
	return volume.Range{Lo: start, Hi: start + model.Slices}, nil
}

// ReconHash identifies a DIP reconstruction's content (image and trained
// parameters), so that finished slices of an interrupted run are not reused
// for another DIP file.
func ReconHash(rc *h5io.Recon) string {
	h := fnv.New64a()
	var b [4]byte
	put := func(v []float32) {
		for _, x := range v {
			u := math.Float32bits(x)
			b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
			h.Write(b[:])
		}
	}
	put(rc.Image.Data)
	if g := rc.Group(dip.ModelGroup); g != nil {
		for _, a := range g.Arrays {
			put(a.Data)
		}
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// Run linearises the slices and writes Out; bad options, a DIP file from
// another scan, a range outside it, or a job that does not fit in memory
// are refused before anything is written.
func (v *UQVolume) Run(ctx context.Context) error {
	o := v.Options
	if err := o.Check(); err != nil {
		return err
	}
	scan := v.Scan
	dipRange, err := DIPRange(scan, v.Recon, v.Model, v.ReconPath)
	if err != nil {
		return err
	}
	rng := v.Range
	if rng == (volume.Range{}) {
		rng = dipRange
	}
	if rng.Lo < dipRange.Lo || rng.Hi > dipRange.Hi || rng.Len() < 1 {
		return fmt.Errorf("slices %s: %s holds slices %s only", rng, v.ReconPath, dipRange)
	}
	set, err := o.dipSettings(scan, v.Model, v.MemAvailable)
	if err != nil {
		return err
	}
	geo, err := ScanGeometry(scan)
	if err != nil {
		return err
	}
	A, err := radon.NewOperator(geo)
	if err != nil {
		return err
	}
	n := scan.ImageSize
	settings := o.Settings()
	fp := fmt.Sprintf("%s scan=%s dip=%s threads=%d", settings, h5io.ScanHash(scan), ReconHash(v.Recon), v.Threads) + v.Backend
	job := volume.Job{Dir: volume.SliceDir(v.Out), Fingerprint: fp, Range: rng, ScanSlices: scan.Slices}
	if err := v.checkMemory(fmt.Sprintf("the assembled uncertainty of slices %s", rng),
		volume.AssemblyBytes(rng.Len(), n, int64((2+o.Samples)*n*n+len(v.Model.Params)/v.Model.Slices))); err != nil {
		return err
	}
	start := time.Now()
	sino := make([]float32, geo.SinoLen())
	skipped := 0 // slices done in an earlier run: their calibration was not logged in this one
	skip := func(k int) error {
		skipped++
		v.logf("slice %d: done in an earlier run", k)
		return nil
	}
	if err := job.Each(v.Resume, skip, func(k int) (*h5io.Recon, error) {
		return v.slice(ctx, k-dipRange.Lo, k, A, sino, set, settings)
	}); err != nil {
		return err
	}
	out, err := job.Assemble()
	if err != nil {
		return err
	}
	if scan.GroundTruth != nil {
		// The means over slices, logged unless they repeat the line of
		// the one slice, computed in this run.
		truth := scan.GroundTruth.Data[rng.Lo*n*n : rng.Hi*n*n]
		label := ""
		if rng.Len() > 1 || skipped > 0 {
			label = fmt.Sprintf("slices %s", rng)
		}
		for _, a := range v.calibration(label, truth, out.Image.Data, out.Std.Data, n) {
			out.SetAttr(a.Name, a.Value)
		}
	}
	if err := h5io.WriteRecon(v.Out, out); err != nil {
		return err
	}
	job.Clean()
	v.logf("wrote %s: slices %s (%.2fs)", v.Out, rng, time.Since(start).Seconds())
	return nil
}

// calibration logs, under label (nothing when it is empty), how well the
// std map predicts the actual error against the ground truth and returns
// the numbers as attributes (none, with the reason logged, when they
// cannot be computed).
func (v *UQVolume) calibration(label string, truth, img, std []float32, n int) []h5io.Attr {
	c, err := evaluation.CalibrateVolume(truth, img, std, n)
	if err != nil {
		v.logf("calibration: %v", err)
		return nil
	}
	if label != "" {
		v.logf("%s: calibration against the ground truth: %v", label, c)
	}
	return []h5io.Attr{{Name: "test_loglik", Value: c.TestLL}, {Name: "test_loglik_constant_rmse", Value: c.ConstantLL},
		{Name: "coverage_1sigma", Value: c.Cover1}, {Name: "coverage_2sigma", Value: c.Cover2}, {Name: "spearman", Value: c.Spearman},
		{Name: "spearman_calibrated", Value: c.SpearmanCalibrated}, {Name: "spearman_patch", Value: c.SpearmanPatch}, {Name: "spearman_patch_size", Value: c.PatchSize}}
}

// UQTableOrder lists uncertainty's columns of the per-slice table, in order
// (a run without a ground truth has no calibration columns).
var UQTableOrder = []string{"sigma_y", "delta", "mean_std", "fit_steps", "jitter", "mll_loss", "subspace_rank", "effective_dim",
	"effective_dim_missed", "subspace_capped", "uq_seconds", "test_loglik", "test_loglik_constant_rmse", "coverage_1sigma",
	"coverage_2sigma", "spearman", "spearman_calibrated", "spearman_patch"}

var uqTableNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range UQTableOrder {
		m[n] = true
	}
	return m
}()

func mean32(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(len(v))
}

// slice linearises slice j of the DIP file (scan slice k) and returns its
// one-slice result: the DIP image, std, samples, the DIP's own rows (/dip,
// its /slices row), the fitted hyperparameters (/linearised) and this
// slice's values in /slices.
func (v *UQVolume) slice(ctx context.Context, j, k int, A linop.Operator, sino []float32, set linearised.DIPSettings, settings string) (*h5io.Recon, error) {
	o, scan := v.Options, v.Scan
	n := scan.ImageSize
	sl, err := linearised.SliceOf(v.Model, j)
	if err != nil {
		return nil, err
	}
	sl.Image = v.Recon.Image.Slice(j)
	xhat := sl.Image
	scan.Sinogram(sino, k)
	t0 := time.Now()
	lm, err := linearised.NewDIPModel(ctx, sl, A, sino, set, linearised.GPriorRNG(o.Seed, k))
	if err != nil {
		return nil, fmt.Errorf("%s: slice %d: %v", v.ReconPath, k, err)
	}
	if lm.Centre != set.Centre {
		v.logf("%s does not record the DIP's seed: the prior is centred at zero", v.ReconPath)
	}
	chosen := lm.Regime
	my, _ := A.Dims()
	nw := sl.Net.NumConvWeights()
	if chosen == linearised.ExactRegime {
		if err := v.checkMemory("the exact linearised model", lm.Bytes()); err != nil {
			return nil, err
		}
	}
	v.logf("slice %d: %s regime, %d measurements, %d conv weights in %d prior blocks", k, chosen, my, nw, len(lm.Problem.Blocks))
	if lm.GPriorFrom != "" {
		v.logf("slice %d: g-prior weight scales from %s in %.2fs", k, lm.GPriorFrom, time.Since(t0).Seconds())
	}
	barSteps := o.Steps
	if (chosen == linearised.MatrixFreeRegime && !o.PredCP && set.Method != linearised.FitMLL) || set.Method == linearised.FitEM {
		barSteps = -1 // fixed-point iterations over growth rounds: no total known in advance
	}
	b := v.bar(barSteps, fmt.Sprintf("fit slice %d/%d", k+1, scan.Slices))
	rng := rand.New(rand.NewPCG(o.Seed, 0x756e63+uint64(k)))
	res, err := lm.Run(ctx, rng, func(step int, loss float64) {
		if barSteps < 0 { // the fixed point reports the effective dimension γ
			b.Describe(fmt.Sprintf("fit %d/%d effective dimension %.0f", k+1, scan.Slices, loss))
		} else {
			b.Describe(fmt.Sprintf("fit %d/%d objective %.5g", k+1, scan.Slices, loss))
		}
		b.Add(1)
	})
	b.Finish()
	if err != nil {
		return nil, err
	}
	for i, x := range res.Std {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("slice %d: the posterior std has a non-finite value at pixel %d (numerical trouble); try --regime exact or fewer --mll-steps", k, i)
		}
	}
	// The DIP file's rows for this slice (image, model, its table row),
	// minus an earlier uncertainty's results when an uncertainty file was
	// given as the recon.
	out := v.Recon.SliceRows(j, j+1)
	out.Method = "dip+linearised"
	out.Attrs = nil
	out.Samples = nil
	var groups []h5io.Group
	var table *h5io.Group
	for _, gr := range out.Groups {
		switch gr.Path {
		case linearised.StoredGroup:
		case h5io.SlicesGroup:
			t := gr
			t.Arrays = nil
			for _, a := range gr.Arrays {
				if !uqTableNames[a.Name] {
					t.Arrays = append(t.Arrays, a)
				}
			}
			table = &t
		default:
			groups = append(groups, gr)
		}
	}
	if table == nil {
		table = &h5io.Group{Path: h5io.SlicesGroup}
	}
	std := h5io.NewVolume(1, n)
	copy(std.Data, res.Std)
	out.Std = &std
	for r := 0; r < o.Samples; r++ {
		for i := 0; i < n*n; i++ {
			out.Samples = append(out.Samples, res.Samples[r*n*n+i]+xhat[i])
		}
	}
	stored := &linearised.Stored{GPrior: o.GPrior, GPriorProbes: o.GPriorProbes, Seed: o.Seed, Centre: lm.Centre,
		Hyper: []linearised.Hyper{res.Hyper.Clone()}}
	sigmaY := math.Sqrt(res.Hyper.NoiseVar())
	v.logf("slice %d: σ_y %.4g (scan noise_std %.4g), δ %.3g, mean std %.4g", k, sigmaY, scan.NoiseStd, res.Delta, mean32(res.Std))
	seconds := time.Since(t0).Seconds()
	out.Attrs = []h5io.Attr{{Name: h5io.AttrScanHash, Value: h5io.ScanHash(scan)}, {Name: h5io.AttrSettings, Value: settings},
		{Name: "regime", Value: chosen.String()}, {Name: "prior_mean", Value: lm.Centre.String()},
		{Name: "g_prior", Value: b2i(o.GPrior)}, {Name: "with_delta", Value: b2i(!o.NoDelta)},
		{Name: "sigma_y", Value: sigmaY}, {Name: "delta", Value: res.Delta}, {Name: "fit_steps", Value: res.Fit.Steps},
		{Name: "jitter", Value: res.Fit.Jitter}, {Name: "seconds", Value: seconds}}
	row := map[string]float64{"sigma_y": sigmaY, "delta": res.Delta, "fit_steps": float64(res.Fit.Steps), "jitter": res.Fit.Jitter,
		"mean_std": mean32(res.Std), "uq_seconds": seconds, "mll_loss": res.Fit.Loss,
		"subspace_rank": math.NaN(), "effective_dim": math.NaN(), "effective_dim_missed": math.NaN(), "subspace_capped": math.NaN()}
	if !math.IsNaN(res.Fit.Loss) {
		out.Attrs = append(out.Attrs, h5io.Attr{Name: "mll_loss", Value: res.Fit.Loss})
	}
	if si := res.Subspace; si.Rank > 0 {
		note := ""
		if si.Capped {
			note = " (stopped at the rank/memory cap: the std is wider than the full model's there)"
		}
		v.logf("slice %d: subspace rank %d of %d, effective dimension %.0f inside, about %.0f missed%s", k, si.Rank, my, si.Gamma, si.TailDim, note)
		out.Attrs = append(out.Attrs, h5io.Attr{Name: "subspace_rank", Value: si.Rank},
			h5io.Attr{Name: "effective_dim", Value: si.Gamma}, h5io.Attr{Name: "effective_dim_missed", Value: si.TailDim},
			h5io.Attr{Name: "subspace_capped", Value: b2i(si.Capped)})
		row["subspace_rank"], row["effective_dim"], row["effective_dim_missed"] = float64(si.Rank), si.Gamma, si.TailDim
		row["subspace_capped"] = float64(b2i(si.Capped))
	}
	if scan.GroundTruth != nil {
		for _, a := range v.calibration(fmt.Sprintf("slice %d", k), scan.GroundTruth.Slice(k), out.Image.Data, std.Data, n) {
			out.Attrs = append(out.Attrs, a)
			if x, ok := a.Value.(float64); ok {
				row[a.Name] = x
			}
		}
	}
	for _, name := range UQTableOrder {
		// A value this run does not have (no ground truth, no subspace,
		// no loss) is left out: the same for every slice of a run.
		if x, ok := row[name]; ok && !math.IsNaN(x) && !math.IsInf(x, 0) {
			table.Arrays = append(table.Arrays, h5io.Array{Name: name, Shape: []int{1}, Data: []float32{float32(x)}})
		}
	}
	out.Groups = append(groups, stored.Group(), *table)
	return out, nil
}
