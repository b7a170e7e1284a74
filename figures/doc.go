// Package figures draws ctrecon's figures with gonum/plot: images and
// sinograms as heat maps with colour bars, line plots with error bars,
// calibration plots, and grids of such panels saved as one PNG.
//
// # Images
//
// Image views a row-major []float32 as a plotter.GridXYZ without copying.
// Raster draws any GridXYZ through a Colormap by filling exactly the
// device pixels of the data area: seamless, and about 50× faster than
// plotter.HeatMap (one rectangle per cell) on a 512² image. Shrunk images
// are area-averaged; enlarged ones show crisp cells; NaN pixels take the
// map's NaN colour, which is not in its table.
//
// Colour maps: Grey for images, Viridis (perceptual) for standard
// deviations, Diverging (Moreland's blue–white–red) for signed errors with
// a symmetric Window. A Window is min..max by default, or percentiles, or
// explicit; the colour bar spans exactly the window.
//
// # Layout
//
// A Panel is one plot plus its optional colour bar; ImagePanel,
// SinogramPanel, LinePanel and CalibrationPanel build them. Figure lays
// panels out on a grid and SavePNG writes it atomically (temporary file in
// the same folder, then rename). Fonts are gonum/plot's embedded
// Liberation fonts, so no system fonts are needed.
//
// # Example
//
//	truth := figures.ImagePanel(x, n, n, figures.ImageOptions{Title: "truth"})
//	errp := figures.ImagePanel(diff, n, n, figures.ImageOptions{
//		Title: "error", Map: figures.Diverging(),
//		Window: figures.Window{Symmetric: true, Hi: 99.5},
//	})
//	err := figures.SavePNG("out/recon.png", 0, truth, errp)
package figures
