package figures

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"
)

// Panel is one cell of a figure: a plot and, for images, a colour bar
// drawn to its right with the same height as the image.
type Panel struct {
	Plot *plot.Plot
	// Bar is the colour bar, nil for none. Its Y axis spans the window.
	Bar *plot.Plot
	// Aspect > 0 keeps the data area's width/height at this ratio (the
	// data extent's ratio gives square pixels); 0 fills the cell.
	Aspect float64
	// legend holds LinePanel's named series, drawn in a strip below the
	// data area (two columns when they fit) so it never hides a curve.
	legend []legendItem
}

type legendItem struct {
	name   string
	thumbs []plot.Thumbnailer
}

const legendGap = 0.1 * vg.Inch

// legendColumns splits the items into one legend, or two side by side
// when there are more than three and both fit in width w.
func legendColumns(items []legendItem, w vg.Length) []*plot.Legend {
	build := func(it []legendItem) *plot.Legend {
		l := plot.NewLegend()
		l.Top, l.Left = true, true
		l.TextStyle.Font.Size = vg.Points(10)
		for _, e := range it {
			l.Add(e.name, e.thumbs...)
		}
		return &l
	}
	if len(items) > 3 {
		h := (len(items) + 1) / 2
		a, b := build(items[:h]), build(items[h:])
		if legendWidth(a)+legendWidth(b)+legendGap <= w {
			return []*plot.Legend{a, b}
		}
	}
	return []*plot.Legend{build(items)}
}

func legendSize(l *plot.Legend) (w, h vg.Length) {
	c := draw.NewCanvas(new(recorder.Canvas), 10*vg.Inch, 10*vg.Inch)
	r := l.Rectangle(c)
	return r.Max.X - r.Min.X, r.Max.Y - r.Min.Y
}

func legendWidth(l *plot.Legend) vg.Length { w, _ := legendSize(l); return w }

// barWidth is the room the colour bar takes: the bar itself plus its
// tick labels (room for about "-0.25").
const (
	barStrip = 0.18 * vg.Inch
	barGap   = 0.12 * vg.Inch
)

// Draw draws the panel into c.
func (pn *Panel) Draw(c draw.Canvas) {
	main := c
	var barW vg.Length
	if pn.Bar != nil {
		barW = barGap + barStrip + verticalAxisWidth(pn.Bar)
		main = draw.Crop(c, 0, -barW, 0, 0)
	}
	var legends []*plot.Legend
	var legendH vg.Length
	if len(pn.legend) > 0 {
		legends = legendColumns(pn.legend, main.Max.X-main.Min.X)
		for _, l := range legends {
			_, h := legendSize(l)
			legendH = max(legendH, h)
		}
		main = draw.Crop(main, 0, 0, legendH+legendGap, 0)
	}
	if pn.Aspect > 0 {
		dc := pn.Plot.DataCanvas(main)
		w, h := dc.Max.X-dc.Min.X, dc.Max.Y-dc.Min.Y
		if w > 0 && h > 0 {
			if want := h * vg.Length(pn.Aspect); w > want {
				d := (w - want) / 2
				main = draw.Crop(main, d, -d, 0, 0)
			} else if want := w / vg.Length(pn.Aspect); h > want {
				d := (h - want) / 2
				main = draw.Crop(main, 0, 0, d, -d)
			}
		}
	}
	pn.Plot.Draw(main)
	if len(legends) > 0 {
		dc := pn.Plot.DataCanvas(main)
		x := dc.Min.X
		for _, l := range legends {
			w, _ := legendSize(l)
			if len(legends) == 1 {
				x = max(c.Min.X, (dc.Min.X+dc.Max.X-w)/2) // centred under the data
			}
			l.Draw(draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: c.Min.Y}, Max: vg.Point{X: x + w, Y: c.Min.Y + legendH}}})
			x += w + legendGap
		}
	}
	if pn.Bar == nil {
		return
	}
	dc := pn.Plot.DataCanvas(main)
	bc := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: main.Max.X + barGap, Y: dc.Min.Y},
		Max: vg.Point{X: main.Max.X + barW, Y: dc.Max.Y},
	}}
	// The bar's tick labels pad its data area; undo that once so the bar
	// lines up with the image.
	bdc := pn.Bar.DataCanvas(bc)
	bc.Min.Y -= bdc.Min.Y - dc.Min.Y
	bc.Max.Y += dc.Max.Y - bdc.Max.Y
	pn.Bar.Draw(bc)
}

