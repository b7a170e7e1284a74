package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/figures"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/internal/atomicfile"
	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
	"github.com/ctrecon/ctrecon/volume"
)

// DesignStudy is the simulated adaptive-acquisition study (design.Acquire
// for every image, DIP seed and strategy) kept in a folder: state.json holds
// every run's steps and is saved after each, so a study resumes where it
// stopped; results.h5, table.md and psnr.png are written from the finished
// runs. Studies run as parts (Images) are joined with Merge and Report.
type DesignStudy struct {
	// Scans are the full scans (every candidate angle), with the paths
	// they were read from (their base names name the images).
	Scans      []*h5io.Scan
	Paths      []string
	Out        string // the study's folder
	Strategies []design.Strategy
	Loop       design.LoopSettings // DIPSeed is set per run
	RegimeName string              // the regime as given (the fingerprint records it)
	DIPSeeds   []int               // offsets added to Loop.Seed, one run each
	Images     string              // a:b of the images (every slice of every scan, 0-based); "" all
	Resume     bool
	Report     bool     // write the tables of the runs so far, run nothing
	Merge      []string // with Report: other parts' folders to join
	// Threads and Backend enter the fingerprint: a DIP fit resumes
	// bit-identically only with the same thread count.
	Threads int
	Backend string

	Hooks
}

// designState is state.json: the settings it belongs to and every run.
type designState struct {
	Fingerprint string
	Runs        map[string]*design.RunState
}

// designFiles starts a study's fingerprint (state.json, and /study's
// settings attribute in results.h5): the scans as name#hash, comma-separated.
const designFiles = "files="

// DesignScanNames returns the scan file names a study's fingerprint records.
func DesignScanNames(fp string) []string {
	files, _, _ := strings.Cut(strings.TrimPrefix(fp, designFiles), " ")
	var names []string
	for _, f := range strings.Split(files, ",") {
		name, _, _ := strings.Cut(f, "#")
		names = append(names, name)
	}
	return names
}

// images checks the scans (ground truth, noise level, parallel beam) and
// lists the study's images (every slice of every scan) and the scans'
// names with their content hashes.
func (s *DesignStudy) images() ([]*design.LoopImage, []string, error) {
	var images []*design.LoopImage
	var files []string
	for i, scan := range s.Scans {
		path := s.Paths[i]
		if scan.GroundTruth == nil {
			return nil, nil, fmt.Errorf("%s has no /exchange/ground_truth: a design study scores against the truth (make the scan with ctrecon simulate)", path)
		}
		if !(scan.NoiseStd > 0) {
			return nil, nil, fmt.Errorf("%s does not record noise_std; the DIP's stopping rule needs it", path)
		}
		geo, err := ScanGeometry(scan)
		if err != nil {
			return nil, nil, err
		}
		if geo.Beam != radon.Parallel {
			return nil, nil, fmt.Errorf("%s is a %v-beam scan; ctrecon design simulates parallel-beam acquisitions only (its equal and golden-angle baselines are directions mod 180°); ctrecon plan plans fan-beam scans", path, geo.Beam)
		}
		if err := s.Loop.Check(scan.Angles()); err != nil {
			return nil, nil, fmt.Errorf("%s: %v", path, strings.TrimPrefix(err.Error(), "design: "))
		}
		// The scans' names and contents, not their paths: a study can be
		// resumed from the same scans regenerated elsewhere (simulate is seeded).
		files = append(files, filepath.Base(path)+"#"+h5io.ScanHash(scan))
		for k := 0; k < scan.Slices; k++ {
			images = append(images, &design.LoopImage{Name: designImageName(path, k), Geo: geo, Full: scan.Sinogram(nil, k),
				Truth: scan.GroundTruth.Slice(k), NoiseStd: scan.NoiseStd, NoiseRel: scan.NoiseRel})
		}
	}
	return images, files, nil
}

