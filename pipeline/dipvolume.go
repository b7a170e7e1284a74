package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/radon"
	"github.com/ctrecon/ctrecon/volume"
)

// DIPVolume fits a DIP to each slice of Range of a scan, one U-Net per
// slice, and writes the reconstruction file Out: /recon/image, the trained
// models under /dip (which uncertainty linearises) and the per-slice table
// /slices. Finished slices are kept in Out.slices/ and the slice in flight
// is checkpointed to Out.ckpt every CheckpointEvery iterations; with Resume
// a run continues where an interrupted one stopped and ends with the files
// an uninterrupted run writes (same settings and Threads).
type DIPVolume struct {
	Scan     *h5io.Scan
	ScanPath string // recorded, made absolute, as the output's "scan" attribute
	Out      string
	Range    volume.Range

	Preset string // the preset's name, recorded with the model
	Arch   dip.Arch
	// Fit holds the settings every slice shares (MaxIter, Gamma, LR, Tau,
	// Seed, MinIter, HoldOut); NoiseStd, Input, GroundTruth, InitParams and
	// Resume are set per slice.
	Fit       dip.FitSettings
	Input     string // the network's input: "fbp" (the slice's Hann FBP) or "noise"
	Stop      string // "discrepancy", "holdout" (Fit.HoldOut > 0) or "max"
	WarmStart bool   // each slice starts from the previous slice's trained weights

	CheckpointEvery int // iterations between checkpoints (≥ 1)
	Resume          bool
	// Threads and Backend enter the resume fingerprint only: a resumed
	// slice is bit-identical to an uninterrupted one under the same thread
	// count (Backend is "" on the CPU, else e.g. " backend=gpu …").
	Threads int
	Backend string

	Hooks
}

// Settings is the run's settings string: what makes slices of different
// runs comparable (merge checks it).
func (v *DIPVolume) Settings() string {
	f := v.Fit
	s := fmt.Sprintf("preset=%s input=%s iters=%d lr=%g tv=%g stop=%s tau=%g holdout=%g seed=%d warm_start=%v",
		v.Preset, v.Input, f.MaxIter, f.LR, f.Gamma, v.Stop, f.Tau, f.HoldOut, f.Seed, v.WarmStart)
	if f.MinIter > 0 { // only when set, so that earlier runs still resume and merge
		s += fmt.Sprintf(" min_iters=%d", f.MinIter)
	}
	return s
}

// Fingerprint adds to Settings what makes a resumed slice bit-identical.
func (v *DIPVolume) Fingerprint() string {
	return fmt.Sprintf("%s scan=%s threads=%d", v.Settings(), h5io.ScanHash(v.Scan), v.Threads) + v.Backend
}

// DIPChoices are the settings of a DIP run that can be checked without the
// scan: the dip command checks them before it reads the file (so a bad flag
// is a usage error even when the file is missing), DIPVolume again for
// library callers. Check's messages name the CLI flags.
type DIPChoices struct {
	Stop, Input     string
	Iters, MinIters int
	LR, HoldOut     float64
	CheckpointEvery int
}

// Check reports the first bad choice.
func (c DIPChoices) Check() error {
	switch {
	case c.Stop != "discrepancy" && c.Stop != "holdout" && c.Stop != "max":
		return fmt.Errorf("--stop %q: want discrepancy, holdout or max", c.Stop)
	case c.Input != "fbp" && c.Input != "noise":
		return fmt.Errorf("--input %q: want fbp or noise", c.Input)
	case c.Iters < 0 || !(c.LR > 0) || c.CheckpointEvery < 1:
		return fmt.Errorf("--iters %d, --lr %g, --checkpoint-every %d: want --iters ≥ 0, --lr > 0 and --checkpoint-every ≥ 1", c.Iters, c.LR, c.CheckpointEvery)
	case c.Stop == "holdout" && !(c.HoldOut > 0 && c.HoldOut < 0.5):
		return fmt.Errorf("--holdout %g: want a fraction in (0, 0.5)", c.HoldOut)
	case c.MinIters < 0:
		return fmt.Errorf("--min-iters %d: want ≥ 0", c.MinIters)
	}
	return nil
}

func (v *DIPVolume) check() error {
	c := DIPChoices{Stop: v.Stop, Input: v.Input, Iters: v.Fit.MaxIter, MinIters: v.Fit.MinIter,
		LR: v.Fit.LR, HoldOut: v.Fit.HoldOut, CheckpointEvery: v.CheckpointEvery}
	if err := c.Check(); err != nil {
		return err
	}
	if v.Range.Lo < 0 || v.Range.Hi > v.Scan.Slices || v.Range.Len() < 1 {
		return fmt.Errorf("slices %s of a scan with %d", v.Range, v.Scan.Slices)
	}
	return nil
}

// checkpointPath is where the slice in flight is saved.
func (v *DIPVolume) checkpointPath() string { return v.Out + ".ckpt" }

