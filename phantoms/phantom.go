package phantoms

import (
	"math"
	"slices"

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
func (p Phantom) At(x, y float64) float64 { return valueAt(p.prepare(), x, y) }

// shape is an ellipse or rectangle prepared for point tests: its rotation,
// and its bounding box for a quick rejection.
type shape struct {
	ellipse               bool
	v, cx, cy, c, s, a, b float64
	xlo, xhi, ylo, yhi    float64
}

func (p Phantom) prepare() []shape {
	ss := make([]shape, 0, len(p.Ellipses)+len(p.Rectangles))
	add := func(ell bool, v, x, y, a, b, phi float64) {
		c, s := math.Cos(phi), math.Sin(phi)
		var ex, ey float64
		if ell {
			ex, ey = math.Sqrt(a*a*c*c+b*b*s*s), math.Sqrt(a*a*s*s+b*b*c*c)
		} else {
			ex, ey = math.Abs(c)*a+math.Abs(s)*b, math.Abs(s)*a+math.Abs(c)*b
		}
		ss = append(ss, shape{ell, v, x, y, c, s, a, b, x - ex, x + ex, y - ey, y + ey})
	}
	for _, e := range p.Ellipses {
		add(true, e.Value, e.X, e.Y, e.A, e.B, e.Phi)
	}
	for _, r := range p.Rectangles {
		add(false, r.Value, r.X, r.Y, r.A, r.B, r.Phi)
	}
	return ss
}

func valueAt(ss []shape, x, y float64) float64 {
	if x < -1 || x > 1 || y < -1 || y > 1 {
		return 0
	}
	var v float64
	for i := range ss {
		sh := &ss[i]
		if x < sh.xlo || x > sh.xhi || y < sh.ylo || y > sh.yhi {
			continue
		}
		dx, dy := x-sh.cx, y-sh.cy
		u, w := sh.c*dx+sh.s*dy, -sh.s*dx+sh.c*dy
		if sh.ellipse {
			u, w = u/sh.a, w/sh.b
			if u*u+w*w <= 1 {
				v += sh.v
			}
		} else if math.Abs(u) <= sh.a && math.Abs(w) <= sh.b {
			v += sh.v
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
	shapes := p.prepare()
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
						sum += valueAt(shapes, x, y)
					}
				}
				img[i*n+j] = float32(sum / float64(ss*ss))
			}
		}
	})
	return img
}