// fingerprint is what a study's runs must share to be resumed or merged.
func (s *DesignStudy) fingerprint(files []string) string {
	l := s.Loop
	return fmt.Sprintf(designFiles+"%s start=%d budget=%d refit=%d eval=%v samples=%d seed=%d dipseeds=%v dipiters=%d fixedhyper=%v fixnoise=%v closedform=%v regime=%s threads=%d",
		strings.Join(files, ","), l.Start, l.Budget, l.RefitEvery, l.Eval, l.Samples, l.Seed, s.DIPSeeds, l.DIPIters, l.FixedHyper, l.FixNoise, l.ClosedForm, s.RegimeName, s.Threads) + s.Backend
}

// Run runs (or resumes, or with Report tabulates) the study.
func (s *DesignStudy) Run(ctx context.Context) error {
	if len(s.Scans) == 0 || len(s.Scans) != len(s.Paths) {
		return fmt.Errorf("design study: %d scans and %d paths", len(s.Scans), len(s.Paths))
	}
	if len(s.Merge) > 0 && !s.Report {
		return fmt.Errorf("merging parts writes their tables: use it with Report")
	}
	images, files, err := s.images()
	if err != nil {
		return err
	}
	if s.Images != "" {
		r, err := volume.ParseRange(s.Images, len(images))
		if err != nil {
			return fmt.Errorf("--images: %v", err)
		}
		images = images[r.Lo:r.Hi]
	}
	if st, err := os.Stat(s.Out); err == nil && !st.IsDir() {
		return fmt.Errorf("%s exists and is not a folder", s.Out)
	}
	if err := os.MkdirAll(s.Out, 0o755); err != nil {
		return err
	}
	fp := s.fingerprint(files)
	statePath := filepath.Join(s.Out, "state.json")
	state := &designState{Fingerprint: fp, Runs: map[string]*design.RunState{}}
	if b, err := os.ReadFile(statePath); err == nil {
		if !s.Resume && !s.Report {
			return fmt.Errorf("%s holds a study already: add --resume to continue it, or choose another folder", s.Out)
		}
		var old designState
		if err := json.Unmarshal(b, &old); err != nil {
			return fmt.Errorf("%s: unreadable (%v); move it away to start again", statePath, err)
		}
		if old.Fingerprint != fp {
			return fmt.Errorf("%s was started with other settings or scans:\n  then: %s\n  now:  %s", statePath, old.Fingerprint, fp)
		}
		state = &old
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	} else if s.Resume || s.Report {
		if s.Report && len(s.Merge) == 0 {
			return fmt.Errorf("--report: %s has no state.json to report", s.Out)
		}
		if !s.Report {
			s.logf("nothing to resume in %s: starting", s.Out)
		}
	}
	if len(s.Merge) > 0 {
		if err := mergeDesignStates(state, s.Merge); err != nil {
			return err
		}
	}
	evals, budget := s.Loop.Eval, s.Loop.Budget
	if s.Report {
		return s.writeResults(state, evals, budget, 0)
	}
	// The bar counts runs weighted by their cost (design.Strategy.RunCost),
	// so its time left holds while cheap and dear runs alternate; its text
	// counts runs.
	type pending struct {
		key string
		img *design.LoopImage
		off int
		st  design.Strategy
	}
	var todo []pending
	runs, total, doneCost := 0, 0, 0
	for _, off := range s.DIPSeeds {
		for _, img := range images {
			for _, st := range s.Strategies {
				key := runKey(img.Name, off, st)
				runs++
				total += st.RunCost()
				if r := state.Runs[key]; r != nil && r.Done {
					doneCost += st.RunCost() // of this command's runs: the state may hold other images' (a copied or merged state)
					continue
				}
				todo = append(todo, pending{key, img, off, st})
			}
		}
	}
	if len(todo) == 0 {
		s.logf("design: all %d runs are finished", runs)
	} else if runs > len(todo) {
		s.logf("design: %d of %d runs finished; resuming with %s %s", runs-len(todo), runs, todo[0].img.Name, todo[0].st)
	}
	b := s.bar(total, "design")
	b.Skip(doneCost)
	start := time.Now()
	for i, p := range todo {
		prev := state.Runs[p.key]
		ls := s.Loop
		ls.DIPSeed = s.Loop.Seed + uint64(p.off)
		run := *p.img
		run.Name = fmt.Sprintf("%s/seed%d", p.img.Name, p.off)
		at := fmt.Sprintf("run %d of %d", runs-len(todo)+i+1, runs)
		b.Describe(fmt.Sprintf("%s: %s %s", at, run.Name, p.st))
		res, err := design.Acquire(ctx, &run, p.st, ls, prev, func(r *design.RunState) error {
			state.Runs[p.key] = r
			err := atomicfile.WriteJSON(statePath, state)
			if s.AfterCheckpoint != nil {
				s.AfterCheckpoint()
			}
			return err
		}, func(what string) { b.Describe(at + ": " + what); s.debugf("%s", what) })
		if err != nil {
			if ctx.Err() != nil {
				b.Finish() // the bar says where it stopped; the line below starts on its own line
				s.logf("interrupted: the finished steps are in %s; run the same command with --resume to continue", statePath)
			}
			return err
		}
		state.Runs[p.key] = res
		b.Add(p.st.RunCost())
	}
	b.Finish()
	return s.writeResults(state, evals, budget, time.Since(start).Seconds())
}

