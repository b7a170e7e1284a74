package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/radon"
	"github.com/ctrecon/ctrecon/volume"
)

type dipOpts struct {
	in, out, preset, input string
	iters, minIters        int
	lr, tv, tau, holdout   float64
	stop                   string
	resume, warm           bool
	ckptEvery              int
	slices                 string
}

func dipCmd() *cobra.Command {
	var o dipOpts
	cmd := &cobra.Command{
		Use:   "dip",
		Short: "Deep-image-prior reconstruction of a scan file",
		Long: `Fits a U-Net f(θ) to the scan, slice by slice, minimising
‖A f(θ) − y‖²/m + γ·TV(f(θ)) with Adam (gradient norm clipped to 1), and keeps
the best iterate. The input is the FBP of the data (--input fbp) or noise.

Stopping (the choice matters more than the schedule): --stop discrepancy stops
when the data misfit reaches the noise level, ‖Af − y‖²/m ≤ τ·σ², with σ from
the file's noise_std or estimated from the sinogram; --stop holdout keeps a
fraction of the measurements out and stops when their misfit stops improving;
--stop max runs all --iters. Defaults for γ and --iters come from the angle
count, image size and noise level (DESIGN.md §4); --tv and --iters override.
At 128² and above the default γ can hold the misfit above the noise level, so
the discrepancy stop never fires and the fit runs to --iters (the log says
"stopped by max-iter"): on CT slices at 128² --tv 5e-4 (about a quarter of
the default) stopped by discrepancy after ~1000 iterations, 1.4 dB better and
6× faster (Shepp–Logan too), while on the rectangles phantom (large flat
regions) the default was better (docs/RESULTS.md).

Presets: small (bayes_dip's 28² U-Net, up to 48²), medium (ours, for 64–256²),
large (bayes_dip's 6-scale walnut U-Net); auto picks by size.

Volumes: slices are fitted one after another; --slices a:b fits part of a
volume (the output records which, and ctrecon merge joins parts, e.g. from a
Slurm array: docs/cluster.md), --warm-start starts each slice from the
previous one's weights, and --min-iters N refits each slice at least N
steps (without it a slice whose neighbour's network already meets the noise
level stops at iteration 0). The warm start saves iterations only where the
discrepancy stop binds: on the 108-slice head CT at 128² with --tv 5e-4,
--warm-start took 10 min against about 5 h cold for 0.17 dB less PSNR, and
--warm-start --min-iters 100 about 30 min, 0.6 dB above the plain warm start
and 0.45 dB above cold where cold fits were run (docs/RESULTS.md). Each finished slice
is kept in OUT.slices/ and the slice in flight is checkpointed every
--checkpoint-every iterations to OUT.ckpt; after an interruption (Ctrl-C, kill, a job engine's retry) the
same command with --resume skips the finished slices, continues the one in
flight, and ends where an uninterrupted run would have (same flags and
--threads). The output holds /recon/image, the trained model under /dip
(architecture, input, parameters per slice), which ctrecon uncertainty
linearises, and the per-slice table /slices (iterations, best iterate, stop
reason, PSNR and SSIM against a ground truth, seconds).`,
		Example: `  ctrecon dip -i scan.h5 -o dip.h5
  ctrecon dip -i scan.h5 --preset small --iters 3000 --tv 1e-4 -o dip.h5
  ctrecon dip -i scan.h5 -o dip.h5 --resume     # after an interruption
  ctrecon dip -i head.h5 --slices 0:54 --tv 5e-4 --warm-start --min-iters 100 -o part1.h5`,
		RunE: func(cmd *cobra.Command, args []string) error { return runDIP(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.in, "in", "i", "", "input scan file")
	f.StringVarP(&o.out, "out", "o", "", "output reconstruction file")
	f.StringVar(&o.preset, "preset", "auto", "network: auto, small, medium or large")
	f.StringVar(&o.input, "input", "fbp", "network input: fbp or noise (z = 0.1·N(0,1))")
	f.IntVar(&o.iters, "iters", 0, "most Adam iterations (0 = default by size)")
	f.Float64Var(&o.lr, "lr", 1e-4, "Adam learning rate")
	f.Float64Var(&o.tv, "tv", -1, "TV weight γ (-1 = default by angles and noise)")
	f.StringVar(&o.stop, "stop", "discrepancy", "stopping rule: discrepancy, holdout or max")
	f.Float64Var(&o.tau, "tau", 1, "discrepancy factor τ")
	f.IntVar(&o.minIters, "min-iters", 0, "iterations before the discrepancy stop may fire (with --warm-start a slice may otherwise stop at iteration 0 with its neighbour's image)")
	f.Float64Var(&o.holdout, "holdout", 0.1, "fraction of measurements held out with --stop holdout")
	f.BoolVar(&o.resume, "resume", false, "continue an interrupted run from OUT.ckpt")
	f.IntVar(&o.ckptEvery, "checkpoint-every", 250, "iterations between checkpoints")
	f.StringVar(&o.slices, "slices", "", "slice range a:b of a volume to fit (slices a to b−1; default all); the output holds that range, and ctrecon merge joins ranges")
	f.BoolVar(&o.warm, "warm-start", false, "start each slice from the previous slice's trained weights (the first slice of a range starts from the seed's)")
	addCenterFlag(cmd)
	return cmd
}

func autoPreset(n int) string { return dip.PresetFor(n) }

// memAvailable is the memory this process may plan for, in bytes (0 if
// unknown): MemAvailable from /proc/meminfo, capped by what the process's
// cgroup still allows (Slurm, Kubernetes and Docker put jobs in one with a
// limit) and by --memory. Several ctrecon processes on one machine each see
// all of MemAvailable, so each must be given its share with --memory (a
// job engine's cgroup limit does that by itself).
func memAvailable() int64 {
	avail := procMemAvailable()
	if left := cgroupMemLeft("/sys/fs/cgroup"); left > 0 && (avail == 0 || left < avail) {
		avail = left
	}
	if g.memory > 0 {
		if lim := int64(g.memory * (1 << 30)); avail == 0 || lim < avail {
			avail = lim
		}
	}
	return avail
}

// procMemAvailable returns MemAvailable from /proc/meminfo in bytes (0 if
// unknown).
func procMemAvailable() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range strings.Split(string(b), "\n") {
		if _, err := fmt.Sscanf(line, "MemAvailable: %d kB", &kb); err == nil {
			return kb * 1024
		}
	}
	return 0
}

// cgroupMemLeft returns memory.max − memory.current of the cgroup-v2
// hierarchy mounted at root (the process's own group as /proc/self/cgroup
// names it, or root itself), or 0 when there is no limit or no cgroup v2.
func cgroupMemLeft(root string) int64 {
	dir := root
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if rest, ok := strings.CutPrefix(line, "0::"); ok {
				dir = filepath.Join(root, rest)
			}
		}
	}
	return cgroupMemLeftIn(dir)
}

