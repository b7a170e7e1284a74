package figures

import (
	"fmt"
)

// Recon is one slice of a reconstruction to draw with ReconPanels.
type Recon struct {
	Title string    // the reconstruction panel's title (e.g. the method)
	N     int       // image side
	Image []float32 // N×N
	Truth []float32 // N×N ground truth, or nil
	Std   []float32 // N×N std map, or nil
	// Calibration adds RMSE against predicted σ by σ bin (needs Truth and Std).
	Calibration bool
}

// ReconPanels lays out a reconstruction slice: [truth |] image [| error]
// [| std [| calibration]]. image gives the options of the grey panels from
// their titles; with a truth and keepWindow false, truth and image share
// the truth's full range, so the two are comparable by eye.
func ReconPanels(r Recon, image func(title string) ImageOptions, keepWindow bool) ([]*Panel, error) {
	n := r.N
	for _, a := range []struct {
		name string
		v    []float32
	}{{"image", r.Image}, {"truth", r.Truth}, {"std", r.Std}} {
		if a.v != nil && len(a.v) != n*n {
			return nil, fmt.Errorf("figures: %s has %d values for a %d×%d image", a.name, len(a.v), n, n)
		}
	}
	if r.Image == nil {
		return nil, fmt.Errorf("figures: no image to draw")
	}
	if r.Calibration && (r.Truth == nil || r.Std == nil) {
		return nil, fmt.Errorf("figures: a calibration plot needs a truth and a std map")
	}
	if r.Truth != nil && !keepWindow {
		lo, hi := Percentiles(0, 100).Resolve(r.Truth)
		base := image
		image = func(t string) ImageOptions {
			o := base(t)
			o.Window = Fixed(lo, hi)
			return o
		}
	}
	var panels []*Panel
	if r.Truth != nil {
		panels = append(panels, ImagePanel(r.Truth, n, n, image("ground truth")))
	}
	panels = append(panels, ImagePanel(r.Image, n, n, image(r.Title)))
	var errImg []float32
	if r.Truth != nil {
		errImg = make([]float32, n*n)
		for i := range errImg {
			errImg[i] = r.Image[i] - r.Truth[i]
		}
		panels = append(panels, ImagePanel(errImg, n, n, ImageOptions{
			Title: "error", Map: Diverging(), Window: Window{Hi: 99.5, Symmetric: true}}))
	}
	if r.Std != nil {
		panels = append(panels, ImagePanel(r.Std, n, n, ImageOptions{
			Title: "std", Map: Viridis(), Window: FromZero(r.Std, 99.5)}))
		if r.Calibration {
			p, err := CalibrationPanel(r.Std, errImg, 10, LineOptions{Title: "calibration", XLabel: "predicted σ", YLabel: "RMSE"})
			if err != nil {
				return nil, err
			}
			panels = append(panels, p)
		}
	}
	return panels, nil
}

// Volume is one image volume, [Slices][N][N], to draw with VolumePanels.
type Volume struct {
	Name   string
	Slices int
	N      int
	Data   []float32
	Std    bool // a std map: viridis from zero, labelled as a std
}

