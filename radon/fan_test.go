package radon

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFanRayThroughSourceAndDetector checks Geometry.Ray against the
// geometry it describes, built independently: every fan-beam ray's line
// passes through the source and through its bin's centre on the detector
// (a point on the flat line, or on the arc around the source).
func TestFanRayThroughSourceAndDetector(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(100)
		g := NewFanGeometry(n, []float64{rng.Float64() * 2 * math.Pi}, float64(n)*(0.8+3*rng.Float64()), float64(n)*2*rng.Float64())
		g.Detector = Detector(rng.IntN(2))
		g.CenterOffset = rng.Float64() - 0.5
		th := g.Angles[0]
		dx, dy := -math.Sin(th), math.Cos(th) // central ray direction
		ex, ey := math.Cos(th), math.Sin(th)  // detector axis
		sx, sy := -g.SourceDistance*dx, -g.SourceDistance*dy
		l := g.SourceDistance + g.DetectorDistance
		for k := 0; k < g.NDet; k++ {
			u := (float64(k) + 0.5 - float64(g.NDet)/2 - g.CenterOffset) * g.DetSpacing
			var px, py float64
			if g.Detector == Flat {
				px, py = g.DetectorDistance*dx+u*ex, g.DetectorDistance*dy+u*ey
			} else { // arc of radius l around the source, arc length u from the centre
				a := u / l
				vx, vy := math.Cos(a)*dx+math.Sin(a)*ex, math.Cos(a)*dy+math.Sin(a)*ey
				px, py = sx+l*vx, sy+l*vy
			}
			phi, tt := g.Ray(0, k)
			c, s := math.Cos(phi), math.Sin(phi)
			// Tolerance: float64 rounding on coordinates of size ~4n.
			tol := 1e-9 * float64(4*n)
			if e := math.Abs(sx*c + sy*s - tt); e > tol {
				t.Fatalf("trial %d bin %d (%v): source off the ray by %g", trial, k, g.Detector, e)
			}
			if e := math.Abs(px*c + py*s - tt); e > tol {
				t.Fatalf("trial %d bin %d (%v): detector point off the ray by %g", trial, k, g.Detector, e)
			}
		}
	}
}

// TestFanFarSourceIsParallel: with the source very far away a fan is a
// parallel beam; the projections must agree with the parallel projector's
// (bins scaled by the magnification) to within the fan's residual angle.
func TestFanFarSourceIsParallel(t *testing.T) {
	n := 32
	as := deg(0, 17, 45, 90, 133)
	par := NewGeometry(n, as)
	fan := par
	fan.Beam, fan.SourceDistance, fan.DetectorDistance = Fan, 1e7, 1e7
	fan.DetSpacing = par.DetSpacing * fan.Magnification()
	rng := rand.New(rand.NewPCG(8, 1))
	x := randVec(n*n, rng)
	a, b := make([]float32, par.SinoLen()), make([]float32, par.SinoLen())
	NewProjector(par).Apply(a, x)
	NewProjector(fan).Apply(b, x)
	var num, den float64
	for i := range a {
		d := float64(a[i] - b[i])
		num += d * d
		den += float64(a[i]) * float64(a[i])
	}
	// The largest ray tilt is ~NDet/1e7 rad, so rays move by ~1e-5 pixel;
	// float32 projections of a random image agree to ~1e-6 relative.
	if e := math.Sqrt(num / den); !(e < 1e-4) {
		t.Fatalf("far-source fan differs from parallel beam: relative %.3g", e)
	}
}

func TestFanGeometryValidate(t *testing.T) {
	g := NewFanGeometry(32, FullAngles(10), 40, 20)
	if err := g.Validate(); err != nil {
		t.Fatalf("valid fan geometry refused: %v", err)
	}
	if !g.Covers() {
		t.Fatalf("NewFanGeometry's detector (%d bins) does not cover the image", g.NDet)
	}
	small := g
	small.NDet = g.NDet / 2
	if small.Covers() {
		t.Fatalf("a detector of %d bins (of %d needed) reported as covering", small.NDet, g.NDet)
	}
	for _, bad := range []Geometry{
		{N: 32, Angles: []float64{0}, NDet: 9, DetSpacing: 1, Beam: Fan, SourceDistance: 20, DetectorDistance: 5}, // source inside the image disc (22.6)
		{N: 32, Angles: []float64{0}, NDet: 9, DetSpacing: 1, Beam: Fan, SourceDistance: 40, DetectorDistance: -1},
		{N: 32, Angles: []float64{0}, NDet: 9, DetSpacing: 1, Beam: Fan, SourceDistance: math.Inf(1)},
		{N: 32, Angles: []float64{0}, NDet: 9, DetSpacing: 1, CenterOffset: math.NaN()},
		{N: 32, Angles: []float64{0}, NDet: 9, DetSpacing: 1, Beam: Beam(7)},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("invalid geometry accepted: %+v", bad)
		}
	}
}

// TestParkerWeightsSumToOne: the two measurements of every line in a short
// scan get weights that sum to 1. The partner ray is found from
// Geometry.Ray (same line, opposite normal), not from the formula's
// derivation.
func TestParkerWeightsSumToOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	g := NewFanGeometry(64, []float64{0}, 100, 50)
	for trial := 0; trial < 2000; trial++ {
		delta := math.Asin(64/math.Sqrt2/g.SourceDistance) * (1 + rng.Float64())
		beta := rng.Float64() * (math.Pi + 2*delta)
		gam := (2*rng.Float64() - 1) * math.Asin(64/math.Sqrt2/g.SourceDistance)
		// Ray (β, γ) has normal φ = β − γ and offset Ds·sin γ; the partner
		// (β', γ') has normal φ + π and offset −Ds·sin γ, so γ' = −γ and
		// β' = φ + π + γ'.
		// The normal φ ± π gives the same line, so the partner sits at
		// β ± π − 2γ; a scan of π + 2δ holds at most one of them.
		phi := beta - gam
		gp := -gam
		bp := phi + math.Pi + gp
		if bp > math.Pi+2*delta {
			bp = phi - math.Pi + gp
		}
		w := parkerWeight(beta, gam, delta)
		if bp > math.Pi+2*delta || bp < 0 { // partner outside the scan: this ray must count fully
			if math.Abs(w-1) > 1e-12 {
				t.Fatalf("β=%.3f γ=%.3f δ=%.3f: partner outside the scan but weight %.4f", beta, gam, delta, w)
			}
			continue
		}
		if s := w + parkerWeight(bp, gp, delta); math.Abs(s-1) > 1e-9 {
			t.Fatalf("β=%.3f γ=%.3f δ=%.3f: weights sum to %.6f", beta, gam, delta, s)
		}
	}
}