func verticalAxisWidth(p *plot.Plot) vg.Length {
	// Only text metrics are used; nothing is drawn on the recorder.
	c := draw.NewCanvas(new(recorder.Canvas), 10*vg.Inch, 10*vg.Inch)
	return p.DataCanvas(c).Min.X - c.Min.X
}

// ImageOptions configures ImagePanel, GridPanel and SinogramPanel.
type ImageOptions struct {
	Title string
	// Map is the colour map; nil means Grey.
	Map *Colormap
	// Window picks the displayed value range; the zero value is min..max.
	Window Window
	// XLabel and YLabel default to "column (pixel)" and "row (pixel)".
	XLabel, YLabel string
	// BarLabel labels the colour bar's axis.
	BarLabel   string
	NoColorBar bool
}

// ImagePanel shows a rows×cols row-major image, row 0 at the top, with
// axes in pixels, square pixels and a colour bar spanning the window.
func ImagePanel(data []float32, rows, cols int, o ImageOptions) *Panel {
	return gridPanel(NewImage(data, rows, cols), data, true, o)
}

// GridPanel is ImagePanel for any plotter.GridXYZ; Y increases downwards.
func GridPanel(g plotter.GridXYZ, o ImageOptions) *Panel {
	c, r := g.Dims()
	vals := make([]float32, 0, c*r)
	for j := range r {
		for i := range c {
			vals = append(vals, float32(g.Z(i, j)))
		}
	}
	return gridPanel(g, vals, true, o)
}

// SinogramPanel shows a sinogram stored row-major [angle][bin]: detector
// bin on x, angle in degrees on y (increasing downwards). Angles need not
// be sorted or evenly spaced: rows are drawn in angle order, each reaching
// half-way to its neighbours. It panics if len(sino) != len(anglesDeg)*nDet.
func SinogramPanel(sino []float32, anglesDeg []float64, nDet int, o ImageOptions) *Panel {
	if nDet < 1 || len(anglesDeg) < 1 || len(sino) != len(anglesDeg)*nDet {
		panic("figures: SinogramPanel: len(sino) != len(anglesDeg)*nDet")
	}
	order := make([]int, len(anglesDeg))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return anglesDeg[order[a]] < anglesDeg[order[b]] })
	g := sinoGrid{data: sino, nDet: nDet, angles: anglesDeg, order: order}
	if o.XLabel == "" {
		o.XLabel = "detector bin"
	}
	if o.YLabel == "" {
		o.YLabel = "angle (degrees)"
	}
	return gridPanel(g, sino, false, o)
}

type sinoGrid struct {
	data   []float32
	nDet   int
	angles []float64
	order  []int
}

func (g sinoGrid) Dims() (c, r int)   { return g.nDet, len(g.order) }
func (g sinoGrid) Z(c, r int) float64 { return float64(g.data[g.order[r]*g.nDet+c]) }
func (g sinoGrid) X(c int) float64    { return float64(c) + 0.5 }
func (g sinoGrid) Y(r int) float64    { return g.angles[g.order[r]] }

func gridPanel(g plotter.GridXYZ, vals []float32, square bool, o ImageOptions) *Panel {
	cm := o.Map
	if cm == nil {
		cm = Grey()
	}
	lo, hi := o.Window.Resolve(vals)
	cm = cm.WithWindow(lo, hi)

	p := plot.New()
	p.Title.Text = o.Title
	p.X.Label.Text = o.XLabel
	p.Y.Label.Text = o.YLabel
	if p.X.Label.Text == "" {
		p.X.Label.Text = "column (pixel)"
	}
	if p.Y.Label.Text == "" {
		p.Y.Label.Text = "row (pixel)"
	}
	p.X.Padding, p.Y.Padding = 0, 0
	p.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
	p.X.Tick.Marker = shortTicks{}
	p.Y.Tick.Marker = shortTicks{}
	r := &Raster{Grid: g, Map: cm}
	p.Add(r)
	xmin, xmax, ymin, ymax := r.DataRange()
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = xmin, xmax, ymin, ymax

	pn := &Panel{Plot: p}
	if square {
		pn.Aspect = (xmax - xmin) / (ymax - ymin)
	}
	if !o.NoColorBar {
		pn.Bar = colorBar(cm, o.BarLabel)
	}
	return pn
}