// cgroupMemLeftIn is cgroupMemLeft for the cgroup folder dir.
func cgroupMemLeftIn(dir string) int64 {
	read := func(name string) (int64, bool) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return 0, false
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return v, err == nil
	}
	limit, ok := read("memory.max") // "max" (no limit) does not parse
	if !ok || limit <= 0 {
		return 0
	}
	used, _ := read("memory.current")
	if used >= limit {
		return 1
	}
	return limit - used
}

// checkMemory refuses a job whose estimate exceeds 80% of available memory.
func checkMemory(what string, need int64) error {
	avail := memAvailable()
	debugf("%s: estimated %.1f GiB, available %.1f GiB", what, float64(need)/(1<<30), float64(avail)/(1<<30))
	if avail > 0 && float64(need) > 0.8*float64(avail) {
		return fmt.Errorf("%s needs about %.1f GiB but only %.1f GiB is available (MemAvailable, the cgroup limit or --memory); use a smaller preset, image or fewer --threads",
			what, float64(need)/(1<<30), float64(avail)/(1<<30))
	}
	return nil
}

func runDIP(cmd *cobra.Command, o dipOpts) (err error) {
	if o.in == "" {
		return usagef("an input scan is required: -i SCAN")
	}
	if err := checkOutput(o.out, o.in); err != nil {
		return err
	}
	switch {
	case o.stop != "discrepancy" && o.stop != "holdout" && o.stop != "max":
		return usagef("--stop %q: want discrepancy, holdout or max", o.stop)
	case o.input != "fbp" && o.input != "noise":
		return usagef("--input %q: want fbp or noise", o.input)
	case o.iters < 0 || !(o.lr > 0) || o.ckptEvery < 1:
		return usagef("--iters must be ≥ 0, --lr > 0 and --checkpoint-every ≥ 1")
	case o.stop == "holdout" && !(o.holdout > 0 && o.holdout < 0.5):
		return usagef("--holdout must be in (0, 0.5)")
	}
	scan, err := loadScan(cmd, o.in)
	if err != nil {
		return err
	}
	geo, err := scanGeometry(scan)
	if err != nil {
		return err
	}
	n := scan.ImageSize
	preset := o.preset
	if preset == "auto" {
		preset = autoPreset(n)
	}
	arch, err := dip.Preset(preset)
	if err != nil {
		return usageError{err}
	}
	if err := arch.Validate(n); err != nil {
		return err
	}
	need, err := dip.EstimateBytes(arch, n, 1)
	if err != nil {
		return err
	}
	if err := checkMemory(fmt.Sprintf("the %s U-Net at %d²", preset, n), need); err != nil {
		return err
	}
	base := dip.DefaultFitSettings(n, scan.Angles(), scan.NoiseRel)
	if o.iters > 0 {
		base.MaxIter = o.iters
	}
	if o.tv >= 0 {
		base.Gamma = o.tv
	}
	base.LR, base.Tau, base.Seed = o.lr, o.tau, g.seed
	if o.minIters < 0 {
		return usagef("--min-iters must be ≥ 0")
	}
	base.MinIter = o.minIters
	if o.stop == "holdout" {
		base.HoldOut = o.holdout
	}
	lo, hi, err := parseSlices(o.slices, scan.Slices)
	if err != nil {
		return err
	}
	rng := volume.Range{Lo: lo, Hi: hi}
	A, err := radon.NewOperator(geo)
	if err != nil {
		return err
	}
	ckpt := o.out + ".ckpt"
	// settings are what make slices comparable (merge checks them); the
	// fingerprint adds what makes a resumed slice bit-identical.
	settings := fmt.Sprintf("preset=%s input=%s iters=%d lr=%g tv=%g stop=%s tau=%g holdout=%g seed=%d warm_start=%v",
		preset, o.input, base.MaxIter, base.LR, base.Gamma, o.stop, o.tau, base.HoldOut, g.seed, o.warm)
	if o.minIters > 0 { // only when set, so that earlier runs still resume and merge
		settings += fmt.Sprintf(" min_iters=%d", o.minIters)
	}
	fp := fmt.Sprintf("%s scan=%s threads=%d", settings, scanHash(scan), par.Threads()) + backendTag()
	job := volume.Job{Dir: volume.SliceDir(o.out), Fingerprint: fp, Range: rng, ScanSlices: scan.Slices}
	u0, err := dip.NewUNet(arch, n)
	if err != nil {
		return err
	}
	// One slice's network at a time, plus the assembled volume (image,
	// input and parameters per slice).
	need += volume.AssemblyBytes(rng.Len(), n, int64(u0.NumParams()+n*n))
	if err := checkMemory(fmt.Sprintf("dip on slices %s (%s U-Net at %d²)", rng, preset, n), need); err != nil {
		return err
	}
	if !o.resume {
		if _, err := os.Stat(ckpt); err == nil {
			return fmt.Errorf("%s exists from an interrupted run: add --resume to continue it, or delete it to start again", ckpt)
		}
	}
	if err := job.Start(o.resume); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			job.Abandon()
		}
	}()
	start := time.Now()
	sino := make([]float32, geo.SinoLen())
	var prevParams []float32 // the previous slice's trained weights (--warm-start)
	for k := rng.Lo; k < rng.Hi; k++ {
		if done, err := job.Done(k); err != nil {
			return err
		} else if done {
			if o.warm {
				rc, err := job.Load(k)
				if err != nil {
					return err
				}
				m, err := dip.ReadModel(job.Dir, rc)
				if err != nil {
					return err
				}
				prevParams = m.Params
			}
			logf("slice %d: done in an earlier run", k)
			continue
		}
		t0 := time.Now()
		scan.Sinogram(sino, k)
		s := base
		if scan.NoiseStd > 0 {
			s.NoiseStd = scan.NoiseStd
		} else if s.NoiseStd, err = dip.EstimateNoiseStd(sino, geo.NDet); err != nil {
			return err
		}
		if o.stop != "discrepancy" {
			s.NoiseStd = 0
		}
		if o.input == "fbp" {
			s.Input = make([]float32, n*n)
			if err := radon.FBP(s.Input, sino, geo, radon.FBPSettings{Filter: radon.Hann}); err != nil {
				return err
			}
		}
		if scan.GroundTruth != nil {
			s.GroundTruth = scan.GroundTruth.Slice(k)
		}
		if o.warm && prevParams != nil {
			s.InitParams = prevParams
		}
		if _, err := os.Stat(ckpt); err == nil && o.resume {
			cp, err := readCheckpoint(ckpt, fp)
			if err != nil {
				return err
			}
			if cp.slice == k {
				s.Resume = cp.state
				logf("resuming %s: slice %d, iteration %d", o.out, k, cp.state.Iter)
			}
		}
		u, err := dip.NewUNet(arch, n)
		if err != nil {
			return err
		}
		res, err := fitCheckpointed(cmd, u, A, sino, s, o.ckptEvery, k, scan.Slices, func(st dip.FitState) error {
			err := writeCheckpoint(ckpt, fp, k, st)
			if afterCheckpoint != nil {
				afterCheckpoint()
			}
			return err
		})
		if err != nil {
			if errors.Is(err, cmd.Context().Err()) {
				logf("interrupted: slices before %d are kept in %s and the fit of slice %d in %s; run the same command with --resume to continue", k, job.Dir, k, ckpt)
			}
			return err
		}
		rc := dipSliceResult(res, preset, arch, n, o, base, settings, scan, k, time.Since(t0).Seconds())
		if err := job.Save(k, rc); err != nil {
			return err
		}
		os.Remove(ckpt)
		prevParams = res.Params
		msg := fmt.Sprintf("slice %d: stopped by %s after %d iterations, best iterate %d", k, res.Reason, res.Iter, res.BestIter)
		if !math.IsNaN(res.PSNR) {
			msg += fmt.Sprintf(", PSNR %.2f dB", res.PSNR)
		}
		logf("%s (%s)", msg, fmtDur(time.Since(t0).Seconds()))
	}
	out, err := job.Assemble()
	if err != nil {
		return err
	}
	out.SetAttr("scan", absPath(o.in))
	if err := h5io.WriteRecon(o.out, out); err != nil {
		return err
	}
	job.Clean()
	os.Remove(ckpt)
	logf("wrote %s: slices %s (%s)", o.out, rng, fmtDur(time.Since(start).Seconds()))
	return nil
}

