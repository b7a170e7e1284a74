package radon

import "math"

// AnisotropicTV returns the anisotropic total variation of the n×n image x,
//
//	Σ_ij |x_{i,j+1} − x_ij| + |x_{i+1,j} − x_ij|
//
// (forward differences, no term across the border), the regulariser of TV,
// of the DIP loss and of the TV-PredCP hyperprior. When grad is not nil it
// is set to weight times a subgradient, with sign(0) = 0 as PyTorch's abs.
// Differences are taken in float64, so ties are exact.
func AnisotropicTV(grad, x []float32, n int, weight float32) float64 {
	if grad != nil {
		clear(grad)
	}
	var tv float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			p := i*n + j
			if j+1 < n {
				tv += tvTerm(grad, x, p, p+1, weight)
			}
			if i+1 < n {
				tv += tvTerm(grad, x, p, p+n, weight)
			}
		}
	}
	return tv
}

// tvTerm returns |x[q] − x[p]| and adds its weighted subgradient to grad.
func tvTerm(grad, x []float32, p, q int, weight float32) float64 {
	d := float64(x[q]) - float64(x[p])
	if grad != nil {
		var s float32
		switch {
		case d > 0:
			s = weight
		case d < 0:
			s = -weight
		}
		grad[q] += s
		grad[p] -= s
	}
	return math.Abs(d)
}
