package figures

import (
	"image/color"
	"math"

	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
)

// Colormap maps values in the window [Min, Max] to colours through a
// 256-entry lookup table. A table lookup per pixel is what makes rendering a
// 512² image cheap; the moreland maps compute a colour-space conversion per
// call. Values below Min or above Max take the end colours (they are
// clipped, the usual behaviour of an image display window), NaN takes NaN.
//
// *Colormap implements palette.ColorMap so plotter.ColorBar can draw it.
type Colormap struct {
	Name  string
	Table [256]color.NRGBA
	// NaN is the colour of NaN pixels; it is chosen outside the table's
	// colours so missing values stand out.
	NaN color.NRGBA

	min, max float64
}

var _ palette.ColorMap = (*Colormap)(nil)

// Grey is black at Min to white at Max; NaN is shown in magenta.
func Grey() *Colormap {
	m := &Colormap{Name: "grey", NaN: color.NRGBA{R: 255, G: 0, B: 255, A: 255}, max: 1}
	for i := range m.Table {
		v := uint8(i)
		m.Table[i] = color.NRGBA{R: v, G: v, B: v, A: 255}
	}
	return m
}

// viridisStops are ten equally spaced samples of matplotlib's viridis map
// (CC0, van der Walt and Smith); interpolating them in sRGB stays within a
// few levels of the full 256-entry table, and keeps its monotone lightness.
var viridisStops = [...]uint32{
	0x440154, 0x482878, 0x3e4989, 0x31688e, 0x26828e,
	0x1f9e89, 0x35b779, 0x6ece58, 0xb5de2b, 0xfde725,
}

// Viridis is the perceptually uniform viridis map (dark purple at Min to
// yellow at Max), for standard deviations and other non-negative maps.
// NaN is shown in red, which viridis never reaches.
func Viridis() *Colormap {
	m := &Colormap{Name: "viridis", NaN: color.NRGBA{R: 230, G: 0, B: 0, A: 255}, max: 1}
	n := len(viridisStops) - 1
	for i := range m.Table {
		t := float64(i) / 255 * float64(n)
		k := min(int(t), n-1)
		f := t - float64(k)
		a, b := viridisStops[k], viridisStops[k+1]
		ch := func(shift uint) uint8 {
			ca := float64((a >> shift) & 0xff)
			cb := float64((b >> shift) & 0xff)
			return uint8(math.Round(ca + f*(cb-ca)))
		}
		m.Table[i] = color.NRGBA{R: ch(16), G: ch(8), B: ch(0), A: 255}
	}
	return m
}

// Diverging is Moreland's smooth blue–white–red map, for signed errors:
// use it with a symmetric window so zero is white. NaN is shown in green.
func Diverging() *Colormap {
	m := &Colormap{Name: "diverging", NaN: color.NRGBA{R: 0, G: 170, B: 0, A: 255}, max: 1}
	src := moreland.SmoothBlueRed()
	src.SetMin(0)
	src.SetMax(1)
	for i := range m.Table {
		c, err := src.At(float64(i) / 255)
		if err != nil {
			panic(err) // cannot happen: i/255 is in [0, 1]
		}
		m.Table[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
	}
	return m
}

// WithWindow returns a copy of m whose window is [lo, hi].
// It panics unless lo < hi (Window.Resolve always returns such a pair).
func (m *Colormap) WithWindow(lo, hi float64) *Colormap {
	if !(lo < hi) {
		panic("figures: colormap window needs lo < hi")
	}
	c := *m
	c.min, c.max = lo, hi
	return &c
}

// Lookup returns the colour of v: the table entry of v's position in the
// window, the end colours outside it, and NaN's colour for NaN.
func (m *Colormap) Lookup(v float64) color.NRGBA {
	if math.IsNaN(v) {
		return m.NaN
	}
	// 256 equal bins over the window; the top value falls in the last.
	t := (v - m.min) / (m.max - m.min) * 256
	switch {
	case t <= 0:
		return m.Table[0]
	case t >= 255:
		return m.Table[255]
	}
	return m.Table[int(t)]
}

// At implements palette.ColorMap.
func (m *Colormap) At(v float64) (color.Color, error) {
	switch {
	case v < m.min:
		return nil, palette.ErrUnderflow
	case v > m.max:
		return nil, palette.ErrOverflow
	}
	return m.Lookup(v), nil
}

// Min implements palette.ColorMap.
func (m *Colormap) Min() float64 { return m.min }

// Max implements palette.ColorMap.
func (m *Colormap) Max() float64 { return m.max }

// SetMin implements palette.ColorMap.
func (m *Colormap) SetMin(v float64) { m.min = v }

// SetMax implements palette.ColorMap.
func (m *Colormap) SetMax(v float64) { m.max = v }

// Alpha implements palette.ColorMap; the table is opaque.
func (m *Colormap) Alpha() float64 { return 1 }

// SetAlpha implements palette.ColorMap. Only opaque maps are supported.
func (m *Colormap) SetAlpha(a float64) {
	if a != 1 {
		panic("figures: Colormap supports only alpha = 1")
	}
}

// Palette implements palette.ColorMap, sampling n colours across the table.
func (m *Colormap) Palette(n int) palette.Palette {
	cs := make([]color.Color, n)
	for i := range cs {
		k := 0
		if n > 1 {
			k = i * 255 / (n - 1)
		}
		cs[i] = m.Table[k]
	}
	return plte(cs)
}

type plte []color.Color

func (p plte) Colors() []color.Color { return p }