// VolumePanels draws three orthogonal planes (axial, coronal, sagittal)
// through the voxel at = (slice, row, column) of each volume, a row of
// three panels per volume; nil at is the centre of the first. image gives
// the options of a non-std panel from its title; unless keepWindow, each
// such volume gets one 0.5–99.5 percentile window for its three planes.
// The volumes must have the same shape.
func VolumePanels(vols []Volume, at *[3]int, image func(title string) ImageOptions, keepWindow bool) ([]*Panel, error) {
	if len(vols) == 0 {
		return nil, fmt.Errorf("figures: no volume to draw")
	}
	slices, n := vols[0].Slices, vols[0].N
	k, i, j := slices/2, n/2, n/2
	if at != nil {
		k, i, j = at[0], at[1], at[2]
	}
	var panels []*Panel
	for _, v := range vols {
		if v.Slices != slices || v.N != n {
			return nil, fmt.Errorf("figures: volume %s is %d×%d×%d, %s %d×%d×%d", v.Name, v.Slices, v.N, v.N, vols[0].Name, slices, n, n)
		}
		ax, co, sa, err := OrthoSlices(v.Data, v.Slices, n, k, i, j)
		if err != nil {
			return nil, err
		}
		opt := func(t string) ImageOptions {
			o := image(t)
			o.BarLabel = "image value"
			if v.Std {
				o.Map, o.Window = Viridis(), FromZero(v.Data, 99.5)
				o.BarLabel = "std (image units)"
			} else if !keepWindow {
				lo, hi := Percentiles(0.5, 99.5).Resolve(v.Data)
				o.Window = Fixed(lo, hi)
			}
			return o
		}
		axo := opt(fmt.Sprintf("%s: axial, slice %d", v.Name, k))
		axo.XLabel, axo.YLabel = "column (pixel)", "row (pixel)"
		// A few slices of a large image would make the coronal and sagittal
		// planes thin strips: their slice axis is stretched to at most 2:1,
		// and the axis label says by how much (the files record no slice spacing).
		stretch := max(1, float64(n)/float64(v.Slices)/2)
		sliceLabel := "slice (index)"
		if stretch > 1 {
			sliceLabel = fmt.Sprintf("slice (index, drawn ×%.3g)", stretch)
		}
		coo := opt(fmt.Sprintf("%s: coronal, row %d", v.Name, i))
		coo.XLabel, coo.YLabel = "column (pixel)", sliceLabel
		sao := opt(fmt.Sprintf("%s: sagittal, column %d", v.Name, j))
		sao.XLabel, sao.YLabel = "row (pixel)", sliceLabel
		cp, sp := ImagePanel(co, v.Slices, n, coo), ImagePanel(sa, v.Slices, n, sao)
		cp.Aspect /= stretch
		sp.Aspect /= stretch
		panels = append(panels, ImagePanel(ax, n, n, axo), cp, sp)
	}
	return panels, nil
}

// StrategyCurve is one strategy of an experimental-design study: a score's
// mean ± s.e. over runs at each angle count, and the paired difference to
// the reference strategy on the same runs (images and seeds). The
// reference's own Diff is zero.
type StrategyCurve struct {
	Name         string
	Angles       []float64
	Mean, SE     []float64
	Diff, DiffSE []float64
}

// StrategyPanels draws a design study: the score against the number of
// angles for each strategy, and beside it each strategy's paired
// difference to ref (ref itself the zero line) when every curve has one.
// The second panel is the one that decides: images differ from each other
// more than strategies do on one image, so the first panel's error bars
// overlap where the paired differences are many standard errors apart. A
// strategy keeps its colour and marker in both panels. score names the
// quantity with its unit, e.g. "DIP PSNR (dB)".
func StrategyPanels(score, ref string, curves []StrategyCurve) ([]*Panel, error) {
	var abs, diff []Series
	paired := len(curves) > 0
	for _, c := range curves {
		if len(c.Angles) != len(c.Mean) || len(c.Angles) != len(c.SE) || len(c.Diff) != len(c.DiffSE) ||
			(len(c.Diff) > 0 && len(c.Diff) != len(c.Angles)) {
			return nil, fmt.Errorf("figures: strategy %s: %d angle counts, %d means, %d standard errors, %d differences with %d standard errors",
				c.Name, len(c.Angles), len(c.Mean), len(c.SE), len(c.Diff), len(c.DiffSE))
		}
		abs = append(abs, Series{Name: c.Name, X: c.Angles, Y: c.Mean, Err: c.SE, Points: true})
		diff = append(diff, Series{Name: c.Name, X: c.Angles, Y: c.Diff, Err: c.DiffSE, Points: true})
		paired = paired && len(c.Diff) > 0
	}
	left, err := LinePanel(LineOptions{Title: score + " by strategy (mean ± s.e.)", XLabel: "number of angles", YLabel: score}, abs...)
	if err != nil {
		return nil, err
	}
	if !paired {
		return []*Panel{left}, nil
	}
	right, err := LinePanel(LineOptions{Title: "minus " + ref + " on the same image (paired mean ± s.e.)", XLabel: "number of angles",
		YLabel: "difference in " + score}, diff...)
	if err != nil {
		return nil, err
	}
	return []*Panel{left, right}, nil
}
