package radon

import (
	"math"
	"testing"
)

// TestAutoCutoff: the table's nodes come back exactly, values between
// nodes lie between them, more angles never lower the cutoff and more
// noise never raises it, and out-of-range inputs are clamped.
func TestAutoCutoff(t *testing.T) {
	geo := func(a int, beam Beam) Geometry {
		g := NewGeometry(64, EqualAngles(a))
		g.Beam = beam
		return g
	}
	for i, a := range cutoffAngles {
		for j, eta := range cutoffNoise {
			if got := AutoCutoff(geo(int(a), Parallel), eta); math.Abs(got-cutoffTable[i][j]) > 1e-12 {
				t.Errorf("%g angles, η %g: %g, want the measured %g", a, eta, got, cutoffTable[i][j])
			}
		}
	}
	prev := 0.0
	for a := 10; a <= 400; a += 5 {
		c := AutoCutoff(geo(a, Parallel), 0.03)
		if c < prev-1e-12 || c <= 0 || c > 1 {
			t.Fatalf("%d angles: %g after %g", a, c, prev)
		}
		prev = c
	}
	for a := 20; a <= 180; a += 10 {
		hi := 2.0
		for eta := 0.0; eta <= 0.08; eta += 0.005 {
			c := AutoCutoff(geo(a, Parallel), eta)
			if c > hi+1e-12 {
				t.Fatalf("%d angles: η %g gives %g, above %g at less noise", a, eta, c, hi)
			}
			hi = c
		}
	}
	if a, b := AutoCutoff(geo(5, Parallel), 0.2), AutoCutoff(geo(20, Parallel), 0.05); a != b {
		t.Errorf("clamping: %g against %g", a, b)
	}
	if a, b := AutoCutoff(geo(60, Fan), 0.05), AutoCutoff(geo(30, Parallel), 0.05); a != b {
		t.Errorf("60 fan views over 360°: %g, 30 parallel: %g", a, b)
	}
	if c := AutoCutoff(geo(30, Parallel), math.NaN()); c != cutoffTable[1][0] {
		t.Errorf("unknown noise (NaN): %g, want the clean 0.80", c)
	}
}