// stopCodes numbers the DIP's stop reasons in the per-slice table.
var stopCodes = []string{"discrepancy", "held-out", "max-iter", "cancelled"}

func stopCode(reason string) float32 {
	for i, r := range stopCodes {
		if r == reason {
			return float32(i)
		}
	}
	return float32(len(stopCodes))
}

// dipSliceResult is one fitted slice as a one-slice reconstruction: the
// image, the trained model (/dip) and the slice's row of the per-slice
// table (/slices).
func dipSliceResult(res dip.FitResult, preset string, arch dip.Arch, n int, o dipOpts, base dip.FitSettings,
	settings string, scan *h5io.Scan, k int, seconds float64) *h5io.Recon {
	model := &dip.Model{Preset: preset, Arch: arch, N: n, Slices: 1,
		Input: res.State.Input, OutputScale: []float32{res.State.OutputScale}, Params: res.Params}
	model.Attrs = []h5io.Attr{{Name: "gamma", Value: base.Gamma}, {Name: "lr", Value: base.LR},
		{Name: "max_iter", Value: base.MaxIter}, {Name: "stop", Value: o.stop}, {Name: "seed", Value: int(g.seed)},
		{Name: "input_kind", Value: o.input}, {Name: "scan_hash", Value: scanHash(scan)}, {Name: "warm_start", Value: b2i(o.warm)},
		{Name: "min_iters", Value: o.minIters}}
	img := h5io.NewVolume(1, n)
	copy(img.Data, res.Image)
	row := func(name string, v float64) h5io.Array {
		return h5io.Array{Name: name, Shape: []int{1}, Data: []float32{float32(v)}}
	}
	// Columns a run has for every slice (PSNR and SSIM only against a
	// ground truth, SSIM from 7² up).
	table := h5io.Group{Path: h5io.SlicesGroup, Attrs: []h5io.Attr{{Name: "stop_codes", Value: strings.Join(stopCodes, ",")}},
		Arrays: []h5io.Array{row("iterations", float64(res.Iter)), row("best_iter", float64(res.BestIter)),
			row("stop", float64(stopCode(res.Reason))), row("seconds", seconds)}}
	attrs := []h5io.Attr{{Name: h5io.AttrScanHash, Value: scanHash(scan)}, {Name: h5io.AttrSettings, Value: settings},
		{Name: "seconds", Value: seconds}}
	if scan.GroundTruth != nil {
		truth := scan.GroundTruth.Slice(k)
		p := metrics.PSNR(img.Data, truth, 0)
		attrs = append(attrs, h5io.Attr{Name: "psnr", Value: p})
		table.Arrays = append(table.Arrays, row("psnr", p))
		if n >= 7 {
			q := metrics.SSIM(img.Data, truth, n, 0)
			attrs = append(attrs, h5io.Attr{Name: "ssim", Value: q})
			table.Arrays = append(table.Arrays, row("ssim", q))
		}
	}
	return &h5io.Recon{Method: "dip", Image: img, Attrs: attrs, Groups: []h5io.Group{model.Group(), table}}
}