// mergeDesignStates adds the runs of the studies in dirs to state. Their
// settings must be state's; a run found in two of them must be the same
// (the parts should hold different images; a copied run is accepted when
// it agrees, the one further along is kept).
func mergeDesignStates(state *designState, dirs []string) error {
	for _, dir := range dirs {
		path := filepath.Join(strings.TrimSpace(dir), "state.json")
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("--merge: %v", err)
		}
		var part designState
		if err := json.Unmarshal(b, &part); err != nil {
			return fmt.Errorf("--merge: %s: unreadable (%v)", path, err)
		}
		if part.Fingerprint != state.Fingerprint {
			return fmt.Errorf("--merge: %s was run with other settings or scans:\n  it:   %s\n  this: %s", path, part.Fingerprint, state.Fingerprint)
		}
		for key, r := range part.Runs {
			have, ok := state.Runs[key]
			if !ok {
				state.Runs[key] = r
				continue
			}
			short, long := have.Acquired, r.Acquired
			if len(short) > len(long) {
				short, long = long, short
			}
			if !slices.Equal(short, long[:len(short)]) {
				return fmt.Errorf("--merge: run %s differs between %s and another part (different angles acquired)", key, path)
			}
			if r.Done && !have.Done || len(r.Acquired) > len(have.Acquired) {
				state.Runs[key] = r
			}
		}
	}
	return nil
}

// runKey names a run in state.json: image, DIP seed offset, strategy.
func runKey(image string, seed int, s design.Strategy) string {
	return fmt.Sprintf("%s/seed%d/%s", image, seed, s)
}

