package phantoms

import (
	"math"
	"reflect"
	"testing"
)

// TestBuiltinDrawsAreIndependent: draw k of a seed is the same phantom
// whichever draws came before it, differs from draw k+1, and an unknown
// kind is an error.
func TestBuiltinDrawsAreIndependent(t *testing.T) {
	for _, kind := range []string{"ellipses", "rectangles"} {
		a, err := Builtin(kind, 7, 3)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 3; k++ {
			if _, err := Builtin(kind, 7, k); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := Builtin(kind, 7, 3)
		c, _ := Builtin(kind, 7, 4)
		if !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
			t.Errorf("%s: draw 3 not reproducible, or equal to draw 4", kind)
		}
	}
	if _, err := Builtin("cube", 1, 0); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestRectangleOrientation(t *testing.T) {
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	for _, c := range []struct {
		phis []float64 // degrees
		want float64
	}{
		{[]float64{10, 20, 30}, 20},
		{[]float64{178, 2}, 0}, // across the wrap: not 90
		{[]float64{175, 179, 177}, 177},
		{[]float64{90}, 90},
	} {
		var p Phantom
		for _, d := range c.phis {
			p.Rectangles = append(p.Rectangles, Rectangle{Phi: rad(d)})
		}
		got, ok := p.RectangleOrientation()
		if d := math.Abs(got - c.want); !ok || math.Min(d, 180-d) > 1e-9 || got < 0 || got >= 180 {
			t.Errorf("angles %v: orientation %g, %v; want %g", c.phis, got, ok, c.want)
		}
	}
	if _, ok := SheppLogan().RectangleOrientation(); ok {
		t.Error("Shepp–Logan has no rectangles but reported an orientation")
	}
}