// afterCheckpoint, when set (by tests), runs after each checkpoint is saved.
var afterCheckpoint func()

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// fitCheckpointed runs dip.Fit in chunks of every iterations, calling save
// with the state after each chunk. A chunk ends as a max-iter stop before
// its Adam step; resuming evaluates the same iterate again and takes that
// step, so the chunked run is bit-identical to one Fit call.
func fitCheckpointed(cmd *cobra.Command, u *dip.UNet, A linop.Operator, y []float32, s dip.FitSettings,
	every, slice, slices int, save func(dip.FitState) error) (dip.FitResult, error) {
	total := s.MaxIter
	b := newBar(total, fmt.Sprintf("dip slice %d/%d", slice+1, slices))
	defer b.Finish()
	progress := func(p dip.FitProgress) {
		d := fmt.Sprintf("dip %d/%d loss %.3g", slice+1, slices, p.Loss)
		if !math.IsNaN(p.PSNR) {
			d += fmt.Sprintf(" PSNR %.1f", p.PSNR)
		}
		b.Describe(d)
		b.Add(p.Iter - b.done)
	}
	s.ProgressEvery = max(1, min(every, 50))
	for {
		cur := 0
		if s.Resume != nil {
			cur = s.Resume.Iter
		}
		s.MaxIter = min(total, cur+every)
		res, err := dip.Fit(cmd.Context(), u, A, y, s, progress)
		if err != nil {
			if errors.Is(err, cmd.Context().Err()) && res.State.Params != nil {
				if serr := save(res.State); serr != nil {
					return res, fmt.Errorf("%v; saving the checkpoint also failed: %v", err, serr)
				}
			}
			return res, err
		}
		st := res.State
		if st.Reason != "max-iter" || st.Iter >= total {
			return res, nil
		}
		st.Done = false
		if err := save(st); err != nil {
			return res, err
		}
		s.Resume = &st
	}
}