// writeResults writes results.h5, table.md and psnr.png from the runs.
func (s *DesignStudy) writeResults(state *designState, evals []int, budget int, secs float64) error {
	dir, strats := s.Out, s.Strategies
	all := make([]*design.RunState, 0, len(state.Runs))
	keys := make([]string, 0, len(state.Runs))
	for k := range state.Runs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		all = append(all, state.Runs[k])
	}
	// Only images (and seeds) on which every strategy has finished are
	// tabulated: a mean over whatever is done would put the strategies'
	// means over different images while a study is under way.
	// A merged state may hold other strategies' runs (an extra part's report
	// merges the main parts): only this report's strategies are counted.
	doneOn := map[string]int{}
	finished := 0
	for _, r := range all {
		if r.Done && slices.Contains(strats, r.Strategy) {
			doneOn[r.Image]++
			finished++
		}
	}
	var runs []*design.RunState
	var unfinished []string
	started := map[string]bool{}
	complete := map[string]bool{}
	for _, r := range all {
		if !slices.Contains(strats, r.Strategy) {
			continue
		}
		started[r.Image] = true
		if doneOn[r.Image] == len(strats) {
			complete[r.Image] = true
			runs = append(runs, r)
		} else if !r.Done {
			// equal spacing keeps no sequence: its progress is its scores
			progress := fmt.Sprintf("scored at %d of %d counts", len(r.Evals), len(evals))
			if len(r.Acquired) > 0 {
				progress = fmt.Sprintf("%d of %d angles, %s", len(r.Acquired), budget, progress)
			}
			unfinished = append(unfinished, fmt.Sprintf("%s %s (%s)", r.Image, r.Strategy, progress))
		}
	}
	imageOf := func(run string) string { img, _, _ := strings.Cut(run, "/"); return img } // "scan:k/seedS"
	sm := design.Summarise(runs, evals)
	sm.Cluster(imageOf)
	orient := rectangleOrientations(s.Scans, s.Paths)
	sm.Orient(runs, s.Loop.Start, s.Loop.RefitEvery, func(run string) (float64, []float64, bool) {
		o, ok := orient[imageOf(run)]
		return o.deg, o.candDeg, ok
	})
	var md bytes.Buffer
	fmt.Fprintf(&md, "# Experimental-design study\n\n%d runs (images × DIP seeds) per strategy in the tables: those on which all %d strategies finished, of %d started; %d of %d strategy runs finished; settings: %s\n",
		len(complete), len(strats), len(started), finished, len(started)*len(strats), state.Fingerprint)
	if len(complete) < len(started) {
		fmt.Fprintf(&md, "\nLeft out until every strategy has finished on them: %d images × seeds (state.json holds their runs).", len(started)-len(complete))
		if len(unfinished) > 0 {
			fmt.Fprintf(&md, " Runs under way: %s.", strings.Join(unfinished, "; "))
		}
		fmt.Fprintln(&md)
	}
	if len(runs) > 0 {
		sm.Markdown(&md)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "table.md"), md.Bytes()); err != nil {
		return err
	}
	w, err := h5io.Create(filepath.Join(dir, "results.h5"))
	if err != nil {
		return err
	}
	w.GroupAttrs("/study", h5io.Attr{Name: "settings", Value: state.Fingerprint}, h5io.Attr{Name: "seconds", Value: secs})
	ev := make([]float64, len(evals))
	for i, e := range evals {
		ev[i] = float64(e)
	}
	w.Float64("/study/eval_angles", []int{len(evals)}, ev, h5io.DatasetOptions{})
	for _, st := range strats {
		var names []string
		var dp, ds, tp, ts, ang []float64
		for _, r := range runs {
			if r.Strategy != st {
				continue
			}
			names = append(names, r.Image)
			for _, k := range evals {
				e := design.Eval{DIPPSNR: math.NaN(), DIPSSIM: math.NaN(), TVPSNR: math.NaN(), TVSSIM: math.NaN()}
				for _, x := range r.Evals {
					if x.Angles == k {
						e = x
					}
				}
				dp, ds, tp, ts = append(dp, e.DIPPSNR), append(ds, e.DIPSSIM), append(tp, e.TVPSNR), append(ts, e.TVSSIM)
			}
			row := make([]float64, budget)
			for i := range row {
				row[i] = -1 // equal spacing keeps no sequence
				if i < len(r.Acquired) {
					row[i] = float64(r.Acquired[i])
				}
			}
			ang = append(ang, row...)
		}
		if len(names) == 0 {
			continue
		}
		p := "/study/" + string(st)
		w.GroupAttrs(p, h5io.Attr{Name: "runs", Value: strings.Join(names, ",")})
		sh := []int{len(names), len(evals)}
		w.Float64(p+"/psnr_dip", sh, nanToNeg(dp), h5io.DatasetOptions{})
		w.Float64(p+"/ssim_dip", sh, nanToNeg(ds), h5io.DatasetOptions{})
		w.Float64(p+"/psnr_tv", sh, nanToNeg(tp), h5io.DatasetOptions{})
		w.Float64(p+"/ssim_tv", sh, nanToNeg(ts), h5io.DatasetOptions{})
		w.Float64(p+"/acquired_candidates", []int{len(names), budget}, ang, h5io.DatasetOptions{})
	}
	curves := dipCurves(sm, strats)
	writeDIPCurves(w, curves)
	if err := w.Commit(); err != nil {
		return err
	}
	if len(curves) > 0 {
		panels, err := figures.StrategyPanels("DIP PSNR (dB)", string(design.EqualSpace), curves)
		if err != nil {
			return err
		}
		if err := (figures.Figure{Panels: panels, Cols: 2, PanelWidth: 5 * 72, PanelHeight: 4.2 * 72}).SavePNG(filepath.Join(dir, "psnr.png")); err != nil {
			return err
		}
	}
	s.logf("wrote %s/{results.h5,table.md,psnr.png}", dir)
	return nil
}

