package figures

import (
	"fmt"
	"image"
	"image/png"
	"os"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/ctrecon/ctrecon/internal/atomicfile"
)

// Figure lays panels out on a grid, row by row.
type Figure struct {
	// Panels in reading order; a nil entry leaves its cell empty.
	Panels []*Panel
	// Cols is the number of columns; 0 puts all panels in one row.
	Cols int
	// PanelWidth and PanelHeight are one cell's size; zero means
	// 3.6 × 3.2 inches.
	PanelWidth, PanelHeight vg.Length
	// DPI is the PNG resolution; zero means 96.
	DPI int
}

func (f Figure) layout() (cols, rows int, w, h vg.Length, dpi int) {
	cols = f.Cols
	if cols <= 0 {
		cols = max(len(f.Panels), 1)
	}
	rows = max((len(f.Panels)+cols-1)/cols, 1)
	w, h = f.PanelWidth, f.PanelHeight
	if w <= 0 {
		w = 3.6 * vg.Inch
	}
	if h <= 0 {
		h = 3.2 * vg.Inch
	}
	dpi = f.DPI
	if dpi <= 0 {
		dpi = 96
	}
	return
}

// Draw draws the figure on c, one tile per panel.
func (f Figure) Draw(c draw.Canvas) {
	cols, rows, _, _, _ := f.layout()
	pad := vg.Points(8)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad, PadX: pad, PadY: pad}
	for i, pn := range f.Panels {
		if pn != nil {
			pn.Draw(tiles.At(c, i%cols, i/cols))
		}
	}
}

// Render draws the figure on a white RGBA image.
func (f Figure) Render() *image.RGBA {
	cols, rows, w, h, dpi := f.layout()
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(cols)*w, vg.Length(rows)*h), vgimg.UseDPI(dpi))
	f.Draw(draw.New(c))
	return c.Image().(*image.RGBA)
}

// SavePNG renders the figure and writes it to path atomically: the PNG is
// written to a temporary file in the same folder and renamed over path, so
// a failure leaves either the old file or none, never a partial one.
func (f Figure) SavePNG(path string) error {
	return writeAtomic(path, func(fh *os.File) error { return png.Encode(fh, f.Render()) })
}

// SavePNG writes panels as one PNG at path, cols per row (0: one row), with
// the default panel size and resolution. See Figure.SavePNG.
func SavePNG(path string, cols int, panels ...*Panel) error {
	return Figure{Panels: panels, Cols: cols}.SavePNG(path)
}

func writeAtomic(path string, write func(*os.File) error) error {
	// atomicfile gives the figure the usual 0666 less the umask.
	err := atomicfile.Write(path, func(fh *os.File) error {
		if err := write(fh); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("figures: %w", err)
	}
	return nil
}