// Run fits the slices and writes Out. It refuses, before writing anything,
// a job that does not fit in memory (Hooks.CheckMemory) or a new run over
// an interrupted one's checkpoint without Resume.
func (v *DIPVolume) Run(ctx context.Context) error {
	if err := v.check(); err != nil {
		return err
	}
	scan := v.Scan
	n := scan.ImageSize
	geo, err := ScanGeometry(scan)
	if err != nil {
		return err
	}
	if err := v.Arch.Validate(n); err != nil {
		return err
	}
	need, err := dip.EstimateBytes(v.Arch, n, 1)
	if err != nil {
		return err
	}
	if err := v.checkMemory(fmt.Sprintf("the %s U-Net at %d²", v.Preset, n), need); err != nil {
		return err
	}
	u0, err := dip.NewUNet(v.Arch, n)
	if err != nil {
		return err
	}
	// One slice's network at a time, plus the assembled volume (image,
	// input and parameters per slice).
	need += volume.AssemblyBytes(v.Range.Len(), n, int64(u0.NumParams()+n*n))
	if err := v.checkMemory(fmt.Sprintf("dip on slices %s (%s U-Net at %d²)", v.Range, v.Preset, n), need); err != nil {
		return err
	}
	A, err := radon.NewOperator(geo)
	if err != nil {
		return err
	}
	ckpt := v.checkpointPath()
	if !v.Resume {
		if _, err := os.Stat(ckpt); err == nil {
			return fmt.Errorf("%s exists from an interrupted run: add --resume to continue it, or delete it to start again", ckpt)
		}
	}
	fp := v.Fingerprint()
	job := volume.Job{Dir: volume.SliceDir(v.Out), Fingerprint: fp, Range: v.Range, ScanSlices: scan.Slices}
	start := time.Now()
	sino := make([]float32, geo.SinoLen())
	var prevParams []float32 // the previous slice's trained weights (WarmStart)
	skip := func(k int) error {
		if v.WarmStart {
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
		v.logf("slice %d: done in an earlier run", k)
		return nil
	}
	err = job.Each(v.Resume, skip, func(k int) (*h5io.Recon, error) {
		t0 := time.Now()
		scan.Sinogram(sino, k)
		s, err := v.sliceSettings(sino, geo, k, prevParams)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(ckpt); err == nil && v.Resume {
			cp, err := readCheckpoint(ckpt, fp)
			if err != nil {
				return nil, err
			}
			if cp.slice == k {
				s.Resume = cp.state
				v.logf("resuming %s: slice %d, iteration %d", v.Out, k, cp.state.Iter)
			}
		}
		u, err := dip.NewUNet(v.Arch, n)
		if err != nil {
			return nil, err
		}
		res, err := v.fitCheckpointed(ctx, u, A, sino, s, k, func(st dip.FitState) error {
			err := writeCheckpoint(ckpt, fp, k, st)
			if v.AfterCheckpoint != nil {
				v.AfterCheckpoint()
			}
			return err
		})
		if err != nil {
			if errors.Is(err, ctx.Err()) {
				v.logf("interrupted: slices before %d are kept in %s and the fit of slice %d in %s; run the same command with --resume to continue", k, job.Dir, k, ckpt)
			}
			return nil, err
		}
		// The checkpoint stays until the next slice's first one replaces it
		// or the output is written: a resume ignores a checkpoint of
		// another slice, and dropping it before the slice file is saved
		// could lose the fit.
		prevParams = res.Params
		msg := fmt.Sprintf("slice %d: stopped by %s after %d iterations, best iterate %d", k, res.Reason, res.Iter, res.BestIter)
		if !math.IsNaN(res.PSNR) {
			msg += fmt.Sprintf(", PSNR %.2f dB", res.PSNR)
		}
		v.logf("%s (%.2fs)", msg, time.Since(t0).Seconds())
		return v.sliceResult(res, k, time.Since(t0).Seconds()), nil
	})
	if err != nil {
		return err
	}
	out, err := job.Assemble()
	if err != nil {
		return err
	}
	out.SetAttr("scan", absPath(v.ScanPath))
	if err := h5io.WriteRecon(v.Out, out); err != nil {
		return err
	}
	job.Clean()
	os.Remove(ckpt)
	v.logf("wrote %s: slices %s (%.2fs)", v.Out, v.Range, time.Since(start).Seconds())
	return nil
}

// sliceSettings are the fit settings of slice k: the noise level (the
// scan's, else estimated from the sinogram; only the discrepancy stop uses
// it), the input, the ground truth for reporting, and the warm start.
func (v *DIPVolume) sliceSettings(sino []float32, geo radon.Geometry, k int, prevParams []float32) (dip.FitSettings, error) {
	s := v.Fit
	n := v.Scan.ImageSize
	if v.Scan.NoiseStd > 0 {
		s.NoiseStd = v.Scan.NoiseStd
	} else {
		var err error
		if s.NoiseStd, err = dip.EstimateNoiseStd(sino, geo.NDet); err != nil {
			return s, err
		}
	}
	if v.Stop != "discrepancy" {
		s.NoiseStd = 0
	}
	if v.Input == "fbp" {
		s.Input = make([]float32, n*n)
		if err := radon.FBP(s.Input, sino, geo, radon.FBPSettings{Filter: radon.Hann}); err != nil {
			return s, err
		}
	}
	if v.Scan.GroundTruth != nil {
		s.GroundTruth = v.Scan.GroundTruth.Slice(k)
	}
	if v.WarmStart && prevParams != nil {
		s.InitParams = prevParams
	}
	return s, nil
}

// StopCodes numbers the DIP's stop reasons in the per-slice table's "stop"
// column (also the table's stop_codes attribute).
var StopCodes = []string{"discrepancy", "held-out", "max-iter", "cancelled"}

func stopCode(reason string) float32 {
	for i, r := range StopCodes {
		if r == reason {
			return float32(i)
		}
	}
	return float32(len(StopCodes))
}

// sliceResult is one fitted slice as a one-slice reconstruction: the
// image, the trained model (/dip) and the slice's row of the per-slice
// table (/slices).
func (v *DIPVolume) sliceResult(res dip.FitResult, k int, seconds float64) *h5io.Recon {
	n := v.Scan.ImageSize
	f := v.Fit
	hash := h5io.ScanHash(v.Scan)
	model := &dip.Model{Preset: v.Preset, Arch: v.Arch, N: n, Slices: 1,
		Input: res.State.Input, OutputScale: []float32{res.State.OutputScale}, Params: res.Params}
	model.Attrs = []h5io.Attr{{Name: "gamma", Value: f.Gamma}, {Name: "lr", Value: f.LR},
		{Name: "max_iter", Value: f.MaxIter}, {Name: "stop", Value: v.Stop}, {Name: "seed", Value: int(f.Seed)},
		{Name: "input_kind", Value: v.Input}, {Name: "scan_hash", Value: hash}, {Name: "warm_start", Value: b2i(v.WarmStart)},
		{Name: "min_iters", Value: f.MinIter}}
	img := h5io.NewVolume(1, n)
	copy(img.Data, res.Image)
	row := func(name string, v float64) h5io.Array {
		return h5io.Array{Name: name, Shape: []int{1}, Data: []float32{float32(v)}}
	}
	// Columns a run has for every slice (PSNR and SSIM only against a
	// ground truth, SSIM from 7² up).
	table := h5io.Group{Path: h5io.SlicesGroup, Attrs: []h5io.Attr{{Name: "stop_codes", Value: strings.Join(StopCodes, ",")}},
		Arrays: []h5io.Array{row("iterations", float64(res.Iter)), row("best_iter", float64(res.BestIter)),
			row("stop", float64(stopCode(res.Reason))), row("seconds", seconds)}}
	attrs := []h5io.Attr{{Name: h5io.AttrScanHash, Value: hash}, {Name: h5io.AttrSettings, Value: v.Settings()},
		{Name: "seconds", Value: seconds}}
	if v.Scan.GroundTruth != nil {
		truth := v.Scan.GroundTruth.Slice(k)
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

// fitCheckpointed runs dip.Fit in chunks of CheckpointEvery iterations,
// calling save with the state after each chunk. A chunk ends as a max-iter
// stop before its Adam step; resuming evaluates the same iterate again and
// takes that step, so the chunked run is bit-identical to one Fit call.
func (v *DIPVolume) fitCheckpointed(ctx context.Context, u *dip.UNet, A linop.Operator, y []float32, s dip.FitSettings,
	slice int, save func(dip.FitState) error) (dip.FitResult, error) {
	total, every, slices := s.MaxIter, v.CheckpointEvery, v.Scan.Slices
	b := v.bar(total, fmt.Sprintf("dip slice %d/%d", slice+1, slices))
	done := 0
	if s.Resume != nil { // the checkpoint's iterations were done by an earlier process
		done = s.Resume.Iter
		b.Skip(done)
	}
	progress := func(p dip.FitProgress) {
		d := fmt.Sprintf("dip %d/%d loss %.3g", slice+1, slices, p.Loss)
		if !math.IsNaN(p.PSNR) {
			d += fmt.Sprintf(" PSNR %.1f", p.PSNR)
		}
		b.Describe(d)
		b.Add(p.Iter - done)
		done = p.Iter
	}
	s.ProgressEvery = max(1, min(every, 50))
	for {
		cur := 0
		if s.Resume != nil {
			cur = s.Resume.Iter
		}
		s.MaxIter = min(total, cur+every)
		res, err := dip.Fit(ctx, u, A, y, s, progress)
		if err != nil {
			if errors.Is(err, ctx.Err()) && res.State.Params != nil {
				if serr := save(res.State); serr != nil {
					return res, fmt.Errorf("%v; saving the checkpoint also failed: %v", err, serr)
				}
			}
			return res, err
		}
		st := res.State
		if st.Reason != "max-iter" || st.Iter >= total {
			b.Finish() // not on an error: a full bar above it would say the slice was done
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