// dipCurves are the strategies' DIP PSNR curves of a summary (those with
// runs), with the paired difference to equal spacing where every angle count
// has one (equal spacing's own: zero), clustered by image where the summary
// is (Summary.Clustered). A standard error of one run (NaN) is drawn and
// written as 0.
func dipCurves(sm *design.Summary, strats []design.Strategy) []figures.StrategyCurve {
	noNaN := func(v float64) float64 {
		if math.IsNaN(v) {
			return 0
		}
		return v
	}
	var curves []figures.StrategyCurve
	for _, st := range strats {
		cells := sm.Cells[st] // none for a strategy not started yet (Report)
		c := figures.StrategyCurve{Name: string(st)}
		paired := true
		for i, k := range sm.Evals {
			if i >= len(cells) || cells[i].DIP.N == 0 {
				continue
			}
			cell := cells[i]
			c.Angles = append(c.Angles, float64(k))
			c.Mean, c.SE = append(c.Mean, cell.DIP.Mean), append(c.SE, noNaN(cell.DIP.SE))
			d := cell.DIPvsEqual
			if sm.Clustered() && st != design.EqualSpace {
				d = sm.ByImage[st][i].DIPvsEqual // several seeds per image: the s.e. over images
			}
			if st == design.EqualSpace {
				d = design.Stat{N: cell.DIP.N}
			}
			paired = paired && d.N > 0
			c.Diff, c.DiffSE = append(c.Diff, d.Mean), append(c.DiffSE, noNaN(d.SE))
		}
		if len(c.Angles) == 0 {
			continue
		}
		if !paired {
			c.Diff, c.DiffSE = nil, nil
		}
		curves = append(curves, c)
	}
	return curves
}

// writeDIPCurves writes each curve as /study/<strategy>/psnr_dip_curve
// [3][n] (angle counts, mean, s.e.) and, where paired, psnr_dip_vs_equal
// [2][n] (paired mean, s.e.), so that figures draw the numbers the tables
// report instead of recomputing them. ReadDIPCurves reads them back.
func writeDIPCurves(w *h5io.Writer, curves []figures.StrategyCurve) {
	for _, c := range curves {
		n := len(c.Angles)
		w.Float64("/study/"+c.Name+"/psnr_dip_curve", []int{3, n}, slices.Concat(c.Angles, c.Mean, c.SE), h5io.DatasetOptions{})
		if len(c.Diff) > 0 {
			w.Float64("/study/"+c.Name+"/psnr_dip_vs_equal", []int{2, n}, slices.Concat(c.Diff, c.DiffSE), h5io.DatasetOptions{})
		}
	}
}

