package figures

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"
	"gonum.org/v1/plot/vg/vgimg"
)

// rasterOn draws g through cm on a w×h-inch canvas at dpi with the image
// orientation (row 0 on top), returning the Raster's own image, the
// rectangle it covers in device pixels and the whole rendered canvas.
func rasterOn(t *testing.T, g plotter.GridXYZ, cm *Colormap, w, h vg.Length, dpi int) (*image.RGBA, image.Rectangle, *image.RGBA) {
	t.Helper()
	p := plot.New()
	p.X.Padding, p.Y.Padding = 0, 0
	p.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
	r := &Raster{Grid: g, Map: cm}
	p.Add(r)
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi))
	dc := draw.New(c)
	p.Draw(dc)
	img, rect := r.Render(p.DataCanvas(dc), p)
	if img == nil {
		t.Fatal("Render returned no image")
	}
	s := float64(dpi) / 72
	H := c.Image().Bounds().Dy()
	dev := image.Rect(
		int(math.Round(float64(rect.Min.X)*s)), H-int(math.Round(float64(rect.Max.Y)*s)),
		int(math.Round(float64(rect.Max.X)*s)), H-int(math.Round(float64(rect.Min.Y)*s)))
	return img, dev, c.Image().(*image.RGBA)
}

func TestRasterSeamlessAndOriented(t *testing.T) {
	// A 16×16 checkerboard drawn so that a cell covers a non-whole number
	// of device pixels: every pixel must be exactly one of the two colours
	// (plotter.HeatMap's per-cell rectangles leave anti-aliased seams).
	const n = 16
	data := make([]float32, n*n)
	for i := range n {
		for j := range n {
			data[i*n+j] = float32((i + j) % 2)
		}
	}
	data[0] = 0.5 // marks the top-left corner: row 0, column 0
	cm := Grey().WithWindow(0, 1)
	img, dev, full := rasterOn(t, NewImage(data, n, n), cm, 3.3*vg.Inch, 3.1*vg.Inch, 96)
	if img.Bounds().Dx() != dev.Dx() || img.Bounds().Dy() != dev.Dy() {
		t.Fatalf("image %v does not match its device rectangle %v", img.Bounds(), dev)
	}
	if cell := float64(dev.Dx()) / n; cell == math.Trunc(cell) {
		t.Fatalf("cell width %g px is whole; the test needs fractional cells", cell)
	}
	W, H := dev.Dx(), dev.Dy()
	for y := range H {
		for x := range W {
			got := img.RGBAAt(x, y)
			// The canvas must hold the same pixel: the raster is copied 1:1.
			if on := full.RGBAAt(dev.Min.X+x, dev.Min.Y+y); on != got {
				t.Fatalf("canvas pixel (%d,%d) = %v, raster pixel %v: resampled", x, y, on, got)
			}
			// Enlarged, a pixel shows the cell under its centre: no blend,
			// no seam, row 0 on top and column 0 on the left.
			fr := (float64(y) + 0.5) * n / float64(H)
			fc := (float64(x) + 0.5) * n / float64(W)
			if onEdge(fr) || onEdge(fc) {
				continue // a pixel centred on a cell edge may show either
			}
			r, c := int(fr), int(fc)
			want := cm.Lookup(float64(data[r*n+c]))
			if got != color.RGBA(want) {
				t.Fatalf("pixel (%d,%d) = %v, want %v, the colour of cell (%d,%d)", x, y, got, want, r, c)
			}
		}
	}
}

func onEdge(f float64) bool { return math.Abs(f-math.Round(f)) < 1e-9 }

