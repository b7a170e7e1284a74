package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/internal/units"
	"github.com/ctrecon/ctrecon/pipeline"
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
	debugf("%s: estimated %s, available %s", what, units.Bytes(need), units.Bytes(avail))
	if avail > 0 && float64(need) > 0.8*float64(avail) {
		return fmt.Errorf("%s needs about %s but only %s is available (MemAvailable, the cgroup limit or --memory); use a smaller preset, image or fewer --threads",
			what, units.Bytes(need), units.Bytes(avail))
	}
	return nil
}

func runDIP(cmd *cobra.Command, o dipOpts) error {
	if o.in == "" {
		return usagef("an input scan is required: -i SCAN")
	}
	if err := checkOutput(o.out, o.in); err != nil {
		return err
	}
	choices := pipeline.DIPChoices{Stop: o.stop, Input: o.input, Iters: o.iters, MinIters: o.minIters,
		LR: o.lr, HoldOut: o.holdout, CheckpointEvery: o.ckptEvery}
	if err := choices.Check(); err != nil {
		return usageError{err}
	}
	scan, err := loadScan(cmd, o.in)
	if err != nil {
		return err
	}
	if _, err := pipeline.ScanGeometry(scan); err != nil {
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
	fit := dip.DefaultFitSettings(n, scan.Angles(), scan.NoiseRel)
	if o.iters > 0 {
		fit.MaxIter = o.iters
	}
	if o.tv >= 0 {
		fit.Gamma = o.tv
	}
	fit.LR, fit.Tau, fit.Seed, fit.MinIter = o.lr, o.tau, g.seed, o.minIters
	if o.stop == "holdout" {
		fit.HoldOut = o.holdout
	}
	lo, hi, err := parseSlices(o.slices, scan.Slices)
	if err != nil {
		return err
	}
	job := &pipeline.DIPVolume{Scan: scan, ScanPath: o.in, Out: o.out, Range: volume.Range{Lo: lo, Hi: hi},
		Preset: preset, Arch: arch, Fit: fit, Input: o.input, Stop: o.stop, WarmStart: o.warm,
		CheckpointEvery: o.ckptEvery, Resume: o.resume, Threads: par.Threads(), Backend: backendTag(),
		Hooks: cliHooks()}
	return job.Run(cmd.Context())
}

// cliHooks connect a pipeline run to the CLI: its log, progress bars,
// memory check and the tests' checkpoint hook.
func cliHooks() pipeline.Hooks {
	return pipeline.Hooks{Logf: logf, CheckMemory: checkMemory,
		NewBar: func(total int, what string) pipeline.Progress { return newBar(total, what) },
		AfterCheckpoint: func() {
			if afterCheckpoint != nil {
				afterCheckpoint()
			}
		}}
}

// afterCheckpoint, when set (by tests), runs after each checkpoint is saved.
var afterCheckpoint func()
