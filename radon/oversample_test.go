package radon_test

import (
	"math"
	"testing"

	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

// An oversampled projection of a pixel image approaches the exact line
// integrals of the piecewise-constant image: its distance to a much finer
// projection must shrink as the factor grows, and factor 1 is the plain
// projector.
func TestProjectOversampledConverges(t *testing.T) {
	n := 32
	p := phantoms.SheppLogan()
	x := p.Image(n, 8)
	g := radon.NewGeometry(n, radon.EqualAngles(45))
	y1, err := radon.ProjectOversampled(x, g, 1)
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]float32, g.SinoLen())
	radon.NewProjector(g).Apply(plain, x)
	for i := range plain {
		if plain[i] != y1[i] {
			t.Fatalf("factor 1 differs from the projector at %d", i)
		}
	}
	// Reference: the factor-16 projection (the limit, to within 1/16 pixel).
	ref, _ := radon.ProjectOversampled(x, g, 16)
	prev := math.Inf(1)
	for _, f := range []int{1, 2, 4} {
		y, _ := radon.ProjectOversampled(x, g, f)
		var num, den float64
		for i := range y {
			d := float64(y[i] - ref[i])
			num += d * d
			den += float64(ref[i]) * float64(ref[i])
		}
		e := math.Sqrt(num / den)
		if !(e < prev) {
			t.Fatalf("factor %d: relative error %g did not fall (previous %g)", f, e, prev)
		}
		prev = e
	}
	if prev > 0.01 { // factor 4 against 16: a few tenths of a percent expected
		t.Fatalf("factor 4 relative error %g > 1%%", prev)
	}
}