// ReadDIPCurves reads the DIP PSNR curves of a design study's results.h5 for
// the strategies it holds, in the order given. A results file from before
// the curves were written is refused with the command that rewrites it.
func ReadDIPCurves(rd *h5io.Reader, strategies []string) ([]figures.StrategyCurve, error) {
	var curves []figures.StrategyCurve
	for _, s := range strategies {
		grp := "/study/" + s
		if !rd.Has(grp + "/psnr_dip") {
			continue
		}
		if !rd.Has(grp + "/psnr_dip_curve") {
			return nil, fmt.Errorf("%s has no %s/psnr_dip_curve (written by an older ctrecon): rewrite it with `ctrecon design --report %s`",
				rd.Path(), grp, filepath.Dir(rd.Path()))
		}
		v, sh, err := rd.Float64(grp+"/psnr_dip_curve", 2)
		if err != nil {
			return nil, err
		}
		if sh[0] != 3 {
			return nil, fmt.Errorf("%s: %s/psnr_dip_curve has %d rows, want 3 (angles, mean, s.e.)", rd.Path(), grp, sh[0])
		}
		n := sh[1]
		c := figures.StrategyCurve{Name: s, Angles: v[:n], Mean: v[n : 2*n], SE: v[2*n:]}
		if rd.Has(grp + "/psnr_dip_vs_equal") {
			d, dsh, err := rd.Float64(grp+"/psnr_dip_vs_equal", 2)
			if err != nil {
				return nil, err
			}
			if dsh[0] != 2 || dsh[1] != n {
				return nil, fmt.Errorf("%s: %s/psnr_dip_vs_equal is %v, want [2 %d]", rd.Path(), grp, dsh, n)
			}
			c.Diff, c.DiffSE = d[:n], d[n:]
		}
		curves = append(curves, c)
	}
	return curves, nil
}

// nanToNeg keeps the results file free of NaN (h5io refuses it): a missing
// score is written as −1.
func nanToNeg(v []float64) []float64 {
	for i, x := range v {
		if math.IsNaN(x) {
			v[i] = -1
		}
	}
	return v
}

// rectangleOrientations maps the images ("scan:k") of scans simulated from
// the built-in rectangles phantom to the rectangles' common orientation
// (degrees) and the scan's candidate angles: the scan's seed attribute
// reproduces its draws.
func rectangleOrientations(scans []*h5io.Scan, paths []string) map[string]imageOrientation {
	out := map[string]imageOrientation{}
	for i, sc := range scans {
		kind, ok := sc.AttrString("phantom")
		seed, ok2 := sc.AttrFloat("seed")
		if !ok || !ok2 || kind != "rectangles" || i >= len(paths) {
			continue
		}
		for k := 0; k < sc.Slices; k++ {
			p, err := phantoms.Builtin(kind, uint64(seed), k)
			if err != nil {
				continue
			}
			if d, ok := p.RectangleOrientation(); ok {
				out[designImageName(paths[i], k)] = imageOrientation{deg: d, candDeg: sc.ThetaDeg}
			}
		}
	}
	return out
}

// imageOrientation is a rectangles image's common orientation and its
// scan's candidate angles (degrees, by candidate index).
type imageOrientation struct {
	deg     float64
	candDeg []float64
}

// designImageName names image k of the full scan read from path
// ("rect64-full:3"); a run is named by it and the seed ("rect64-full:3/seed0").
func designImageName(path string, k int) string {
	return fmt.Sprintf("%s:%d", strings.TrimSuffix(filepath.Base(path), ".h5"), k)
}

// DesignRunImage returns the image index k of a study run named
// "scan:k/seedS" (state.json's runs, results.h5's runs attribute).
func DesignRunImage(run string) (int, error) {
	name, _, _ := strings.Cut(run, "/")
	i := strings.LastIndexByte(name, ':')
	k, err := strconv.Atoi(name[i+1:])
	if i < 0 || err != nil || k < 0 {
		return 0, fmt.Errorf("run %q is not named scan:image/seed", run)
	}
	return k, nil
}
