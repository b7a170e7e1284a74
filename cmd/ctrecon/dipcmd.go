package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/radon"
)

type dipOpts struct {
	in, out, preset, input string
	iters                  int
	lr, tv, tau, holdout   float64
	stop                   string
	resume                 bool
	ckptEvery              int
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

Presets: small (bayes_dip's 28² U-Net, up to 48²), medium (ours, for 64–256²),
large (bayes_dip's 6-scale walnut U-Net); auto picks by size.

The fit is checkpointed every --checkpoint-every iterations to OUT.ckpt; after
an interruption (Ctrl-C, kill) the same command with --resume continues and ends
where an uninterrupted run would have (same flags and --threads). The output
holds /recon/image and the trained model under /dip (architecture, input,
parameters), which ctrecon uncertainty linearises.`,
		Example: `  ctrecon dip -i scan.h5 -o dip.h5
  ctrecon dip -i scan.h5 --preset small --iters 3000 --tv 1e-4 -o dip.h5
  ctrecon dip -i scan.h5 -o dip.h5 --resume     # after an interruption`,
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
	f.Float64Var(&o.holdout, "holdout", 0.1, "fraction of measurements held out with --stop holdout")
	f.BoolVar(&o.resume, "resume", false, "continue an interrupted run from OUT.ckpt")
	f.IntVar(&o.ckptEvery, "checkpoint-every", 250, "iterations between checkpoints")
	addCenterFlag(cmd)
	return cmd
}

func autoPreset(n int) string { return dip.PresetFor(n) }

// memAvailable returns MemAvailable from /proc/meminfo in bytes (0 if unknown).
func memAvailable() int64 {
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

// checkMemory refuses a job whose estimate exceeds 80% of available memory.
func checkMemory(what string, need int64) error {
	avail := memAvailable()
	debugf("%s: estimated %.1f GiB, available %.1f GiB", what, float64(need)/(1<<30), float64(avail)/(1<<30))
	if avail > 0 && float64(need) > 0.8*float64(avail) {
		return fmt.Errorf("%s needs about %.1f GiB but only %.1f GiB is available; use a smaller preset, image or fewer --threads",
			what, float64(need)/(1<<30), float64(avail)/(1<<30))
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
	if o.stop == "holdout" {
		base.HoldOut = o.holdout
	}
	A := radon.NewProjector(geo)
	ckpt := o.out + ".ckpt"
	fp := fmt.Sprintf("in=%s preset=%s input=%s iters=%d lr=%g tv=%g stop=%s tau=%g holdout=%g seed=%d threads=%d",
		absPath(o.in), preset, o.input, base.MaxIter, base.LR, base.Gamma, o.stop, o.tau, base.HoldOut, g.seed, par.Threads())
	model := &dip.Model{Preset: preset, Arch: arch, N: n, Slices: scan.Slices,
		Input: make([]float32, scan.Slices*n*n), OutputScale: make([]float32, scan.Slices)}
	rec := h5io.NewVolume(scan.Slices, n)
	var params []float32
	first := 0
	var resumeState *dip.FitState
	if o.resume {
		cp, err := readCheckpoint(ckpt, fp)
		if err != nil {
			return err
		}
		first, resumeState = cp.slice, cp.state
		copy(rec.Data, cp.images)
		copy(model.Input, cp.inputs)
		copy(model.OutputScale, cp.scales)
		params = cp.params
		logf("resuming %s: slice %d, iteration %d", o.out, first, resumeState.Iter)
	} else if _, err := os.Stat(ckpt); err == nil {
		return fmt.Errorf("%s exists from an interrupted run: add --resume to continue it, or delete it to start again", ckpt)
	}
	start := time.Now()
	sino := make([]float32, geo.SinoLen())
	var reasons []string
	var iters, bestIters []int
	for k := first; k < scan.Slices; k++ {
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
		u, err := dip.NewUNet(arch, n)
		if err != nil {
			return err
		}
		if k == first && resumeState != nil {
			s.Resume = resumeState
		}
		res, err := fitCheckpointed(cmd, u, A, sino, s, o.ckptEvery, k, scan.Slices, func(st dip.FitState) error {
			err := writeCheckpoint(ckpt, fp, k, st, rec, model, params)
			if afterCheckpoint != nil {
				afterCheckpoint()
			}
			return err
		})
		if err != nil {
			if errors.Is(err, cmd.Context().Err()) {
				logf("interrupted: the fit is saved in %s; run the same command with --resume to continue", ckpt)
			}
			return err
		}
		copy(rec.Slice(k), res.Image)
		copy(model.Input[k*n*n:], res.State.Input)
		model.OutputScale[k] = res.State.OutputScale
		params = append(params, res.Params...)
		reasons = append(reasons, res.Reason)
		iters = append(iters, res.Iter)
		bestIters = append(bestIters, res.BestIter)
		msg := fmt.Sprintf("slice %d: stopped by %s after %d iterations, best iterate %d", k, res.Reason, res.Iter, res.BestIter)
		if !math.IsNaN(res.PSNR) {
			msg += fmt.Sprintf(", PSNR %.2f dB", res.PSNR)
		}
		logf("%s", msg)
	}
	model.Params = params
	model.Attrs = []h5io.Attr{{Name: "gamma", Value: base.Gamma}, {Name: "lr", Value: base.LR},
		{Name: "max_iter", Value: base.MaxIter}, {Name: "stop", Value: o.stop}, {Name: "seed", Value: int(g.seed)},
		{Name: "input_kind", Value: o.input}, {Name: "scan", Value: absPath(o.in)},
		{Name: "scan_hash", Value: scanHash(scan)}}
	if len(iters) > 0 { // slices fitted in this run
		model.Attrs = append(model.Attrs, h5io.Attr{Name: "iterations_last_slice", Value: iters[len(iters)-1]},
			h5io.Attr{Name: "best_iter_last_slice", Value: bestIters[len(bestIters)-1]},
			h5io.Attr{Name: "stop_reason_last_slice", Value: reasons[len(reasons)-1]})
	}
	attrs := append(reportPSNR("dip", scan, rec), h5io.Attr{Name: "seconds", Value: time.Since(start).Seconds()})
	if err := h5io.WriteRecon(o.out, &h5io.Recon{Method: "dip", Image: rec, Attrs: attrs, Groups: []h5io.Group{model.Group()}}); err != nil {
		return err
	}
	os.Remove(ckpt)
	logf("wrote %s (%s)", o.out, fmtDur(time.Since(start).Seconds()))
	return nil
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
func fitCheckpointed(cmd *cobra.Command, u *dip.UNet, A *radon.Projector, y []float32, s dip.FitSettings,
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
	slice                  int
	state                  *dip.FitState
	images, inputs, params []float32
	scales                 []float32
}

// writeCheckpoint saves the finished slices and the state of the current one.
func writeCheckpoint(path, fp string, slice int, st dip.FitState, rec h5io.Volume, m *dip.Model, params []float32) error {
	w, err := h5io.Create(path)
	if err != nil {
		return err
	}
	n := rec.N
	w.GroupAttrs("/ckpt", h5io.Attr{Name: "fingerprint", Value: fp}, h5io.Attr{Name: "slice", Value: slice},
		h5io.Attr{Name: "iter", Value: st.Iter}, h5io.Attr{Name: "best_loss", Value: st.BestLoss},
		h5io.Attr{Name: "best_iter", Value: st.BestIter}, h5io.Attr{Name: "output_scale", Value: float64(st.OutputScale)},
		h5io.Attr{Name: "done", Value: b2i(st.Done)}, h5io.Attr{Name: "reason", Value: st.Reason})
	P := len(st.Params)
	for _, a := range []struct {
		name string
		d    []float32
	}{{"params", st.Params}, {"m", st.M}, {"v", st.V}, {"best_params", st.BestParams}, {"input", st.Input}} {
		w.Float32("/ckpt/"+a.name, []int{len(a.d)}, a.d, h5io.DatasetOptions{})
	}
	w.Float32("/done/images", []int{slice, n, n}, rec.Data[:slice*n*n], h5io.DatasetOptions{})
	w.Float32("/done/inputs", []int{slice, n, n}, m.Input[:slice*n*n], h5io.DatasetOptions{})
	w.Float32("/done/scales", []int{slice}, m.OutputScale[:slice], h5io.DatasetOptions{})
	w.Float32("/done/params", []int{slice, P}, params, h5io.DatasetOptions{})
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
	g2, err := r.ReadGroup("/done")
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
	return &checkpoint{slice: int(num("slice")), state: st, images: arr(&g2, "images"), inputs: arr(&g2, "inputs"),
		scales: arr(&g2, "scales"), params: arr(&g2, "params")}, nil
}
