package radon

import (
	"math"
	"testing"
)

func TestAnisotropicTV(t *testing.T) {
	// [[0, 1], [3, 2]]: horizontal |1−0| + |2−3|, vertical |3−0| + |2−1| → 6.
	x := []float32{0, 1, 3, 2}
	g := make([]float32, 4)
	if tv := AnisotropicTV(g, x, 2, 0.5); tv != 6 {
		t.Fatalf("TV = %g, want 6", tv)
	}
	// Away from ties the subgradient is the gradient: central differences
	// of a piecewise-linear function are exact inside a linear piece, so the
	// tolerance is float32 rounding of x ± h.
	for i := range x {
		xp := append([]float32(nil), x...)
		xm := append([]float32(nil), x...)
		xp[i] += 0.01
		xm[i] -= 0.01
		fd := 0.5 * (AnisotropicTV(nil, xp, 2, 1) - AnisotropicTV(nil, xm, 2, 1)) / 0.02
		if math.Abs(fd-float64(g[i])) > 1e-5 {
			t.Fatalf("∂TV/∂x[%d]·0.5 = %g, finite difference %g", i, g[i], fd)
		}
	}
	// A tie contributes no subgradient (sign(0) = 0).
	flat := []float32{1, 1, 1, 1}
	gf := []float32{9, 9, 9, 9}
	if tv := AnisotropicTV(gf, flat, 2, 1); tv != 0 || gf[0] != 0 || gf[3] != 0 {
		t.Fatalf("flat image: TV %g, grad %v", tv, gf)
	}
}