func TestRasterNaNAndConstant(t *testing.T) {
	// A constant image with one NaN: the window must be valid (no panic in
	// the colour bar), the NaN cell shown in the NaN colour, the rest in
	// the constant's colour.
	const n = 4
	data := make([]float32, n*n)
	for i := range data {
		data[i] = 3
	}
	data[1*n+2] = float32(math.NaN())
	lo, hi := Window{}.Resolve(data)
	if !(lo < 3 && 3 < hi) {
		t.Fatalf("window of a constant image = [%g, %g], want an interval around 3", lo, hi)
	}
	for _, cm := range []*Colormap{Grey(), Viridis(), Diverging()} {
		cm = cm.WithWindow(lo, hi)
		for _, c := range cm.Table {
			if c == cm.NaN {
				t.Fatalf("%s: NaN colour %v is also in the table", cm.Name, c)
			}
		}
		img, _, _ := rasterOn(t, NewImage(data, n, n), cm, 3*vg.Inch, 3*vg.Inch, 72)
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		for r := range n {
			for c := range n {
				got := img.RGBAAt((2*c+1)*w/(2*n), (2*r+1)*h/(2*n))
				want := cm.Lookup(3)
				if r == 1 && c == 2 {
					want = cm.NaN
				}
				if got != color.RGBA(want) {
					t.Errorf("%s: cell (%d,%d) = %v, want %v", cm.Name, r, c, got, want)
				}
			}
		}
	}
	// The whole panel, colour bar included, must draw without panicking.
	Figure{Panels: []*Panel{ImagePanel(data, n, n, ImageOptions{Title: "constant"})}}.Render()
	allNaN := []float32{float32(math.NaN()), float32(math.NaN())}
	Figure{Panels: []*Panel{ImagePanel(allNaN, 1, 2, ImageOptions{})}}.Render()
}

func TestRasterDownsampleAverages(t *testing.T) {
	// 512 columns of alternating 0/1 shrunk into far fewer pixels: each
	// pixel averages about equal numbers of both, so all are mid-grey
	// (nearest-neighbour sampling would alias to black or white).
	const n = 512
	data := make([]float32, n*n)
	for i := range data {
		data[i] = float32(i % 2)
	}
	cm := Grey().WithWindow(0, 1)
	img, _, _ := rasterOn(t, NewImage(data, n, n), cm, 3*vg.Inch, 3*vg.Inch, 72)
	if img.Bounds().Dx() >= n/2 {
		t.Fatalf("image is %d px wide; the test needs strong shrinking", img.Bounds().Dx())
	}
	for x := 0; x < img.Bounds().Dx(); x++ {
		// A pixel holds k ≥ 2 columns, so its mean is within 1/(2k) ≤ 1/4... of
		// 1/2 only for even k; odd k = 3 gives 1/3 or 2/3: allow ±0.2.
		if g := float64(img.RGBAAt(x, 10).R) / 255; math.Abs(g-0.5) > 0.2 {
			t.Fatalf("pixel %d has grey level %.2f, want about 0.5", x, g)
		}
	}
}

func TestSinogramRowsInAngleOrder(t *testing.T) {
	// Rows given out of order, each row's value its angle: drawn with
	// angles increasing downwards, the column of pixels must be monotone.
	angles := []float64{90, 0, 170, 45, 10}
	const nDet = 7
	sino := make([]float32, len(angles)*nDet)
	for a, th := range angles {
		for k := range nDet {
			sino[a*nDet+k] = float32(th)
		}
	}
	order := []int{1, 4, 3, 0, 2}
	g := sinoGrid{data: sino, nDet: nDet, angles: angles, order: order}
	img, _, _ := rasterOn(t, g, Grey().WithWindow(0, 180), 3*vg.Inch, 3*vg.Inch, 72)
	prev := -1
	for y := 0; y < img.Bounds().Dy(); y++ {
		v := int(img.RGBAAt(img.Bounds().Dx()/2, y).R)
		if v < prev {
			t.Fatalf("row %d grey %d after %d: angles not increasing downwards", y, v, prev)
		}
		prev = v
	}
	// The public constructor sorts the same way and draws.
	Figure{Panels: []*Panel{SinogramPanel(sino, angles, nDet, ImageOptions{})}}.Render()
}

