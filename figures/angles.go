package figures

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// AnglesPanel draws an n×n image (as ImagePanel) with, for each parallel-beam
// projection angle in anglesDeg, a line through the image centre along that
// angle's rays, numbered from 1 in order. The first pilot angles are drawn
// grey and dashed; the others are coloured by their order (Viridis, early
// dark, late yellow) and numbered on their upper half, the numbers of
// neighbouring angles at staggered distances from the centre so that they
// do not print over each other.
//
// Rays follow DESIGN.md §2: the ray of angle θ is x cos θ + y sin θ = u, so
// it runs along (−sin θ, cos θ) with x to the right and y up; θ = 0 draws a
// vertical line, θ = 90° a horizontal one. It panics if len(data) != n·n.
func AnglesPanel(data []float32, n int, anglesDeg []float64, pilot int, o ImageOptions) *Panel {
	if n < 1 || len(data) != n*n {
		panic("figures: AnglesPanel: len(data) != n*n")
	}
	pn := ImagePanel(data, n, n, o)
	order := Viridis()
	chosen := max(len(anglesDeg)-pilot, 1)
	radius := labelRadii(n, anglesDeg, pilot)
	var lx, ly []float64
	var labels []string
	for k, deg := range anglesDeg {
		x0, y0, x1, y1 := angleLine(n, deg, 0.48*float64(n))
		l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y1}})
		if err != nil {
			panic(fmt.Sprintf("figures: AnglesPanel: %v", err))
		}
		l.Width = vg.Points(1.5)
		if k < pilot {
			l.Color = color.Gray{Y: 160}
			l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		} else {
			l.Color = order.Lookup(0.15 + 0.85*float64(k-pilot)/float64(max(chosen-1, 1)))
			// The label sits on the half nearer the top of the image.
			lx0, ly0, lx1, ly1 := angleLine(n, deg, radius[k])
			if ly1 < ly0 {
				lx0, ly0 = lx1, ly1
			}
			lx, ly = append(lx, lx0), append(ly, ly0)
			labels = append(labels, strconv.Itoa(k+1))
		}
		pn.Plot.Add(l)
	}
	if len(labels) > 0 {
		xys := make(plotter.XYs, len(lx))
		for i := range xys {
			xys[i].X, xys[i].Y = lx[i], ly[i]
		}
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			panic(fmt.Sprintf("figures: AnglesPanel: %v", err))
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Color = color.RGBA{R: 230, G: 40, B: 40, A: 255}
			lb.TextStyle[i].Font.Size = vg.Points(8)
		}
		pn.Plot.Add(lb)
	}
	return pn
}

// angleLine returns the ends, in ImagePanel's data coordinates (column,
// row from the top, pixel centres at +0.5), of the segment of half-length r
// through the centre of an n×n image along the rays of angle deg.
func angleLine(n int, deg, r float64) (x0, y0, x1, y1 float64) {
	s, c := math.Sincos(deg * math.Pi / 180)
	h := float64(n) / 2
	// Ray direction (−sin θ, cos θ) with y up; rows grow downwards.
	dx, dy := -s*r, -c*r
	return h - dx, h - dy, h + dx, h + dy
}

// labelRadii returns, for each chosen angle (index ≥ pilot), the distance
// from the image centre at which its number is drawn: in order of angle
// modulo 180° the numbers cycle through three radii (0.47, 0.38 and 0.29 of
// n), so angles next to each other (the last and the first too, across
// 180°) get numbers apart.
func labelRadii(n int, anglesDeg []float64, pilot int) []float64 {
	idx := make([]int, 0, len(anglesDeg))
	for k := pilot; k < len(anglesDeg); k++ {
		idx = append(idx, k)
	}
	mod := func(d float64) float64 { return math.Mod(math.Mod(d, 180)+180, 180) }
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(mod(anglesDeg[a]), mod(anglesDeg[b])) })
	r := make([]float64, len(anglesDeg))
	levels := []float64{0.47, 0.38, 0.29}
	for i, k := range idx {
		l := i % len(levels)
		if i == len(idx)-1 && i > 0 && l == 0 {
			l = 1 // the last is next to the first across 180°
		}
		r[k] = levels[l] * float64(n)
	}
	return r
}
