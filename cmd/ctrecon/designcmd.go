package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ctrecon/ctrecon/pipeline"
	"github.com/ctrecon/ctrecon/volume"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/figures"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/radon"
)

type designOpts struct {
	full, out, strategies, eval, dipSeeds string
	regime, images, merge                 string
	start, budget, refit, samples         int
	dipIters                              int
	fixedHyper, fixNoise, resume          bool
	closedForm, report                    bool
}

func designCmd() *cobra.Command {
	var o designOpts
	cmd := &cobra.Command{
		Use:   "design",
		Short: "Simulate adaptive angle selection on full scans and compare strategies",
		Long: `Simulates an adaptive acquisition on scans that hold every candidate angle
(e.g. ctrecon simulate --phantom rectangles --count 20 --angles 200): each
strategy starts from --start equally spaced angles and "measures" more rows of
the full scan until --budget:

  eig, diag-eig, var  the linearised DIP: every --refit-every acquisitions the
                      DIP is refitted (from the same initial weights) to the
                      angles measured so far, linearised (the defaults of
                      ctrecon uncertainty, in the matrix-free regime unless
                      --regime says otherwise), and the next batch is chosen
                      jointly from --samples posterior samples by the criterion
                      (--closed-form with --regime exact: from the exact
                      posterior covariance, up to 64²)

The choice needs samples only, so the matrix-free regime is the default here:
at 15 angles of a 64² rectangles scan it gave the exact regime's std map
within its Monte-Carlo error (mean std 1.5% apart, per-pixel correlation
0.996, the same σ_y and coverage) for about a seventh of the CPU time.
  equal               k equally spaced angles at every count k
  random              seeded random angles after the pilot
  golden              the golden-angle sequence after the pilot
  iso, matern         a linear-Gaussian model with an isotropic (or Matérn-½)
                      pixel prior fitted to the pilot by marginal likelihood,
                      choosing the rest by EIG (not adaptive: its posterior
                      ignores the measured values)

At every --eval count the DIP and TV reconstructions from the strategy's
angles are scored against the ground truth, with the same settings for every
strategy (the DIP stops by the discrepancy principle with the known noise
level, no oracle). Every slice of every --full file is an image; --dip-seeds
repeats the whole study with other initial weights.

Writes to DIR: results.h5 (per strategy: PSNR/SSIM [run][eval], the angles
in order), table.md (mean ± s.e. and the paired difference to equal spacing),
psnr.png (PSNR against angles, error bars over runs) and state.json, the
progress so far: after an interruption, the same command with --resume
continues where it stopped (finished steps are not redone) and ends where an
uninterrupted run ends (same --threads). --report writes the tables of what is
finished so far without computing anything. state.json names the scans by file
name and content, so a study can also be continued on another machine from
the same scans regenerated there (simulate is seeded) and a copy of DIR.

To spread a study over processes or machines, give each its own folder and
a share of the images (--images a:b, 0-based over every slice of every --full
file, the same other flags); then --report --merge DIR,DIR… -o ALL writes the
tables of them all (their settings must agree; the image shares are not part
of them).`,
		Example: `  ctrecon simulate --phantom rectangles --size 64 --count 20 --angles 200 -o rect-full.h5
  ctrecon design --full rect-full.h5 --start 5 --budget 40 --strategies eig,var,equal,random,golden,iso -o study
  ctrecon design --full rect-full.h5 ... -o study --resume     # after an interruption
  ctrecon design --full rect-full.h5 ... --images 0:10 -o part0   # two processes …
  ctrecon design --full rect-full.h5 ... --images 10:20 -o part1
  ctrecon design --full rect-full.h5 ... --report --merge part0,part1 -o study`,
		RunE: func(cmd *cobra.Command, args []string) error { return runDesign(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.full, "full", "", "full scans with every candidate angle and a ground truth, comma separated")
	f.StringVarP(&o.out, "out", "o", "", "output folder")
	f.IntVar(&o.start, "start", 5, "pilot angles (equally spaced)")
	f.IntVar(&o.budget, "budget", 40, "angles at the end")
	f.IntVar(&o.refit, "refit-every", 5, "acquisitions between DIP refits (lin-DIP strategies; also their batch size)")
	f.StringVar(&o.eval, "eval", "10,20,30,40", "angle counts where DIP and TV are scored")
	f.StringVar(&o.strategies, "strategies", "eig,var,equal,random,golden,iso", "eig, diag-eig, var, equal, random, golden, iso, matern")
	f.IntVar(&o.samples, "samples", 256, "posterior samples per choice")
	f.StringVar(&o.dipSeeds, "dip-seeds", "0", "DIP initial-weight seeds (added to --seed), comma separated")
	f.IntVar(&o.dipIters, "dip-iters", 0, "most DIP iterations (0: the default by size)")
	f.BoolVar(&o.fixedHyper, "fixed-hyper", false, "fit the linearised hyperparameters at the pilot only")
	f.BoolVar(&o.fixNoise, "fix-noise", false, "fix σ_y to the scan's noise_std instead of learning it")
	f.StringVar(&o.regime, "regime", "matrix-free", "linearised model of the lin-DIP strategies: matrix-free, exact or auto (as ctrecon uncertainty chooses); see above")
	f.BoolVar(&o.closedForm, "closed-form", false, "lin-DIP strategies in the exact regime (up to 64²): choose from the exact posterior covariance instead of samples")
	f.BoolVar(&o.resume, "resume", false, "continue an interrupted study in the output folder")
	f.StringVar(&o.images, "images", "", "run only images a:b (0-based over every slice of every --full file; default all): a share of a study spread over processes")
	f.StringVar(&o.merge, "merge", "", "with --report: also the studies in these folders (comma separated), run with the same settings on other --images")
	f.BoolVar(&o.report, "report", false, "write the tables and figure from what the folder's state.json holds, computing nothing (a study in progress, or spread over machines)")
	return cmd
}

// afterDesignSave, when set (by tests), runs after every save of the state.
var afterDesignSave func()

// designState is state.json: the settings it belongs to and every run.
type designState struct {
	Fingerprint string
	Runs        map[string]*design.RunState
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

func runDesign(cmd *cobra.Command, o designOpts) error {
	if o.full == "" || o.out == "" {
		return usagef("give the full scans (--full FILE[,FILE…]) and an output folder (-o DIR)")
	}
	evals, err := parseInts(o.eval)
	if err != nil {
		return usagef("--eval %q: want angle counts, comma separated", o.eval)
	}
	seedOffsets, err := parseInts(o.dipSeeds)
	if err != nil {
		return usagef("--dip-seeds %q: want integers, comma separated", o.dipSeeds)
	}
	var strats []design.Strategy
	for _, s := range strings.Split(o.strategies, ",") {
		st, err := design.ParseStrategy(strings.TrimSpace(s))
		if err != nil {
			return usageError{err}
		}
		strats = append(strats, st)
	}
	regime, err := parseRegime(o.regime)
	if err != nil {
		return err
	}
	if o.closedForm && regime == linearised.MatrixFreeRegime {
		return usagef("--closed-form needs the exact posterior: add --regime exact (or auto)")
	}
	set := design.LoopSettings{Regime: regime, Start: o.start, Budget: o.budget, RefitEvery: o.refit, Eval: evals, Samples: o.samples,
		Seed: g.seed, DIPIters: o.dipIters, FixedHyper: o.fixedHyper, FixNoise: o.fixNoise, MemAvailable: memAvailable(), ClosedForm: o.closedForm}
	if o.start < 1 || o.refit < 1 || o.samples < 2 || o.dipIters < 0 {
		return usagef("--start and --refit-every must be ≥ 1, --samples ≥ 2, --dip-iters ≥ 0")
	}
	var images []*design.LoopImage
	var files []string
	for _, path := range strings.Split(o.full, ",") {
		path = strings.TrimSpace(path)
		scan, err := loadScan(cmd, path)
		if err != nil {
			return err
		}
		if scan.GroundTruth == nil {
			return fmt.Errorf("%s has no /exchange/ground_truth: a design study scores against the truth (make the scan with ctrecon simulate)", path)
		}
		if !(scan.NoiseStd > 0) {
			return fmt.Errorf("%s does not record noise_std; the DIP's stopping rule needs it", path)
		}
		geo, err := pipeline.ScanGeometry(scan)
		if err != nil {
			return err
		}
		if geo.Beam != radon.Parallel {
			return fmt.Errorf("%s is a %v-beam scan; experimental design supports parallel beam only (its candidate angles are directions mod 180°)", path, geo.Beam)
		}
		if err := set.Check(scan.Angles()); err != nil {
			return usagef("%s: %v", path, strings.TrimPrefix(err.Error(), "design: "))
		}
		// The scans' names and contents, not their paths: a study can be
		// resumed from the same scans regenerated elsewhere (simulate is seeded).
		files = append(files, filepath.Base(path)+"#"+h5io.ScanHash(scan))
		base := strings.TrimSuffix(filepath.Base(path), ".h5")
		for k := 0; k < scan.Slices; k++ {
			images = append(images, &design.LoopImage{Name: fmt.Sprintf("%s:%d", base, k), Geo: geo, Full: scan.Sinogram(nil, k),
				Truth: scan.GroundTruth.Slice(k), NoiseStd: scan.NoiseStd, NoiseRel: scan.NoiseRel})
		}
	}
	if o.merge != "" && !o.report {
		return usagef("--merge joins finished parts into tables: use it with --report")
	}
	if o.images != "" {
		r, err := volume.ParseRange(o.images, len(images))
		if err != nil {
			return usagef("--images: %v", err)
		}
		images = images[r.Lo:r.Hi]
	}
	if st, err := os.Stat(o.out); err == nil && !st.IsDir() {
		return fmt.Errorf("%s exists and is not a folder", o.out)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	// The thread count is part of it: the DIP fit ends bit-identically only
	// with the same --threads.
	fp := fmt.Sprintf(fingerprintFiles+"%s start=%d budget=%d refit=%d eval=%v samples=%d seed=%d dipseeds=%v dipiters=%d fixedhyper=%v fixnoise=%v closedform=%v regime=%s threads=%d",
		strings.Join(files, ","), o.start, o.budget, o.refit, evals, o.samples, g.seed, seedOffsets, o.dipIters, o.fixedHyper, o.fixNoise, o.closedForm, o.regime, par.Threads()) + backendTag()
	statePath := filepath.Join(o.out, "state.json")
	state := &designState{Fingerprint: fp, Runs: map[string]*design.RunState{}}
	if b, err := os.ReadFile(statePath); err == nil {
		if !o.resume && !o.report {
			return fmt.Errorf("%s holds a study already: add --resume to continue it, or choose another folder", o.out)
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
	} else if o.resume || o.report {
		if o.report && o.merge == "" {
			return fmt.Errorf("--report: %s has no state.json to report", o.out)
		}
		if !o.report {
			logf("nothing to resume in %s: starting", o.out)
		}
	}
	if o.merge != "" {
		if err := mergeDesignStates(state, strings.Split(o.merge, ",")); err != nil {
			return err
		}
	}
	if o.report {
		return writeDesignResults(o.out, state, strats, evals, o.budget, 0)
	}
	total := len(images) * len(seedOffsets) * len(strats)
	b := newBar(total, "design")
	done := 0
	for _, r := range state.Runs {
		if r.Done {
			done++
		}
	}
	b.Add(done)
	start := time.Now()
	for _, off := range seedOffsets {
		for _, img := range images {
			for _, s := range strats {
				key := fmt.Sprintf("%s/seed%d/%s", img.Name, off, s)
				st := state.Runs[key]
				if st != nil && st.Done {
					continue
				}
				ls := set
				ls.DIPSeed = g.seed + uint64(off)
				run := *img
				run.Name = fmt.Sprintf("%s/seed%d", img.Name, off)
				res, err := design.Acquire(cmd.Context(), &run, s, ls, st, func(r *design.RunState) error {
					state.Runs[key] = r
					err := writeJSONAtomic(statePath, state)
					if afterDesignSave != nil {
						afterDesignSave()
					}
					return err
				}, func(what string) { b.Describe(what); debugf("%s", what) })
				if err != nil {
					if cmd.Context().Err() != nil {
						logf("interrupted: the finished steps are in %s; run the same command with --resume to continue", statePath)
					}
					return err
				}
				state.Runs[key] = res
				b.Add(1)
			}
		}
	}
	b.Finish()
	return writeDesignResults(o.out, state, strats, evals, o.budget, time.Since(start).Seconds())
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

// writeDesignResults writes results.h5, table.md and psnr.png from the
// finished runs.
func writeDesignResults(dir string, state *designState, strats []design.Strategy, evals []int, budget int, secs float64) error {
	var runs []*design.RunState
	keys := make([]string, 0, len(state.Runs))
	for k := range state.Runs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		runs = append(runs, state.Runs[k])
	}
	sm := design.Summarise(runs, evals)
	var md bytes.Buffer
	images := map[string]bool{}
	finished := 0
	for _, r := range runs {
		images[r.Image] = true
		if r.Done {
			finished++
		}
	}
	fmt.Fprintf(&md, "# Experimental-design study\n\n%d runs (images × DIP seeds) per strategy, %d of %d strategy runs finished; settings: %s\n",
		len(images), finished, len(images)*len(strats), state.Fingerprint)
	sm.Markdown(&md)
	if err := writeFileAtomic(filepath.Join(dir, "table.md"), md.Bytes()); err != nil {
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
	for _, s := range strats {
		var names []string
		var dp, ds, tp, ts, ang []float64
		for _, r := range runs {
			if r.Strategy != s {
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
		p := "/study/" + string(s)
		w.GroupAttrs(p, h5io.Attr{Name: "runs", Value: strings.Join(names, ",")})
		sh := []int{len(names), len(evals)}
		w.Float64(p+"/psnr_dip", sh, nanToNeg(dp), h5io.DatasetOptions{})
		w.Float64(p+"/ssim_dip", sh, nanToNeg(ds), h5io.DatasetOptions{})
		w.Float64(p+"/psnr_tv", sh, nanToNeg(tp), h5io.DatasetOptions{})
		w.Float64(p+"/ssim_tv", sh, nanToNeg(ts), h5io.DatasetOptions{})
		w.Float64(p+"/acquired_candidates", []int{len(names), budget}, ang, h5io.DatasetOptions{})
	}
	if err := w.Commit(); err != nil {
		return err
	}
	var series []figures.Series
	for _, s := range strats {
		cells := sm.Cells[s] // none for a strategy not started yet (--report)
		var x, y, e []float64
		for i, k := range evals {
			if i >= len(cells) {
				break
			}
			c := cells[i].DIP
			if c.N == 0 {
				continue
			}
			x, y = append(x, float64(k)), append(y, c.Mean)
			e = append(e, 0)
			if !math.IsNaN(c.SE) {
				e[len(e)-1] = c.SE
			}
		}
		if len(x) > 0 {
			series = append(series, figures.Series{Name: string(s), X: x, Y: y, Err: e, Points: true})
		}
	}
	if len(series) > 0 {
		pn, err := figures.LinePanel(figures.LineOptions{Title: "DIP reconstruction by strategy (mean ± s.e.)", XLabel: "number of angles",
			YLabel: "PSNR (dB)"}, series...)
		if err != nil {
			return err
		}
		if err := figures.SavePNG(filepath.Join(dir, "psnr.png"), 1, pn); err != nil {
			return err
		}
	}
	logf("wrote %s/{results.h5,table.md,psnr.png}", dir)
	return nil
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

// fingerprintFiles starts a study's fingerprint (state.json, and /study's
// settings attribute in results.h5): the scans as name#hash, comma-separated.
const fingerprintFiles = "files="

// fingerprintScans returns the scan file names a study's fingerprint records.
func fingerprintScans(fp string) []string {
	files, _, _ := strings.Cut(strings.TrimPrefix(fp, fingerprintFiles), " ")
	var names []string
	for _, f := range strings.Split(files, ",") {
		name, _, _ := strings.Cut(f, "#")
		names = append(names, name)
	}
	return names
}