func TestWindow(t *testing.T) {
	data := make([]float32, 101)
	for i := range data {
		data[i] = float32(i) // percentile p of 0..100 is exactly p
	}
	data = append(data, float32(math.NaN()), float32(math.Inf(1)))
	cases := []struct {
		w      Window
		lo, hi float64
	}{
		{Window{}, 0, 100},
		{Percentiles(10, 90), 10, 90},
		{Percentiles(0.5, 99.5), 0.5, 99.5},
		{Fixed(-1, 2), -1, 2},
		{Window{Symmetric: true}, -100, 100},
		{Window{Symmetric: true, Hi: 50}, -50, 50},
		{FromZero(data[10:], 50), 0, 55}, // 10..100: its median is 55
	}
	// A constant image gets a window centred on its value, scaled to it
	// (1e-8: float32(0.03) is 0.03 only to about 1e-9).
	if lo, hi := (Window{}).Resolve([]float32{0.03, 0.03}); math.Abs(lo-0.015) > 1e-8 || math.Abs(hi-0.045) > 1e-8 {
		t.Errorf("constant 0.03: window [%g, %g], want [0.015, 0.045]", lo, hi)
	}
	if lo, hi := FromZero(make([]float32, 4), 99.5).Resolve(nil); lo != 0 || !(hi > 0) {
		t.Errorf("FromZero of an all-zero map: [%g, %g], want [0, >0]", lo, hi)
	}
	for _, c := range cases {
		lo, hi := c.w.Resolve(data)
		if math.Abs(lo-c.lo) > 1e-12 || math.Abs(hi-c.hi) > 1e-12 {
			t.Errorf("%+v: window [%g, %g], want [%g, %g]", c.w, lo, hi, c.lo, c.hi)
		}
	}
}

func TestColorBarShowsWindow(t *testing.T) {
	data := make([]float32, 64)
	for i := range data {
		data[i] = float32(i)
	}
	for _, w := range []Window{Fixed(-1, 2), Percentiles(10, 90), {}} {
		pn := ImagePanel(data, 8, 8, ImageOptions{Window: w})
		lo, hi := w.Resolve(data)
		if pn.Bar.Y.Min != lo || pn.Bar.Y.Max != hi {
			t.Errorf("%+v: colour bar axis [%g, %g], want [%g, %g]", w, pn.Bar.Y.Min, pn.Bar.Y.Max, lo, hi)
		}
		// Drawing must not widen the bar's axis beyond the window.
		Figure{Panels: []*Panel{pn}}.Render()
		if pn.Bar.Y.Min != lo || pn.Bar.Y.Max != hi {
			t.Errorf("%+v: after drawing, colour bar axis [%g, %g], want [%g, %g]", w, pn.Bar.Y.Min, pn.Bar.Y.Max, lo, hi)
		}
	}
}

func TestColormapLookupEnds(t *testing.T) {
	cm := Viridis().WithWindow(-2, 6)
	if cm.Lookup(-2) != cm.Table[0] || cm.Lookup(-50) != cm.Table[0] {
		t.Error("values at or below Min must take the first colour")
	}
	if cm.Lookup(6) != cm.Table[255] || cm.Lookup(1e9) != cm.Table[255] {
		t.Error("values at or above Max must take the last colour")
	}
	if cm.Lookup(2) != cm.Table[128] {
		t.Error("the window's midpoint must take entry 128")
	}
	// Viridis' lightness rises monotonically: check luma of the table.
	prev := -1.0
	for i, c := range cm.Table {
		y := 0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)
		if y < prev-0.5 { // 0.5: rounding of the 8-bit interpolation
			t.Fatalf("viridis luma falls at entry %d", i)
		}
		prev = y
	}
}

