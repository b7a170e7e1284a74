package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/figures"
	"github.com/ctrecon/ctrecon/h5io"
)

type plotOpts struct {
	in, out, dataset, truth string
	slice                   int
	window, cmap, title     string
	calibration             bool
	volume                  bool
	at                      string
}

func plotCmd() *cobra.Command {
	var o plotOpts
	cmd := &cobra.Command{
		Use:   "plot",
		Short: "Draw an image, sinogram or std map of a file as a PNG with a colour bar",
		Long: `Draws what a file holds, one slice (--slice):
  image file           the image
  scan file            the sinogram (angle in degrees against detector bin),
                       beside the ground truth when the scan has one
  reconstruction file  the image, and its std map when there is one;
                       with --truth SCAN also truth | reconstruction | error
  plan file            the scores against angle, chosen and measured angles,
                       as ctrecon plan draws them
  --dataset PATH       any 2D or 3D dataset of any file
  --volume             three orthogonal slices (axial, coronal, sagittal)
                       of an image volume, a reconstruction (and its std
                       map), or a 3D --dataset, through --at k,i,j (slice,
                       row, column; default the centre). Each plane fills
                       a panel of the same size: the slice axis is not
                       drawn to scale.

The window defaults to the 0.5–99.5 percentiles (std maps from 0); set it with
--window lo:hi. --calibration (with --truth) adds RMSE against predicted σ,
binned by σ: a calibrated std map follows the diagonal.`,
		Example: `  ctrecon plot -i fbp.h5 -o fbp.png
  ctrecon plot -i scan.h5 -o sino.png
  ctrecon plot -i dip.h5 --truth scan.h5 --calibration -o dip.png
  ctrecon plot -i head.h5 --window 0:0.5 -o head.png
  ctrecon plot -i uq.h5 --volume --at 54,64,64 -o volume.png`,
		RunE: func(cmd *cobra.Command, args []string) error { return runPlot(o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.in, "in", "i", "", "input HDF5 file")
	f.StringVarP(&o.out, "out", "o", "", "output PNG file")
	f.StringVar(&o.dataset, "dataset", "", "draw this dataset instead of the file's main content")
	f.StringVar(&o.truth, "truth", "", "scan or image file with the ground truth, to draw the error")
	f.IntVar(&o.slice, "slice", 0, "slice to draw")
	f.StringVar(&o.window, "window", "", "display window lo:hi (default: 0.5–99.5 percentiles)")
	f.StringVar(&o.cmap, "cmap", "", "grey, viridis or diverging (default by content)")
	f.StringVar(&o.title, "title", "", "title of the first panel")
	f.BoolVar(&o.calibration, "calibration", false, "add a calibration plot (needs a std map and --truth)")
	f.BoolVar(&o.volume, "volume", false, "draw three orthogonal slices of a volume")
	f.StringVar(&o.at, "at", "", "with --volume: the voxel k,i,j the planes pass through (default: the centre)")
	return cmd
}

func parseWindow(s string) (figures.Window, bool, error) {
	if s == "" {
		return figures.Percentiles(0.5, 99.5), false, nil
	}
	a, b, ok := strings.Cut(s, ":")
	lo, err1 := strconv.ParseFloat(a, 64)
	hi, err2 := strconv.ParseFloat(b, 64)
	if !ok || err1 != nil || err2 != nil || !(lo < hi) {
		return figures.Window{}, false, usagef("--window %q: want lo:hi with lo < hi", s)
	}
	return figures.Fixed(lo, hi), true, nil
}

func colormap(name string, def *figures.Colormap) (*figures.Colormap, error) {
	switch name {
	case "":
		return def, nil
	case "grey", "gray":
		return figures.Grey(), nil
	case "viridis":
		return figures.Viridis(), nil
	case "diverging":
		return figures.Diverging(), nil
	}
	return nil, usagef("--cmap %q: want grey, viridis or diverging", name)
}

func runPlot(o plotOpts) error {
	if o.in == "" {
		return usagef("an input file is required: -i FILE")
	}
	if err := checkOutput(o.out, o.in); err != nil {
		return err
	}
	win, winSet, err := parseWindow(o.window)
	if err != nil {
		return err
	}
	grey, err := colormap(o.cmap, figures.Grey())
	if err != nil {
		return err
	}
	r, err := h5io.Open(o.in)
	if err != nil {
		return err
	}
	defer r.Close()
	title := func(def string) string {
		if o.title != "" {
			return o.title
		}
		return def
	}
	var panels []*figures.Panel
	imgOpt := func(t string) figures.ImageOptions {
		return figures.ImageOptions{Title: t, Map: grey, Window: win}
	}
	if o.at != "" && !o.volume {
		return usagef("--at is for --volume")
	}
	if r.Has("/design/theta_candidates") && o.dataset == "" {
		r.Close()
		return plotPlanFile(o.in, o.out)
	}
	if o.volume {
		r.Close()
		if panels, err = volumePanels(o, imgOpt); err != nil {
			return err
		}
		if err := figures.SavePNG(o.out, 3, panels...); err != nil {
			return err
		}
		logf("wrote %s", o.out)
		return nil
	}
	switch {
	case o.dataset != "":
		data, shape, err := r.Float32(o.dataset, -1)
		if err != nil {
			return err
		}
		img, rows, cols, err := slice2D(data, shape, o.slice, o.dataset)
		if err != nil {
			return err
		}
		panels = append(panels, figures.ImagePanel(img, rows, cols, imgOpt(title(o.dataset))))
	case r.Has("/exchange/data"):
		r.Close()
		scan, err := h5io.ReadScan(o.in)
		if err != nil {
			return err
		}
		if o.slice < 0 || o.slice >= scan.Slices {
			return usagef("--slice %d: the scan has %d slice(s)", o.slice, scan.Slices)
		}
		so := imgOpt(title(fmt.Sprintf("sinogram, %d angles", scan.Angles())))
		so.XLabel, so.YLabel = "detector bin", "angle (°)"
		if !winSet {
			so.Window = figures.Percentiles(0, 100)
		}
		panels = append(panels, figures.SinogramPanel(scan.Sinogram(nil, o.slice), scan.ThetaDeg, scan.NDet, so))
		if scan.GroundTruth != nil {
			panels = append(panels, figures.ImagePanel(scan.GroundTruth.Slice(o.slice), scan.ImageSize, scan.ImageSize, imgOpt("ground truth")))
		}
	case r.Has("/recon/image"):
		r.Close()
		rc, err := h5io.ReadRecon(o.in)
		if err != nil {
			return err
		}
		if panels, err = reconPanels(rc, o, imgOpt, title); err != nil {
			return err
		}
	case r.Has("/image"):
		r.Close()
		f, err := h5io.ReadImage(o.in)
		if err != nil {
			return err
		}
		if o.slice < 0 || o.slice >= f.Image.Slices {
			return usagef("--slice %d: the file has %d slice(s)", o.slice, f.Image.Slices)
		}
		panels = append(panels, figures.ImagePanel(f.Image.Slice(o.slice), f.Image.N, f.Image.N, imgOpt(title("image"))))
	default:
		return fmt.Errorf("%s: no /image, /exchange/data or /recon/image; name a dataset with --dataset (see ctrecon info)", o.in)
	}
	if err := figures.SavePNG(o.out, min(len(panels), 4), panels...); err != nil {
		return err
	}
	logf("wrote %s", o.out)
	return nil
}

// reconPanels draws one slice of a reconstruction (figures.ReconPanels),
// with the truth from --truth.
func reconPanels(rc *h5io.Recon, o plotOpts, imgOpt func(string) figures.ImageOptions, title func(string) string) ([]*figures.Panel, error) {
	if o.slice < 0 || o.slice >= rc.Image.Slices {
		return nil, usagef("--slice %d: the file has %d slice(s)", o.slice, rc.Image.Slices)
	}
	if o.calibration && rc.Std == nil {
		return nil, fmt.Errorf("%s has no /recon/std to calibrate (run ctrecon uncertainty)", o.in)
	}
	if o.calibration && o.truth == "" {
		return nil, usagef("--calibration needs --truth")
	}
	n := rc.Image.N
	view := figures.Recon{Title: title(rc.Method), N: n, Image: rc.Image.Slice(o.slice), Calibration: o.calibration}
	if rc.Std != nil {
		view.Std = rc.Std.Slice(o.slice)
	}
	if o.truth != "" {
		tv, err := h5io.ReadGroundTruth(o.truth)
		if err != nil {
			return nil, err
		}
		if tv.N != n || tv.Slices != rc.Image.Slices {
			return nil, fmt.Errorf("%s: ground truth is %d×%d×%d, the reconstruction %d×%d×%d", o.truth, tv.Slices, tv.N, tv.N, rc.Image.Slices, n, n)
		}
		view.Truth = tv.Slice(o.slice)
	}
	return figures.ReconPanels(view, imgOpt, winSetFor(o))
}

// volumePanels draws three orthogonal planes of the file's volume
// (figures.VolumePanels): of the image, and for a reconstruction with a std
// map of the std too (a second row).
func volumePanels(o plotOpts, imgOpt func(string) figures.ImageOptions) ([]*figures.Panel, error) {
	if o.truth != "" || o.calibration {
		return nil, usagef("--volume draws the volume itself: --truth and --calibration are for one slice")
	}
	var at *[3]int
	if o.at != "" {
		parts := strings.Split(o.at, ",")
		var v [3]int
		var err error
		for q := range v {
			if len(parts) != 3 {
				break
			}
			if v[q], err = strconv.Atoi(strings.TrimSpace(parts[q])); err != nil {
				break
			}
		}
		if len(parts) != 3 || err != nil {
			return nil, usagef("--at %q: want k,i,j (slice, row, column)", o.at)
		}
		at = &v
	}
	named, err := h5io.ReadVolumes(o.in, o.dataset)
	if err != nil {
		return nil, err
	}
	vols := make([]figures.Volume, len(named))
	for q, v := range named {
		vols[q] = figures.Volume{Name: v.Name, Slices: v.Slices, N: v.N, Data: v.Data, Std: v.Std}
	}
	panels, err := figures.VolumePanels(vols, at, imgOpt, winSetFor(o))
	if err != nil && at != nil {
		return nil, usagef("--at: %v", err)
	}
	return panels, err
}

func slice2D(data []float32, shape []int, k int, name string) ([]float32, int, int, error) {
	switch len(shape) {
	case 2:
		return data, shape[0], shape[1], nil
	case 3:
		if k < 0 || k >= shape[0] {
			return nil, 0, 0, usagef("--slice %d: %s has %d slices", k, name, shape[0])
		}
		sz := shape[1] * shape[2]
		return data[k*sz : (k+1)*sz], shape[1], shape[2], nil
	}
	return nil, 0, 0, fmt.Errorf("%s has shape %v: only 2D images and 3D stacks can be drawn", name, shape)
}

func winSetFor(o plotOpts) bool { return o.window != "" }

// plotPlanFile draws a plan file as ctrecon plan does: the first round's
// scores against angle, the chosen angles, and the measured ones when the
// scan the plan records is still there.
func plotPlanFile(in, out string) error {
	pl, err := h5io.ReadPlan(in)
	if err != nil {
		return err
	}
	if len(pl.Selected) == 0 {
		return fmt.Errorf("%s chose no angle: nothing to draw", in)
	}
	C := len(pl.Candidates)
	ps := figures.PlanScores{CandidatesDeg: pl.Candidates, Scores: pl.Scores[:C], Criterion: pl.Criterion}
	for _, a := range pl.Selected {
		if i := slices.Index(pl.Candidates, a); i >= 0 {
			ps.Chosen = append(ps.Chosen, i)
		}
	}
	scanPath, _ := pl.AttrString("scan")
	if scan, err := h5io.ReadScan(scanPath); err == nil {
		ps.MeasuredDeg = scan.ThetaDeg
	}
	pn, err := figures.PlanPanel(ps)
	if err != nil {
		return fmt.Errorf("%s: %v", in, err)
	}
	return figures.SavePNG(out, 1, pn)
}