type checkpoint struct {
	slice int
	state *dip.FitState
}

// writeCheckpoint saves the state of the slice in flight (finished slices
// are in the job's folder).
func writeCheckpoint(path, fp string, slice int, st dip.FitState) error {
	w, err := h5io.Create(path)
	if err != nil {
		return err
	}
	w.GroupAttrs("/ckpt", h5io.Attr{Name: "fingerprint", Value: fp}, h5io.Attr{Name: "slice", Value: slice},
		h5io.Attr{Name: "iter", Value: st.Iter}, h5io.Attr{Name: "best_loss", Value: st.BestLoss},
		h5io.Attr{Name: "best_iter", Value: st.BestIter}, h5io.Attr{Name: "output_scale", Value: float64(st.OutputScale)},
		h5io.Attr{Name: "done", Value: b2i(st.Done)}, h5io.Attr{Name: "reason", Value: st.Reason})
	for _, a := range []struct {
		name string
		d    []float32
	}{{"params", st.Params}, {"m", st.M}, {"v", st.V}, {"best_params", st.BestParams}, {"input", st.Input}} {
		w.Float32("/ckpt/"+a.name, []int{len(a.d)}, a.d, h5io.DatasetOptions{})
	}
	return w.Commit()
}

func readCheckpoint(path, fp string) (*checkpoint, error) {
	r, err := h5io.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--resume: %v", err)
	}
	defer r.Close()
	g1, err := r.ReadGroup("/ckpt")
	if err != nil {
		return nil, err
	}
	if got, _ := g1.AttrString("fingerprint"); got != fp {
		return nil, fmt.Errorf("%s was made with other settings:\n  %s\nnow:\n  %s\nresume with the same flags and --threads, or delete the checkpoint", path, got, fp)
	}
	num := func(name string) float64 { v, _ := g1.AttrFloat(name); return v }
	reason, _ := g1.AttrString("reason")
	arr := func(g *h5io.Group, name string) []float32 {
		if a := g.Get(name); a != nil {
			return a.Data
		}
		return nil
	}
	st := &dip.FitState{Iter: int(num("iter")), Params: arr(&g1, "params"), M: arr(&g1, "m"), V: arr(&g1, "v"),
		BestParams: arr(&g1, "best_params"), BestLoss: num("best_loss"), BestIter: int(num("best_iter")),
		Input: arr(&g1, "input"), OutputScale: float32(num("output_scale")), Done: num("done") != 0, Reason: reason}
	return &checkpoint{slice: int(num("slice")), state: st}, nil
}