func TestCalibrationGaussian(t *testing.T) {
	// Errors drawn from N(0, σ²) with the stated σ: each bin's RMSE must
	// lie within 4 of its standard errors of the bin's rms σ.
	rng := rand.New(rand.NewPCG(7, 11))
	const n = 20000
	std, e := make([]float32, n), make([]float32, n)
	for i := range std {
		std[i] = float32(0.01 + rng.Float64())
		e[i] = float32(rng.NormFloat64()) * std[i]
	}
	x, y, ye, err := Calibration(std, e, 10)
	if err != nil {
		t.Fatal(err)
	}
	for b := range x {
		if math.Abs(y[b]-x[b]) > 4*ye[b] {
			t.Errorf("bin %d: RMSE %.4f vs rms σ %.4f (se %.4f)", b, y[b], x[b], ye[b])
		}
		if b > 0 && x[b] < x[b-1] {
			t.Errorf("bins not in increasing σ")
		}
	}
	// Overconfident by 2×: now every bin is far off the diagonal.
	for i := range std {
		std[i] /= 2
	}
	x, y, ye, _ = Calibration(std, e, 10)
	for b := range x {
		if math.Abs(y[b]-x[b]) < 4*ye[b] {
			t.Errorf("bin %d: a 2× overconfident σ passed as calibrated", b)
		}
	}
	if _, _, _, err := Calibration(std[:5], e[:5], 10); err == nil {
		t.Error("5 pixels in 10 bins must be an error")
	}
}

func TestLinePanelErrors(t *testing.T) {
	if _, err := LinePanel(LineOptions{}, Series{X: []float64{1, 2}, Y: []float64{1}}); err == nil {
		t.Error("mismatched lengths must be an error")
	}
	if _, err := LinePanel(LineOptions{LogY: true}, Series{X: []float64{1, 2}, Y: []float64{1, 0}}); err == nil {
		t.Error("zero on a log axis must be an error")
	}
	if _, err := LinePanel(LineOptions{}, Series{Name: "a", X: []float64{1, 2}, Y: []float64{1, 3}, Err: []float64{0.1, 0.2}, Points: true}); err != nil {
		t.Error(err)
	}
}

func TestSavePNGAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fig.png")
	pn := ImagePanel([]float32{0, 1, 2, 3}, 2, 2, ImageOptions{})
	if err := SavePNG(path, 0, pn); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("folder holds %d entries, want only fig.png", len(ents))
	}
	if err := SavePNG(filepath.Join(dir, "missing", "fig.png"), 0, pn); err == nil {
		t.Error("saving into a missing folder must fail")
	}
}

var regen = flag.Bool("regen", false, "rewrite testdata/*_golden.png from the current code")