// colorBar is a vertical bar of cm's table over its window.
func colorBar(cm *Colormap, label string) *plot.Plot {
	b := plot.New()
	b.HideX()
	b.X.Padding, b.Y.Padding = 0, 0
	b.Y.Label.Text = label
	b.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true, Colors: 256})
	b.Y.Min, b.Y.Max = cm.Min(), cm.Max()
	return b
}

// shortTicks are plot.DefaultTicks labelled with the fewest digits that
// show them exactly ("250", not "250.00"). Where DefaultTicks labels fewer
// than minLabels values (it gave only 0 and −3 on an axis from −3.2 to 0.6),
// the labels step by the 1, 2 or 5 × 10^k that gives at least minLabels.
type shortTicks struct{}

const minLabels = 4

func (shortTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	labelled := 0
	for _, t := range ts {
		if t.Label != "" {
			labelled++
		}
	}
	if labelled < minLabels && max > min {
		ts = ts[:0]
		step := niceStepBelow((max - min) / (minLabels - 1))
		for k := math.Ceil(min / step); k*step <= max; k++ {
			ts = append(ts, plot.Tick{Value: k * step, Label: "x"})
			if m := (k + 0.5) * step; m <= max {
				ts = append(ts, plot.Tick{Value: m})
			}
		}
	}
	for i := range ts {
		if ts[i].Label != "" {
			// k·step carries float noise (0.30000000000000004): 6
			// significant digits drop it.
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'g', 6, 64)
		}
	}
	return ts
}

// niceStepBelow is the largest 1, 2 or 5 × 10^k not above d (d > 0).
func niceStepBelow(d float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(d)))
	for _, f := range []float64{5, 2, 1} {
		if f*p <= d {
			return f * p
		}
	}
	return p
}

// Series is one curve of a LinePanel.
type Series struct {
	Name string
	X, Y []float64
	// Err, when not nil, draws symmetric error bars of ±Err[i] at Y[i].
	Err []float64
	// Points draws a marker at each point; Dashed draws a dashed line.
	Points, Dashed bool
	// NoLine draws markers only.
	NoLine bool
	// Color is the line colour; nil picks one by the series' position
	// (dashed past the palette's seven, where the colours repeat).
	Color color.Color
}

// LineOptions configures LinePanel.
type LineOptions struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	// SymLogY draws y on a symmetric log scale, sign(y)·log10(1 + |y|):
	// for values of both signs across orders of magnitude.
	SymLogY bool
}

