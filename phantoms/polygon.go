package phantoms

import "math"

// rectanglesMax returns the exact maximum over the image square of the sum
// of the (positive) rectangle values: the largest total value of a set of
// rectangles whose common part inside the square has positive area. The
// common part of convex polygons is found by clipping, over all 2^len(rs)
// subsets (a handful of rectangles in practice).
func rectanglesMax(rs []Rectangle) float64 {
	if len(rs) > 16 {
		panic("phantoms: too many rectangles for the exact maximum")
	}
	square := Rectangle{A: 1, B: 1}
	best := 0.0
	for mask := 1; mask < 1<<len(rs); mask++ {
		poly := corners(square)
		var v float64
		for i, r := range rs {
			if mask&(1<<i) == 0 {
				continue
			}
			v += r.Value
			poly = clipRect(poly, r)
		}
		if v > best && area(poly) > 1e-12 {
			best = v
		}
	}
	return best
}

type pt struct{ x, y float64 }

func corners(r Rectangle) []pt {
	c, s := math.Cos(r.Phi), math.Sin(r.Phi)
	var ps []pt
	for _, q := range [4][2]float64{{1, 1}, {-1, 1}, {-1, -1}, {1, -1}} {
		u, w := q[0]*r.A, q[1]*r.B
		ps = append(ps, pt{r.X + c*u - s*w, r.Y + s*u + c*w})
	}
	return ps
}

// clipRect clips a convex polygon to r by its four half-planes
// (Sutherland–Hodgman).
func clipRect(poly []pt, r Rectangle) []pt {
	c, s := math.Cos(r.Phi), math.Sin(r.Phi)
	for _, hp := range [4]struct{ nx, ny, h float64 }{
		{c, s, r.A}, {-c, -s, r.A}, {-s, c, r.B}, {s, -c, r.B},
	} {
		// Keep points with n·(p − centre) ≤ h.
		side := func(p pt) float64 { return hp.nx*(p.x-r.X) + hp.ny*(p.y-r.Y) - hp.h }
		var out []pt
		for i, p := range poly {
			q := poly[(i+1)%len(poly)]
			sp, sq := side(p), side(q)
			if sp <= 0 {
				out = append(out, p)
			}
			if (sp < 0 && sq > 0) || (sp > 0 && sq < 0) {
				t := sp / (sp - sq)
				out = append(out, pt{p.x + t*(q.x-p.x), p.y + t*(q.y-p.y)})
			}
		}
		poly = out
		if len(poly) < 3 {
			return nil
		}
	}
	return poly
}

func area(poly []pt) float64 {
	var a float64
	for i, p := range poly {
		q := poly[(i+1)%len(poly)]
		a += p.x*q.y - q.x*p.y
	}
	return math.Abs(a) / 2
}
