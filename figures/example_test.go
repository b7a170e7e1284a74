package figures_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ctrecon/ctrecon/figures"
)

// A reconstruction, its error on a symmetric diverging window, and a line
// plot, saved as one PNG.
func Example() {
	const n = 64
	truth, recon, diff := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range n {
		for j := range n {
			x, y := float32(j-n/2)/n, float32(i-n/2)/n
			if x*x+y*y < 0.1 {
				truth[i*n+j] = 1
			}
			recon[i*n+j] = truth[i*n+j] + 0.05*float32((i*7+j*3)%5-2)
			diff[i*n+j] = recon[i*n+j] - truth[i*n+j]
		}
	}
	psnr, err := figures.LinePanel(figures.LineOptions{Title: "PSNR", XLabel: "angles", YLabel: "dB"},
		figures.Series{Name: "FBP", X: []float64{5, 10, 20}, Y: []float64{14, 19, 24}, Points: true},
		figures.Series{Name: "DIP", X: []float64{5, 10, 20}, Y: []float64{18, 23, 28}, Err: []float64{1, 0.8, 0.5}},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "figures")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "recon.png")
	err = figures.SavePNG(path, 2,
		figures.ImagePanel(truth, n, n, figures.ImageOptions{Title: "truth"}),
		figures.ImagePanel(recon, n, n, figures.ImageOptions{Title: "recon", Window: figures.Percentiles(0.5, 99.5)}),
		figures.ImagePanel(diff, n, n, figures.ImageOptions{Title: "error", Map: figures.Diverging(), Window: figures.Window{Symmetric: true}}),
		psnr,
	)
	fmt.Println(err)
	// Output: <nil>
}