// TestGoldenHeatmap compares a small image panel with its colour bar
// against testdata/heatmap_golden.png; run with -regen to refresh it
// (after looking at the new image).
func TestGoldenHeatmap(t *testing.T) {
	const n = 8
	data := make([]float32, n*n)
	for i := range n {
		for j := range n {
			data[i*n+j] = float32(i*n + j)
		}
	}
	data[3*n+5] = float32(math.NaN())
	f := Figure{
		Panels:     []*Panel{ImagePanel(data, n, n, ImageOptions{Title: "ramp", Map: Viridis(), BarLabel: "value"})},
		PanelWidth: 3 * vg.Inch, PanelHeight: 2.5 * vg.Inch,
	}
	golden := filepath.Join("testdata", "heatmap_golden.png")
	if *regen {
		if err := f.SavePNG(golden); err != nil {
			t.Fatal(err)
		}
		return
	}
	got := f.Render()
	fh, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	want, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("size %v, golden %v", got.Bounds(), want.Bounds())
	}
	// Tolerance: text is anti-aliased by the rasteriser, which may round
	// differently across platforms, touching a few edge pixels by a few
	// levels. A wrong colour, orientation or layout moves far more than
	// 0.2% of the pixels by more than 24 levels.
	bad := 0
	b := got.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			if absDiff(r1, r2) > 24<<8 || absDiff(g1, g2) > 24<<8 || absDiff(b1, b2) > 24<<8 {
				bad++
			}
		}
	}
	if frac := float64(bad) / float64(b.Dx()*b.Dy()); frac > 0.002 {
		out := filepath.Join(t.TempDir(), "heatmap.png")
		_ = f.SavePNG(out)
		t.Errorf("%.2f%% of pixels differ from %s (rendering saved to %s)", 100*frac, golden, out)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func benchmarkImagePanel(b *testing.B, n int) {
	data := make([]float32, n*n)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range data {
		data[i] = float32(rng.Float64())
	}
	b.ResetTimer()
	for b.Loop() {
		Figure{Panels: []*Panel{ImagePanel(data, n, n, ImageOptions{Title: "x"})}}.Render()
	}
}

// BenchmarkHeatmap512 is a whole 512² image panel with its colour bar,
// rendered to a 96-dpi canvas.
func BenchmarkHeatmap512(b *testing.B) { benchmarkImagePanel(b, 512) }

// BenchmarkPlotterHeatMap512 is gonum's plotter.HeatMap on the same data
// and canvas, for comparison.
func BenchmarkPlotterHeatMap512(b *testing.B) {
	const n = 512
	data := make([]float32, n*n)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range data {
		data[i] = float32(rng.Float64())
	}
	for b.Loop() {
		p := plot.New()
		p.Add(plotter.NewHeatMap(NewImage(data, n, n), Grey().WithWindow(0, 1).Palette(256)))
		c := vgimg.NewWith(vgimg.UseWH(3.6*vg.Inch, 3.2*vg.Inch), vgimg.UseDPI(96))
		p.Draw(draw.New(c))
	}
}

// TestLegendBelowThePlot: LinePanel's legend is drawn under the x-axis
// label (so under every curve), in two columns when they fit and one when
// they do not.
func TestLegendBelowThePlot(t *testing.T) {
	var series []Series
	for i := range 6 {
		series = append(series, Series{Name: "series " + string(rune('A'+i)), X: []float64{0, 1}, Y: []float64{float64(i), 0}})
	}
	pn, err := LinePanel(LineOptions{Title: "t", XLabel: "the x label", YLabel: "y"}, series...)
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range []vg.Length{6 * vg.Inch, 1.5 * vg.Inch} {
		rec := new(recorder.Canvas)
		pn.Draw(draw.NewCanvas(rec, width, 4*vg.Inch))
		labelY := vg.Length(-1)
		xs := map[vg.Length]bool{}
		var entries []recorder.FillString
		for _, a := range rec.Actions {
			if fs, ok := a.(*recorder.FillString); ok {
				switch {
				case fs.String == "the x label":
					labelY = fs.Point.Y
				case len(fs.String) == 8 && fs.String[:7] == "series ":
					entries = append(entries, *fs)
					xs[fs.Point.X] = true
				}
			}
		}
		if labelY < 0 || len(entries) != 6 {
			t.Fatalf("width %v: x label at %v, %d legend entries drawn", width, labelY, len(entries))
		}
		for _, e := range entries {
			if e.Point.Y+e.Size > labelY {
				t.Fatalf("width %v: legend entry %q at y %v reaches the x label at %v", width, e.String, e.Point.Y, labelY)
			}
		}
		if want := map[bool]int{true: 2, false: 1}[width > 3*vg.Inch]; len(xs) != want {
			t.Fatalf("width %v: legend in %d columns, want %d", width, len(xs), want)
		}
	}
}

// TestPlanPanelChecksItsInput: scores must match the candidates and a
// chosen index must name one; a good plan renders.
func TestPlanPanelChecksItsInput(t *testing.T) {
	good := PlanScores{CandidatesDeg: []float64{0, 45, 90, 135}, Scores: []float64{math.NaN(), 1, 3, 2},
		Chosen: []int{2, 3}, MeasuredDeg: []float64{0, 360}, Criterion: "eig"}
	if _, err := PlanPanel(good); err != nil {
		t.Fatal(err)
	}
	short := good
	short.Scores = good.Scores[:3]
	if _, err := PlanPanel(short); err == nil {
		t.Error("3 scores for 4 candidates accepted")
	}
	bad := good
	bad.Chosen = []int{4}
	if _, err := PlanPanel(bad); err == nil {
		t.Error("chosen candidate 4 of 4 accepted")
	}
}

// TestSymLogAxis: the symmetric log scale keeps order, is odd around 0,
// linear-like near zero and logarithmic far out (each decade beyond 100
// the same length within 1%), and its ticks label 0 and ±1, 2, 5 × 10^k in range.
func TestSymLogAxis(t *testing.T) {
	s := symLog{}
	lo, hi := -1000.0, 1000.0
	prev := -1.0
	for _, y := range []float64{-1000, -300, -5, -1, -0.1, 0, 0.1, 1, 3, 8, 1000} {
		v := s.Normalize(lo, hi, y)
		if !(v > prev) {
			t.Errorf("Normalize(%g) = %g, not above the previous %g", y, v, prev)
		}
		prev = v
	}
	if v := s.Normalize(lo, hi, 0); math.Abs(v-0.5) > 1e-12 {
		t.Errorf("0 maps to %g, want the middle of a symmetric range", v)
	}
	if a, b := s.Normalize(lo, hi, 7), s.Normalize(lo, hi, -7); math.Abs(a+b-1) > 1e-12 {
		t.Errorf("±7 map to %g and %g: not symmetric", a, b)
	}
	d1 := s.Normalize(-1e4, 1e4, 1000) - s.Normalize(-1e4, 1e4, 100)
	d2 := s.Normalize(-1e4, 1e4, 1e4) - s.Normalize(-1e4, 1e4, 1000)
	if math.Abs(d1-d2) > 0.01*d1 {
		t.Errorf("decades 100–1000 and 1000–10000 span %g and %g", d1, d2)
	}
	var labels []string
	for _, tk := range symLogTicks(-300, 8) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0 1 −1 2 −2 5 −5 −10 −20 −50 −100 −200" {
		t.Errorf("labels in [−300, 8]: %q", got)
	}
	if _, err := LinePanel(LineOptions{SymLogY: true}, Series{X: []float64{5, 10}, Y: []float64{-303, 2.9}, Err: []float64{220, 0.2}}); err != nil {
		t.Fatal(err)
	}
}

