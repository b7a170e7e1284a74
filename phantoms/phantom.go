package phantoms

import (
	"math"

	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/radon"
)

// Ellipse is a constant-valued ellipse centred at (X, Y) with semi-axis A
// along the direction Phi (radians, counter-clockwise from the x axis) and
// semi-axis B across it, in phantom coordinates.
type Ellipse struct {
	Value, X, Y, A, B, Phi float64
}

// Rectangle is a constant-valued rectangle centred at (X, Y) with half-width
// A along the direction Phi (radians, counter-clockwise from the x axis) and
// half-width B across it, in phantom coordinates.
type Rectangle struct {
	Value, X, Y, A, B, Phi float64
}

// Phantom is a sum of constant-valued ellipses and rectangles, cropped to
// the image square [−1, 1]². Phantom coordinates have x to the right and y
// up, as in DESIGN.md §2, and one unit is N/2 pixels: the square is the N×N
// image and the unit disc its inscribed disc.
type Phantom struct {
	Ellipses   []Ellipse
	Rectangles []Rectangle
}

// At returns the phantom's value at the point (x, y) in phantom coordinates:
// the sum of the values of the shapes that contain it, 0 outside [−1, 1]².
func (p Phantom) At(x, y float64) float64 {
	if x < -1 || x > 1 || y < -1 || y > 1 {
		return 0
	}
	var v float64
	for _, e := range p.Ellipses {
		c, s := math.Cos(e.Phi), math.Sin(e.Phi)
		dx, dy := x-e.X, y-e.Y
		u, w := (c*dx+s*dy)/e.A, (-s*dx+c*dy)/e.B
		if u*u+w*w <= 1 {
			v += e.Value
		}
	}
	for _, r := range p.Rectangles {
		c, s := math.Cos(r.Phi), math.Sin(r.Phi)
		dx, dy := x-r.X, y-r.Y
		if math.Abs(c*dx+s*dy) <= r.A && math.Abs(-s*dx+c*dy) <= r.B {
			v += r.Value
		}
	}
	if math.Abs(v) < 1e-12 {
		return 0 // cancellation rounding, as 1 − 0.8 − 0.2 in Shepp–Logan's ventricles
	}
	return v
}

// Image returns the n×n pixel image of p (row-major, row 0 at the top): each
// pixel is the mean of p over a supersample×supersample grid of points
// evenly spread inside it, so edges are partial-volume averaged. supersample
// < 1 counts as 1.
func (p Phantom) Image(n, supersample int) []float32 {
	ss := max(supersample, 1)
	img := make([]float32, n*n)
	h := 2 / float64(n) // pixel size in phantom units
	par.ForGrain(n, 4, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for j := 0; j < n; j++ {
				var sum float64
				for a := 0; a < ss; a++ {
					y := 1 - (float64(i)+(float64(a)+0.5)/float64(ss))*h
					for b := 0; b < ss; b++ {
						x := (float64(j)+(float64(b)+0.5)/float64(ss))*h - 1
						sum += p.At(x, y)
					}
				}
				img[i*n+j] = float32(sum / float64(ss*ss))
			}
		}
	})
	return img
}

// Sinogram returns the exact line integrals of p (cropped to the image
// square) along the rays through the detector bin centres of g, in pixel
// units, row-major [angle][bin]: point samples at bin centres, no averaging
// over the bin width. g must be valid.
func (p Phantom) Sinogram(g radon.Geometry) []float32 {
	if err := g.Validate(); err != nil {
		panic(err)
	}
	half := float64(g.N) / 2
	out := make([]float32, g.SinoLen())
	par.For(len(g.Angles), func(lo, hi int) {
		for a := lo; a < hi; a++ {
			c, s := math.Cos(g.Angles[a]), math.Sin(g.Angles[a])
			for k := 0; k < g.NDet; k++ {
				sk := (float64(k) + 0.5 - float64(g.NDet)/2) * g.DetSpacing / half
				out[a*g.NDet+k] = float32(p.lineIntegral(c, s, sk) * half)
			}
		}
	})
	return out
}

// lineIntegral integrates p along the line x·c + y·s = t (phantom units),
// parametrised by arc length from its foot point t·(c, s) along (−s, c).
func (p Phantom) lineIntegral(c, s, t float64) float64 {
	px, py := t*c, t*s
	dx, dy := -s, c
	sq0, sq1, ok := boxInterval(px, py, dx, dy, 0, 0, 1, 1, 0)
	if !ok {
		return 0
	}
	var sum float64
	for _, e := range p.Ellipses {
		if t0, t1, ok := ellipseInterval(px, py, dx, dy, e); ok {
			sum += e.Value * overlap(t0, t1, sq0, sq1)
		}
	}
	for _, r := range p.Rectangles {
		if t0, t1, ok := boxInterval(px, py, dx, dy, r.X, r.Y, r.A, r.B, r.Phi); ok {
			sum += r.Value * overlap(t0, t1, sq0, sq1)
		}
	}
	return sum
}

func overlap(a0, a1, b0, b1 float64) float64 {
	return math.Max(0, math.Min(a1, b1)-math.Max(a0, b0))
}

// ellipseInterval returns the parameter interval [t0, t1] where the line
// (px, py) + t·(dx, dy), |(dx, dy)| = 1, lies inside e. In the ellipse's
// frame, scaled so that it is the unit disc, the line is u + t·v and the
// interval solves |u + t v|² ≤ 1; its length is the classical chord
// 2AB·√(α² − s'²)/α² with α² = A²cos²θ' + B²sin²θ'.
func ellipseInterval(px, py, dx, dy float64, e Ellipse) (t0, t1 float64, ok bool) {
	c, s := math.Cos(e.Phi), math.Sin(e.Phi)
	ox, oy := px-e.X, py-e.Y
	ux, uy := (c*ox+s*oy)/e.A, (-s*ox+c*oy)/e.B
	vx, vy := (c*dx+s*dy)/e.A, (-s*dx+c*dy)/e.B
	qa := vx*vx + vy*vy
	qb := ux*vx + uy*vy
	qc := ux*ux + uy*uy - 1
	disc := qb*qb - qa*qc
	if disc <= 0 {
		return 0, 0, false
	}
	r := math.Sqrt(disc)
	return (-qb - r) / qa, (-qb + r) / qa, true
}

// boxInterval returns the parameter interval where the line (px, py) +
// t·(dx, dy) lies inside the rectangle centred at (cx, cy) with half-widths a
// along direction phi and b across it: the intersection of the two slabs.
func boxInterval(px, py, dx, dy, cx, cy, a, b, phi float64) (t0, t1 float64, ok bool) {
	c, s := math.Cos(phi), math.Sin(phi)
	ox, oy := px-cx, py-cy
	t0, t1 = math.Inf(-1), math.Inf(1)
	for _, sl := range [2]struct{ u, v, h float64 }{
		{c*ox + s*oy, c*dx + s*dy, a},
		{-s*ox + c*oy, -s*dx + c*dy, b},
	} {
		if sl.v == 0 {
			if math.Abs(sl.u) > sl.h {
				return 0, 0, false
			}
			continue
		}
		lo, hi := (-sl.h-sl.u)/sl.v, (sl.h-sl.u)/sl.v
		if lo > hi {
			lo, hi = hi, lo
		}
		t0, t1 = math.Max(t0, lo), math.Min(t1, hi)
	}
	return t0, t1, t1 > t0
}
