package radon

import (
	"math"
	"testing"
)

// TestSplineResample: the resampled row passes through the samples, and
// between them follows a smooth signal far more closely than linear
// interpolation does (the cubic spline's error is O(h⁴), linear's O(h²)).
func TestSplineResample(t *testing.T) {
	const n, up = 64, 8
	f := func(x float64) float64 { return math.Exp(-(x - 30) * (x - 30) / (2 * 4 * 4)) }
	c := make([]float64, n)
	for k := range c {
		c[k] = f(float64(k))
	}
	dst := make([]float32, n*up)
	splineCoeffs(c)
	splineResample(dst, c, splineTaps(up))
	var errSpline, errLinear float64
	for m := range dst {
		x := float64(m) / up
		if m%up == 0 && math.Abs(float64(dst[m])-f(x)) > 1e-6 {
			t.Errorf("sample %d: %g, want %g", m/up, dst[m], f(x))
		}
		k := m / up
		lin := f(float64(k))
		if k+1 < n {
			lin += (x - float64(k)) * (f(float64(k+1)) - f(float64(k)))
		}
		errSpline = math.Max(errSpline, math.Abs(float64(dst[m])-f(x)))
		errLinear = math.Max(errLinear, math.Abs(lin-f(x)))
	}
	t.Logf("max error: spline %.2g, linear %.2g", errSpline, errLinear)
	if !(errSpline < 2e-4) || !(errSpline < errLinear/20) {
		t.Errorf("spline max error %.2g (linear %.2g)", errSpline, errLinear)
	}
}
