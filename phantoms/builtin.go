package phantoms

import (
	"math"
	"math/rand/v2"
)

// SheppLogan returns the modified Shepp–Logan head phantom (Toft's contrast-
// enhanced values, as MATLAB's phantom('Modified Shepp-Logan')): values in
// [0, 1] (skull 1, brain 0.2, ventricles 0, small features 0.3), the unit
// disc of its definition being the image's inscribed disc.
func SheppLogan() Phantom {
	d := math.Pi / 180
	return Phantom{Ellipses: []Ellipse{
		{Value: 1, X: 0, Y: 0, A: 0.69, B: 0.92},
		{Value: -0.8, X: 0, Y: -0.0184, A: 0.6624, B: 0.8740},
		{Value: -0.2, X: 0.22, Y: 0, A: 0.11, B: 0.31, Phi: -18 * d},
		{Value: -0.2, X: -0.22, Y: 0, A: 0.16, B: 0.41, Phi: 18 * d},
		{Value: 0.1, X: 0, Y: 0.35, A: 0.21, B: 0.25},
		{Value: 0.1, X: 0, Y: 0.1, A: 0.046, B: 0.046},
		{Value: 0.1, X: 0, Y: -0.1, A: 0.046, B: 0.046},
		{Value: 0.1, X: -0.08, Y: -0.605, A: 0.046, B: 0.023},
		{Value: 0.1, X: 0, Y: -0.606, A: 0.023, B: 0.023},
		{Value: 0.1, X: 0.06, Y: -0.605, A: 0.023, B: 0.046},
	}}
}

// Disc returns a disc of the given value and radius (phantom units) centred
// at the origin: a phantom whose reconstructions have a known mean.
func Disc(value, radius float64) Phantom {
	return Phantom{Ellipses: []Ellipse{{Value: value, A: radius, B: radius}}}
}

// Bayes_dip's rectangles data set (educating-dip/bayes_dip,
// data/datasets/rectangles.py): three rectangles, all turned by one random
// angle plus a small normal spread.
const (
	DefaultRectangles      = 3
	DefaultRectangleSpread = 0.05 // radians
)

// RandomRectangles returns count rectangles drawn as in bayes_dip's
// rectangles data set: values uniform in [0.5, 1], half-widths uniform in
// [0.1, 0.8], centres uniform in [−0.75, 0.75]², and orientations drawn
// from N(φ₀, spread²) around one φ₀ uniform in [0, π), taken mod π. The
// rectangles add where they overlap and are cropped to the image square,
// then all values are scaled so the exact maximum of the phantom is 1 (as
// bayes_dip divides by the image maximum). So the values lie in [0, 1].
func RandomRectangles(rng *rand.Rand, count int, spread float64) Phantom {
	rs := make([]Rectangle, count)
	for i := range rs {
		rs[i] = Rectangle{
			Value: uniform(rng, 0.5, 1),
			A:     uniform(rng, 0.1, 0.8),
			B:     uniform(rng, 0.1, 0.8),
			X:     uniform(rng, -0.75, 0.75),
			Y:     uniform(rng, -0.75, 0.75),
		}
	}
	phi0 := uniform(rng, 0, math.Pi)
	for i := range rs {
		rs[i].Phi = math.Mod(phi0+spread*rng.NormFloat64()+2*math.Pi, math.Pi)
	}
	if m := rectanglesMax(rs); m > 0 {
		for i := range rs {
			rs[i].Value /= m
		}
	}
	return Phantom{Rectangles: rs}
}

// RandomEllipses returns count ellipses with values uniform in [0.2, 1],
// semi-axes 0.2·Exp(1) clipped to [0.03, 0.6] (the size law of dival's
// ellipses data set), random orientations, and centres such that each
// ellipse lies inside the inscribed disc. Overlaps add; when two or more
// could overlap, all values are scaled down by a bound on the largest sum
// (each ellipse plus every ellipse whose bounding circle meets its own), so
// the values lie in [0, 1], the brightest region at most 1.
func RandomEllipses(rng *rand.Rand, count int) Phantom {
	es := make([]Ellipse, count)
	for i := range es {
		a := math.Min(0.6, math.Max(0.03, 0.2*rng.ExpFloat64()))
		b := math.Min(0.6, math.Max(0.03, 0.2*rng.ExpFloat64()))
		r := math.Max(a, b)
		// Centre uniform in the disc of radius 0.95 − r.
		rho := (0.95 - r) * math.Sqrt(rng.Float64())
		ang := uniform(rng, 0, 2*math.Pi)
		es[i] = Ellipse{
			Value: uniform(rng, 0.2, 1),
			X:     rho * math.Cos(ang),
			Y:     rho * math.Sin(ang),
			A:     a,
			B:     b,
			Phi:   uniform(rng, 0, math.Pi),
		}
	}
	bound := 0.0
	for i, e := range es {
		u := e.Value
		for j, f := range es {
			if j != i && math.Hypot(e.X-f.X, e.Y-f.Y) < math.Max(e.A, e.B)+math.Max(f.A, f.B) {
				u += f.Value
			}
		}
		bound = math.Max(bound, u)
	}
	if bound > 1 {
		for i := range es {
			es[i].Value /= bound
		}
	}
	return Phantom{Ellipses: es}
}

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

// RectangleOrientation returns the common orientation of the phantom's
// rectangles in degrees in [0, 180): the circular mean of their angles
// taken mod π (a rectangle turned by π is the same rectangle). ok is false
// when the phantom has no rectangles.
func (p Phantom) RectangleOrientation() (deg float64, ok bool) {
	if len(p.Rectangles) == 0 {
		return 0, false
	}
	var c, s float64
	for _, r := range p.Rectangles {
		c += math.Cos(2 * r.Phi)
		s += math.Sin(2 * r.Phi)
	}
	deg = math.Atan2(s, c) / 2 * 180 / math.Pi
	if deg < 0 {
		deg += 180
	}
	return deg, true
}