// TestShortTicksLabelEnoughValues: an axis gets at least minLabels labelled
// ticks, inside the range, evenly stepped, labelled exactly.
func TestShortTicksLabelEnoughValues(t *testing.T) {
	for _, r := range [][2]float64{{-3.2, 0.6}, {10, 40}, {0.001, 0.0023}, {26, 34}, {-1, 1}} {
		var vals []float64
		var labels []string
		for _, tk := range (shortTicks{}).Ticks(r[0], r[1]) {
			if tk.Label == "" {
				continue
			}
			if tk.Value < r[0]-1e-12 || tk.Value > r[1]+1e-12 {
				t.Errorf("%v: tick %g outside the axis", r, tk.Value)
			}
			if v, err := strconv.ParseFloat(tk.Label, 64); err != nil || math.Abs(v-tk.Value) > 1e-9*math.Max(1, math.Abs(v)) {
				t.Errorf("%v: label %q for %g", r, tk.Label, tk.Value)
			}
			vals, labels = append(vals, tk.Value), append(labels, tk.Label)
		}
		if len(vals) < minLabels {
			t.Errorf("%v: labels %v, want at least %d", r, labels, minLabels)
		}
		for i := 2; i < len(vals); i++ {
			if d1, d0 := vals[i]-vals[i-1], vals[i-1]-vals[i-2]; math.Abs(d1-d0) > 1e-9*math.Abs(d0) {
				t.Errorf("%v: uneven labels %v", r, labels)
				break
			}
		}
	}
}
