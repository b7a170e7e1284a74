package figures

import (
	"image"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/ctrecon/ctrecon/internal/par"
)

// Image views a row-major float32 raster as a plotter.GridXYZ, without
// copying. Pixel (r, c) is Data[r*Cols+c]; column c has centre
// X0 + (c+0.5)·DX and row r has centre Y0 + (r+0.5)·DY, so with the
// defaults of NewImage the axes count pixels, edges at whole numbers.
type Image struct {
	Data       []float32
	Rows, Cols int
	X0, Y0     float64
	DX, DY     float64
}

var _ plotter.GridXYZ = Image{}

// NewImage views data as a rows×cols image with unit pixels.
// It panics if len(data) != rows*cols.
func NewImage(data []float32, rows, cols int) Image {
	if rows < 1 || cols < 1 || len(data) != rows*cols {
		panic("figures: NewImage: len(data) != rows*cols")
	}
	return Image{Data: data, Rows: rows, Cols: cols, DX: 1, DY: 1}
}

// Dims implements plotter.GridXYZ.
func (m Image) Dims() (c, r int) { return m.Cols, m.Rows }

// Z implements plotter.GridXYZ.
func (m Image) Z(c, r int) float64 { return float64(m.Data[r*m.Cols+c]) }

// X implements plotter.GridXYZ.
func (m Image) X(c int) float64 { return m.X0 + (float64(c)+0.5)*m.DX }

// Y implements plotter.GridXYZ.
func (m Image) Y(r int) float64 { return m.Y0 + (float64(r)+0.5)*m.DY }

// Raster draws a GridXYZ as one image through a Colormap: seamless (no cell
// outlines or anti-aliasing gaps, unlike plotter.HeatMap's one rectangle per
// cell) and fast, because it fills exactly the device pixels of the data
// area instead of asking the rasteriser to scale.
//
// Each device pixel takes the mean of the cells whose centres fall inside it
// (area-style averaging when the image is shrunk) or, when none does, the
// cell under its centre (crisp blocks when enlarged). A NaN among those
// cells makes the pixel NaN's colour, so missing values never vanish.
//
// Cell edges lie half-way between neighbouring centres, so X(c) and Y(r)
// must be monotone; they need not be evenly spaced (irregular angles of a
// sinogram). Any plot scale works, including plot.InvertedScale, which the
// panels use to put row 0 at the top.
type Raster struct {
	Grid plotter.GridXYZ
	// Map gives colours and the window; Colormap.WithWindow sets it.
	Map *Colormap
	// DPI is the resolution used on canvases that do not report one
	// (vector formats); zero means 144.
	DPI float64
}

var (
	_ plot.Plotter    = (*Raster)(nil)
	_ plot.DataRanger = (*Raster)(nil)
)

// DataRange implements plot.DataRanger: the outer cell edges.
func (r *Raster) DataRange() (xmin, xmax, ymin, ymax float64) {
	c, rr := r.Grid.Dims()
	ex := edges(c, r.Grid.X)
	ey := edges(rr, r.Grid.Y)
	xmin, xmax = math.Min(ex[0], ex[c]), math.Max(ex[0], ex[c])
	ymin, ymax = math.Min(ey[0], ey[rr]), math.Max(ey[0], ey[rr])
	return
}

// Plot implements plot.Plotter.
func (r *Raster) Plot(c draw.Canvas, p *plot.Plot) {
	img, rect := r.Render(c, p)
	if img != nil {
		c.DrawImage(rect, img)
	}
}