// Sinogram returns the exact line integrals of p (cropped to the image
// square) along the rays through the detector bin centres of g (parallel or
// fan beam: the lines of g.Ray), in pixel units, row-major [angle][bin]:
// point samples at bin centres, no averaging over the bin width. g must be
// valid.
func (p Phantom) Sinogram(g radon.Geometry) []float32 {
	if err := g.Validate(); err != nil {
		panic(err)
	}
	half := float64(g.N) / 2
	out := make([]float32, g.SinoLen())
	par.For(len(g.Angles), func(lo, hi int) {
		for a := lo; a < hi; a++ {
			for k := 0; k < g.NDet; k++ {
				phi, t := g.Ray(a, k)
				out[a*g.NDet+k] = float32(p.lineIntegral(math.Cos(phi), math.Sin(phi), t/half) * half)
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

// BinSinogram is Sinogram averaged over each detector bin's width: the mean
// of the line integrals over the offsets s_k ± DetSpacing/2, what a detector
// of contiguous bins measures. It is exact (closed forms: the integral of an
// ellipse's chord, and the piecewise-linear chord of a rectangle) except for
// an ellipse that crosses the image square's edge, whose strip integral is
// approximated by the midpoint rule over 1024 lines per bin.
//
// In fan beam the rays across one bin are not parallel, so the average is
// the midpoint rule over fanSubRays rays spread evenly across the bin (an
// ellipse's chord is smooth in the ray except where the ray grazes it).
func (p Phantom) BinSinogram(g radon.Geometry) []float32 {
	if err := g.Validate(); err != nil {
		panic(err)
	}
	if g.Beam == radon.Fan {
		return p.fanBinSinogram(g)
	}
	half := float64(g.N) / 2
	hw := g.DetSpacing / 2 / half // half bin width, phantom units
	out := make([]float32, g.SinoLen())
	par.For(len(g.Angles), func(lo, hi int) {
		for a := lo; a < hi; a++ {
			c, s := math.Cos(g.Angles[a]), math.Sin(g.Angles[a])
			for k := 0; k < g.NDet; k++ {
				t := g.BinCenter(k) / half
				out[a*g.NDet+k] = float32(p.stripIntegral(c, s, t-hw, t+hw) / (2 * hw) * half)
			}
		}
	})
	return out
}

// fanSubRays is how many rays across each bin BinSinogram averages in fan
// beam.
const fanSubRays = 16

// fanBinSinogram is BinSinogram for fan beam: each bin is the mean of the
// exact line integrals along fanSubRays rays through evenly spread points
// of the bin (the midpoint rule over the detector coordinate).
func (p Phantom) fanBinSinogram(g radon.Geometry) []float32 {
	half := float64(g.N) / 2
	out := make([]float32, g.SinoLen())
	par.For(len(g.Angles), func(lo, hi int) {
		sub := g // one angle, one bin, fanSubRays times finer
		sub.NDet = g.NDet * fanSubRays
		sub.DetSpacing = g.DetSpacing / fanSubRays
		sub.CenterOffset = g.CenterOffset * fanSubRays
		for a := lo; a < hi; a++ {
			sub.Angles = g.Angles[a : a+1]
			for k := 0; k < g.NDet; k++ {
				var sum float64
				for r := 0; r < fanSubRays; r++ {
					phi, t := sub.Ray(0, k*fanSubRays+r)
					sum += p.lineIntegral(math.Cos(phi), math.Sin(phi), t/half)
				}
				out[a*g.NDet+k] = float32(sum / fanSubRays * half)
			}
		}
	})
	return out
}

// stripIntegral is ∫_{t0}^{t1} lineIntegral(c, s, t) dt.
func (p Phantom) stripIntegral(c, s, t0, t1 float64) float64 {
	var sum float64
	for _, e := range p.Ellipses {
		sum += e.Value * ellipseStrip(e, c, s, t0, t1)
	}
	square := corners(Rectangle{A: 1, B: 1})
	for _, r := range p.Rectangles {
		// The chord of the convex polygon r ∩ square is linear in t between
		// the projections of its vertices, so the midpoint rule on each
		// piece is exact (and safe where an edge parallel to the rays makes
		// the chord jump).
		poly := clipRect(square, r)
		ts := []float64{t0, t1}
		for _, v := range poly {
			if tv := v.x*c + v.y*s; tv > t0 && tv < t1 {
				ts = append(ts, tv)
			}
		}
		slices.Sort(ts)
		one := Phantom{Rectangles: []Rectangle{r}}
		for i := 0; i+1 < len(ts); i++ {
			sum += one.lineIntegral(c, s, (ts[i]+ts[i+1])/2) * (ts[i+1] - ts[i])
		}
	}
	return sum
}

// ellipseStrip is ∫_{t0}^{t1} of e's (unit-value) chord along the lines
// x·c + y·s = t, cropped to the image square.
func ellipseStrip(e Ellipse, c, s, t0, t1 float64) float64 {
	cp, sp := math.Cos(e.Phi), math.Sin(e.Phi)
	ex := math.Sqrt(e.A*e.A*cp*cp + e.B*e.B*sp*sp) // half extents of the bounding box
	ey := math.Sqrt(e.A*e.A*sp*sp + e.B*e.B*cp*cp)
	if math.Abs(e.X)+ex > 1 || math.Abs(e.Y)+ey > 1 {
		const m = 1024
		one := Phantom{Ellipses: []Ellipse{e}}
		h := (t1 - t0) / m
		var sum float64
		for i := 0; i < m; i++ {
			sum += one.lineIntegral(c, s, t0+(float64(i)+0.5)*h)
		}
		return sum * h
	}
	// Chord at offset u from the centre: 2AB·√(α² − u²)/α², whose
	// antiderivative is (AB/α²)·(u√(α² − u²) + α² asin(u/α)).
	ct, st := c*cp+s*sp, s*cp-c*sp // cos and sin of θ − φ
	al2 := e.A*e.A*ct*ct + e.B*e.B*st*st
	al := math.Sqrt(al2)
	tc := e.X*c + e.Y*s
	prim := func(t float64) float64 {
		u := math.Max(-al, math.Min(al, t-tc))
		return e.A * e.B / al2 * (u*math.Sqrt(math.Max(0, al2-u*u)) + al2*math.Asin(u/al))
	}
	return prim(t1) - prim(t0)
}
