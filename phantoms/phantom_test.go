package phantoms

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ctrecon/ctrecon/radon"
)

func inUnitRange(t *testing.T, name string, img []float32) {
	t.Helper()
	for i, v := range img {
		if v < 0 || v > 1 || math.IsNaN(float64(v)) {
			t.Fatalf("%s: pixel %d = %g outside [0, 1]", name, i, v)
		}
	}
}

func TestSheppLoganValues(t *testing.T) {
	p := SheppLogan()
	// Region values of the modified phantom (Toft): brain 0.2, the two
	// ventricles 0, the top ellipse 0.3, the skull 1, outside 0.
	for _, c := range []struct{ x, y, want float64 }{
		{0, 0, 0.2}, {0.22, 0, 0}, {-0.22, 0, 0}, {0, 0.35, 0.3},
		{0, 0.9, 1}, {0, -0.9, 1}, {0.95, 0.95, 0},
	} {
		if got := p.At(c.x, c.y); !(math.Abs(got-c.want) <= 1e-12) {
			t.Errorf("At(%g, %g) = %g, want %g", c.x, c.y, got, c.want)
		}
	}
	img := p.Image(64, 4)
	inUnitRange(t, "Shepp–Logan", img)
	// Orientation: y is up, so the 0.3 ellipse at y = +0.35 is above the
	// centre (row < 32) and row 0 is outside the head.
	n := 64
	if img[0] != 0 || img[(n/2-12)*n+n/2] < 0.29 {
		t.Fatalf("image orientation wrong: top-left %g, pixel above centre %g", img[0], img[(n/2-12)*n+n/2])
	}
}

func TestRandomPhantomsInRangeAndSeeded(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		r := RandomRectangles(rand.New(rand.NewPCG(seed, 7)), DefaultRectangles, DefaultRectangleSpread)
		inUnitRange(t, "rectangles", r.Image(48, 4))
		e := RandomEllipses(rand.New(rand.NewPCG(seed, 7)), 12)
		inUnitRange(t, "ellipses", e.Image(48, 4))

		// Bayes_dip's normalisation: the brightest point is exactly 1.
		var peak float64
		for _, img := range [][]float32{r.Image(200, 1)} {
			for _, v := range img {
				peak = math.Max(peak, float64(v))
			}
		}
		if !(peak >= 0.999) {
			t.Errorf("seed %d: rectangles peak %g, want 1", seed, peak)
		}
		// One orientation shared: within a few spreads of each other (mod π).
		for _, q := range r.Rectangles[1:] {
			d := math.Abs(q.Phi - r.Rectangles[0].Phi)
			d = math.Min(d, math.Pi-d)
			if d > 8*DefaultRectangleSpread {
				t.Errorf("seed %d: orientations %g and %g differ by %g", seed, r.Rectangles[0].Phi, q.Phi, d)
			}
		}
	}
	a := RandomRectangles(rand.New(rand.NewPCG(5, 5)), 3, 0.05)
	b := RandomRectangles(rand.New(rand.NewPCG(5, 5)), 3, 0.05)
	c := RandomRectangles(rand.New(rand.NewPCG(6, 5)), 3, 0.05)
	for i := range a.Rectangles {
		if a.Rectangles[i] != b.Rectangles[i] {
			t.Fatal("same seed, different rectangles")
		}
	}
	if a.Rectangles[0] == c.Rectangles[0] {
		t.Fatal("different seeds, same rectangles")
	}
	e1 := RandomEllipses(rand.New(rand.NewPCG(9, 9)), 5)
	e2 := RandomEllipses(rand.New(rand.NewPCG(9, 9)), 5)
	for i := range e1.Ellipses {
		if e1.Ellipses[i] != e2.Ellipses[i] {
			t.Fatal("same seed, different ellipses")
		}
	}
}

// bruteLine integrates At along a ray by the midpoint rule with step h, a
// brute-force check of the closed-form chords.
func bruteLine(p Phantom, theta, s float64, h float64) float64 {
	c, sn := math.Cos(theta), math.Sin(theta)
	shapes := p.prepare()
	var sum float64
	for t := -1.5 + h/2; t < 1.5; t += h {
		sum += valueAt(shapes, s*c-t*sn, s*sn+t*c)
	}
	return sum * h
}

func TestSinogramMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	ps := []Phantom{
		RandomRectangles(rng, 3, 0.05),
		RandomRectangles(rng, 3, 0.05),
		SheppLogan(),
		RandomEllipses(rng, 6),
		// A rectangle poking out of the image: cropped in both.
		{Rectangles: []Rectangle{{Value: 1, X: 0.8, Y: 0.1, A: 0.5, B: 0.3, Phi: 0.3}}},
	}
	const n = 32
	g := radon.NewGeometry(n, []float64{0.1, 0.9, 2.0, 3.0, -1.2})
	g.NDet = 20
	g.DetSpacing = 2.3
	const h = 2e-5 // phantom units
	for pi, p := range ps {
		sino := p.Sinogram(g)
		for a, th := range g.Angles {
			for k := 0; k < g.NDet; k++ {
				sk := (float64(k) + 0.5 - float64(g.NDet)/2) * g.DetSpacing
				want := bruteLine(p, th, sk/(n/2), h) * n / 2
				// The midpoint rule misplaces each shape edge by at most
				// h/2: with at most ~20 edge crossings of value ≤ 1 the
				// error is below 20·h·(N/2) ≈ 6e-3 pixel units.
				if d := math.Abs(float64(sino[a*g.NDet+k]) - want); !(d <= 20*h*n/2) {
					t.Fatalf("phantom %d angle %d bin %d: analytic %g, brute force %g", pi, a, k, sino[a*g.NDet+k], want)
				}
			}
		}
	}
}

// TestDiscSinogram checks the closed form against the chord of a circle.
func TestDiscSinogram(t *testing.T) {
	g := radon.NewGeometry(40, []float64{0.7})
	sino := Disc(0.5, 0.6).Sinogram(g)
	r := 0.6 * 20 // radius in pixels
	for k, v := range sino {
		s := (float64(k) + 0.5 - float64(g.NDet)/2)
		want := 0.0
		if math.Abs(s) < r {
			want = 0.5 * 2 * math.Sqrt(r*r-s*s)
		}
		if !(math.Abs(float64(v)-want) <= 1e-4) {
			t.Fatalf("bin %d: %g, want %g", k, v, want)
		}
	}
}

// TestBinSinogramMatchesSubRays checks the closed-form bin averages against
// the mean of many exact line integrals across each bin.
func TestBinSinogramMatchesSubRays(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 4))
	ps := []Phantom{
		SheppLogan(),
		RandomRectangles(rng, 3, 0.05),
		{Rectangles: []Rectangle{{Value: 1, X: 0.8, Y: 0.1, A: 0.5, B: 0.3, Phi: 0.3}}},
		// Axis-aligned edges at 0° and 90°: the chord jumps inside a bin.
		{Rectangles: []Rectangle{{Value: 1, X: 0.1, Y: -0.2, A: 0.3, B: 0.4}}},
		// Crosses the square's edge: the fallback path.
		{Ellipses: []Ellipse{{Value: 1, X: 0.7, Y: 0.5, A: 0.5, B: 0.3, Phi: 1}}},
	}
	const n = 32
	g := radon.NewGeometry(n, []float64{0, 0.4, math.Pi / 2, 2.2})
	g.DetSpacing = 1.3
	const sub = 2000
	fine := g
	fine.NDet, fine.DetSpacing = g.NDet*sub, g.DetSpacing/sub
	for pi, p := range ps {
		bin := p.BinSinogram(g)
		lines := p.Sinogram(fine)
		var worst float64
		for a := range g.Angles {
			for k := 0; k < g.NDet; k++ {
				var mean float64
				for j := 0; j < sub; j++ {
					mean += float64(lines[a*fine.NDet+k*sub+j])
				}
				mean /= sub
				worst = math.Max(worst, math.Abs(mean-float64(bin[a*g.NDet+k])))
			}
		}
		// The sub-ray mean is a midpoint rule with 2000 points per bin; at a
		// jump or a square-root edge of height ≤ 2·N its error is below
		// 1e-3 pixel units, and float32 storage adds ~1e-5 relative.
		if !(worst <= 2e-3) { // also catches NaN
			t.Errorf("phantom %d: bin average differs from the sub-ray mean by %g", pi, worst)
		}
	}
}