// Render returns the image Plot draws and the rectangle it covers, nil if
// the data area is empty on this canvas.
func (r *Raster) Render(c draw.Canvas, p *plot.Plot) (*image.RGBA, vg.Rectangle) {
	cols, rows := r.Grid.Dims()
	dpi := canvasDPI(c.Canvas)
	if dpi <= 0 {
		dpi = r.DPI
	}
	if dpi <= 0 {
		dpi = 144
	}
	s := dpi / vg.Inch.Points() // device dots per point
	trX, trY := p.Transforms(&c)

	// The image covers whole device pixels, so gg copies it 1:1 with no
	// resampling: the data extent is snapped to whole pixels (moving an
	// edge by at most half a pixel), cells are placed within the snapped
	// extent, and the result is clipped to the canvas. Coordinates are in
	// dots from the canvas origin, x to the right and y up.
	ex, ey := edges(cols, r.Grid.X), edges(rows, r.Grid.Y)
	xa, xb := lowEdge(ex, trX)*s, highEdge(ex, trX)*s
	ya, yb := lowEdge(ey, trY)*s, highEdge(ey, trY)*s
	if !(xb > xa && yb > ya) {
		return nil, vg.Rectangle{}
	}
	X0, X1 := math.Round(xa), math.Round(xb)
	Y0, Y1 := math.Round(ya), math.Round(yb)
	xc, xord := deviceCentres(ex, func(v float64) float64 {
		return X0 + (float64(trX(v))*s-xa)*(X1-X0)/(xb-xa)
	})
	// Rows are counted down from the snapped top edge Y1.
	yc, yord := deviceCentres(ey, func(v float64) float64 {
		return Y1 - (Y0 + (float64(trY(v))*s-ya)*(Y1-Y0)/(yb-ya))
	})
	x0 := math.Max(X0, math.Round(float64(c.Min.X)*s))
	x1 := math.Min(X1, math.Round(float64(c.Max.X)*s))
	y0 := math.Max(Y0, math.Round(float64(c.Min.Y)*s))
	y1 := math.Min(Y1, math.Round(float64(c.Max.Y)*s))
	w, h := int(x1-x0), int(y1-y0)
	if w <= 0 || h <= 0 {
		return nil, vg.Rectangle{}
	}
	clo, chi := spans(xc, x0, w)
	rlo, rhi := spans(yc, Y1-y1, h)

	z := r.Grid.Z
	if m, ok := r.Grid.(Image); ok {
		z = func(c, r int) float64 { return float64(m.Data[r*m.Cols+c]) }
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	par.ForGrain(h, 16, func(lo, hi int) {
		for oy := lo; oy < hi; oy++ {
			row := img.Pix[oy*img.Stride : oy*img.Stride+4*w]
			for ox := range w {
				var sum float64
				n := 0
				for k := rlo[oy]; k < rhi[oy]; k++ {
					for j := clo[ox]; j < chi[ox]; j++ {
						sum += z(xord[j], yord[k])
						n++
					}
				}
				col := r.Map.Lookup(sum / float64(n)) // NaN propagates
				row[4*ox], row[4*ox+1], row[4*ox+2], row[4*ox+3] = premul(col)
			}
		}
	})
	rect := vg.Rectangle{
		Min: vg.Point{X: vg.Length(x0 / s), Y: vg.Length(y0 / s)},
		Max: vg.Point{X: vg.Length(x1 / s), Y: vg.Length(y1 / s)},
	}
	return img, rect
}

// canvasDPI is the resolution of the raster canvas under cv, 0 if none:
// plot wraps canvases in draw.Canvas values (padding, cropping), which hide
// the DPI method of the *vgimg.Canvas inside.
func canvasDPI(cv vg.Canvas) float64 {
	for {
		switch v := cv.(type) {
		case interface{ DPI() float64 }:
			return v.DPI()
		case draw.Canvas:
			cv = v.Canvas
		case *draw.Canvas:
			cv = v.Canvas
		default:
			return 0
		}
	}
}

func premul(c color.NRGBA) (r, g, b, a uint8) {
	if c.A == 255 {
		return c.R, c.G, c.B, 255
	}
	rr, gg, bb, aa := c.RGBA()
	return uint8(rr >> 8), uint8(gg >> 8), uint8(bb >> 8), uint8(aa >> 8)
}

// edges returns the n+1 cell edges of n monotone centres: midpoints between
// neighbours, the ends mirrored; a single cell is one unit wide.
func edges(n int, centre func(int) float64) []float64 {
	e := make([]float64, n+1)
	if n == 1 {
		c := centre(0)
		e[0], e[1] = c-0.5, c+0.5
		return e
	}
	prev := centre(0)
	for i := 1; i < n; i++ {
		cur := centre(i)
		e[i] = (prev + cur) / 2
		prev = cur
	}
	e[0] = 2*centre(0) - e[1]
	e[n] = 2*centre(n-1) - e[n-1]
	return e
}

// deviceCentres maps cell edges to device coordinates and returns the cell
// centres sorted increasingly together with the cell index of each.
func deviceCentres(e []float64, dev func(float64) float64) (centres []float64, order []int) {
	n := len(e) - 1
	centres = make([]float64, n)
	order = make([]int, n)
	flip := dev(e[n]) < dev(e[0])
	for k := range n {
		i := k
		if flip {
			i = n - 1 - k
		}
		centres[k] = (dev(e[i]) + dev(e[i+1])) / 2
		order[k] = i
	}
	return centres, order
}

func lowEdge(e []float64, tr func(float64) vg.Length) float64 {
	return math.Min(float64(tr(e[0])), float64(tr(e[len(e)-1])))
}

func highEdge(e []float64, tr func(float64) vg.Length) float64 {
	return math.Max(float64(tr(e[0])), float64(tr(e[len(e)-1])))
}

// spans assigns to each of the n device pixels starting at origin the
// (sorted) cells [lo, hi) whose centres fall inside it, or the single cell
// nearest its centre when none does.
func spans(centres []float64, origin float64, n int) (lo, hi []int) {
	lo, hi = make([]int, n), make([]int, n)
	for i := range n {
		a := origin + float64(i)
		l := sort.SearchFloat64s(centres, a)
		u := sort.SearchFloat64s(centres, a+1)
		if l == u {
			pc := a + 0.5
			switch {
			case l == len(centres):
				l--
			case l > 0 && pc-centres[l-1] < centres[l]-pc:
				l--
			}
			u = l + 1
		}
		lo[i], hi[i] = l, u
	}
	return lo, hi
}
