package figures

import (
	"math"
	"testing"
)

func TestAngleLineOrientation(t *testing.T) {
	const n = 32
	for _, c := range []struct {
		deg        float64
		vertical   bool
		horizontal bool
	}{{0, true, false}, {90, false, true}, {180, true, false}} {
		x0, y0, x1, y1 := angleLine(n, c.deg, 10)
		if math.Abs((x0+x1)/2-n/2) > 1e-9 || math.Abs((y0+y1)/2-n/2) > 1e-9 {
			t.Errorf("θ=%g: segment (%g,%g)–(%g,%g) not centred on the image", c.deg, x0, y0, x1, y1)
		}
		if got := math.Hypot(x1-x0, y1-y0); math.Abs(got-20) > 1e-9 {
			t.Errorf("θ=%g: length %g, want 20", c.deg, got)
		}
		if c.vertical && math.Abs(x1-x0) > 1e-9 {
			t.Errorf("θ=%g: want a vertical line (rays along y), got (%g,%g)–(%g,%g)", c.deg, x0, y0, x1, y1)
		}
		if c.horizontal && math.Abs(y1-y0) > 1e-9 {
			t.Errorf("θ=%g: want a horizontal line, got (%g,%g)–(%g,%g)", c.deg, x0, y0, x1, y1)
		}
	}
	// θ = 45°: rays along (−1, 1)/√2 (up and to the left), so the upper
	// end (smaller row) is to the left of the centre.
	x0, y0, x1, y1 := angleLine(n, 45, 10)
	if y0 > y1 {
		x0, y0, x1, y1 = x1, y1, x0, y0
	}
	if !(x0 < n/2) {
		t.Errorf("θ=45°: the upper end (%g,%g) should be left of the centre", x0, y0)
	}
}

func TestAnglesPanelRenders(t *testing.T) {
	const n = 16
	img := make([]float32, n*n)
	for i := range img {
		img[i] = float32(i % n)
	}
	pn := AnglesPanel(img, n, []float64{0, 36, 72, 108, 144, 10, 100}, 5, ImageOptions{Title: "angles"})
	if pn.Bar == nil {
		t.Error("no colour bar")
	}
	im := Figure{Panels: []*Panel{pn}}.Render()
	if im.Bounds().Dx() < 100 || im.Bounds().Dy() < 100 {
		t.Errorf("rendered %v", im.Bounds())
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for a wrong image size")
		}
	}()
	AnglesPanel(img[:5], n, nil, 0, ImageOptions{})
}

// TestLabelRadiiStagger: the numbers of angles adjacent in angle (modulo
// 180°, cyclically) sit at different distances from the centre, whatever
// the order of acquisition; the pilot angles get none.
func TestLabelRadiiStagger(t *testing.T) {
	angles := []float64{0, 36, 72, 108, 144, 91, 1, 90, 179.5, 89, 35}
	r := labelRadii(32, angles, 5)
	for k := range 5 {
		if r[k] != 0 {
			t.Errorf("pilot angle %d has a label radius %g", k, r[k])
		}
	}
	// in order of angle: 1 (6), 35 (10), 89 (9), 90 (7), 91 (5), 179.5 (8)
	order := []int{6, 10, 9, 7, 5, 8}
	for i := range order {
		a, b := order[i], order[(i+1)%len(order)] // the last and the first meet across 180°
		if r[a] == r[b] {
			t.Errorf("angles %g and %g are neighbours but share the radius %g", angles[a], angles[b], r[a])
		}
	}
	// four chosen angles: the fourth would cycle back to the first's radius
	r4 := labelRadii(32, []float64{10, 50, 100, 150}, 0)
	if r4[3] == r4[0] {
		t.Errorf("150° and 10° are neighbours across 180° but share the radius %g", r4[0])
	}
	for _, k := range order {
		if r[k] <= 0 || r[k] > 16 {
			t.Errorf("angle %g: radius %g outside the image", angles[k], r[k])
		}
	}
}