// LinePanel plots series as lines (with optional markers and error bars)
// and a legend of the named ones below the data area. It returns an error for series with
// mismatched lengths, no points, or values a log axis cannot show.
func LinePanel(o LineOptions, series ...Series) (*Panel, error) {
	p := plot.New()
	p.Title.Text = o.Title
	p.X.Label.Text = o.XLabel
	p.Y.Label.Text = o.YLabel
	p.X.Tick.Marker, p.Y.Tick.Marker = shortTicks{}, shortTicks{}
	if o.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if o.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if o.SymLogY {
		p.Y.Scale = symLog{}
		p.Y.Tick.Marker = plot.TickerFunc(symLogTicks)
	}
	p.Add(plotter.NewGrid())
	var legend []legendItem
	for i, s := range series {
		if len(s.X) == 0 || len(s.X) != len(s.Y) || (s.Err != nil && len(s.Err) != len(s.Y)) {
			return nil, fmt.Errorf("figures: series %q: len(X)=%d, len(Y)=%d, len(Err)=%d: need equal, non-zero lengths", s.Name, len(s.X), len(s.Y), len(s.Err))
		}
		xys := make(plotter.XYs, len(s.X))
		for k := range xys {
			xys[k].X, xys[k].Y = s.X[k], s.Y[k]
			if (o.LogX && !(s.X[k] > 0)) || (o.LogY && !(s.Y[k] > 0)) {
				return nil, fmt.Errorf("figures: series %q point %d (%g, %g): a log axis needs positive values", s.Name, k, s.X[k], s.Y[k])
			}
		}
		col, dashed := s.Color, s.Dashed
		if col == nil {
			col = plotutil.Color(i)
			// Past the palette the colours repeat: the dashes tell the
			// two series apart.
			dashed = dashed || i >= len(plotutil.DefaultColors)
		}
		var thumbs []plot.Thumbnailer
		if !s.NoLine {
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, fmt.Errorf("figures: series %q: %w", s.Name, err)
			}
			l.Color = col
			l.Width = vg.Points(1.5)
			if dashed {
				l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		if s.Points || s.NoLine {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, fmt.Errorf("figures: series %q: %w", s.Name, err)
			}
			sc.Color = col
			sc.Shape = plotutil.Shape(i)
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if s.Err != nil {
			eb, err := plotter.NewYErrorBars(errPoints{xys, s.Err})
			if err != nil {
				return nil, fmt.Errorf("figures: series %q: %w", s.Name, err)
			}
			eb.Color = col
			p.Add(eb)
		}
		if s.Name != "" {
			legend = append(legend, legendItem{s.Name, thumbs})
		}
	}
	return &Panel{Plot: p, legend: legend}, nil
}

type errPoints struct {
	plotter.XYs
	err []float64
}

func (e errPoints) YError(i int) (float64, float64) { return e.err[i], e.err[i] }

// Calibration bins pixels by predicted standard deviation into bins groups
// of (nearly) equal count and returns, per bin, the root-mean-square σ
// (rms σ), the root-mean-square error (RMSE) and the standard error of that
// RMSE. For a calibrated Gaussian predictive the points lie on RMSE = rms σ.
// Pixels where either value is NaN are skipped. It panics if the lengths
// differ; it returns an error if fewer finite pixels than bins remain.
func Calibration(std, err []float32, bins int) (rmsStd, rmse, rmseErr []float64, e error) {
	if len(std) != len(err) {
		panic("figures: Calibration: len(std) != len(err)")
	}
	idx := make([]int, 0, len(std))
	for i := range std {
		if !math.IsNaN(float64(std[i])) && !math.IsNaN(float64(err[i])) {
			idx = append(idx, i)
		}
	}
	if bins < 1 || len(idx) < bins {
		return nil, nil, nil, fmt.Errorf("figures: Calibration: %d finite pixels for %d bins", len(idx), bins)
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case std[a] < std[b]:
			return -1
		case std[a] > std[b]:
			return 1
		}
		return 0
	})
	for b := range bins {
		lo, hi := b*len(idx)/bins, (b+1)*len(idx)/bins
		var s2, e2, e4 float64
		for _, i := range idx[lo:hi] {
			s, d := float64(std[i]), float64(err[i])
			s2 += s * s
			e2 += d * d
			e4 += d * d * d * d
		}
		n := float64(hi - lo)
		mse := e2 / n
		rmsStd = append(rmsStd, math.Sqrt(s2/n))
		rmse = append(rmse, math.Sqrt(mse))
		// Delta method: se(√m) = se(m)/(2√m), se(m) from the spread of e².
		varE2 := math.Max(e4/n-mse*mse, 0)
		se := 0.0
		if mse > 0 {
			se = math.Sqrt(varE2/n) / (2 * math.Sqrt(mse))
		}
		rmseErr = append(rmseErr, se)
	}
	return rmsStd, rmse, rmseErr, nil
}

// CalibrationPanel plots Calibration's bins (RMSE ± its standard error
// against rms σ) with the ideal line RMSE = σ.
func CalibrationPanel(std, err []float32, bins int, o LineOptions) (*Panel, error) {
	x, y, ye, e := Calibration(std, err, bins)
	if e != nil {
		return nil, e
	}
	if o.XLabel == "" {
		o.XLabel = "predicted σ (rms per bin)"
	}
	if o.YLabel == "" {
		o.YLabel = "RMSE per bin"
	}
	top := math.Max(x[len(x)-1], slices.Max(y))
	lo := 0.0
	if o.LogX || o.LogY {
		lo = math.Min(x[0], slices.Min(y))
		if !(lo > 0) {
			return nil, errors.New("figures: CalibrationPanel: log axes need σ and errors > 0")
		}
	}
	return LinePanel(o,
		Series{Name: "ideal", X: []float64{lo, top}, Y: []float64{lo, top}, Dashed: true, Color: color.Gray{Y: 120}},
		Series{Name: "binned", X: x, Y: y, Err: ye, Points: true, Color: plotutil.Color(0)},
	)
}
