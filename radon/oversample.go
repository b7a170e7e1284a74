package radon

import "fmt"

// ProjectOversampled returns the sinogram of the n×n pixel image x in
// geometry g, computed on a grid `factor` times finer: each pixel becomes a
// factor×factor block of equal values (the image read as piecewise constant)
// and the rays are traced with bins factor times narrower in fine-pixel
// units, then scaled back to coarse-pixel units. Data made this way do not
// share the reconstruction projector's discretisation, which would flatter
// any method built on it (the "inverse crime").
func ProjectOversampled(x []float32, g Geometry, factor int) ([]float32, error) {
	if factor < 1 {
		return nil, fmt.Errorf("radon: oversampling factor %d must be ≥ 1", factor)
	}
	if factor == 1 {
		y := make([]float32, g.SinoLen())
		NewProjector(g).Apply(y, x)
		return y, nil
	}
	n, f := g.N, factor
	fine := make([]float32, n*f*n*f)
	for i := 0; i < n*f; i++ {
		for j := 0; j < n*f; j++ {
			fine[i*n*f+j] = x[(i/f)*n+j/f]
		}
	}
	// The same scan in fine pixels: every length scales by f.
	gf := g
	gf.N, gf.DetSpacing = n*f, g.DetSpacing*float64(f)
	gf.SourceDistance, gf.DetectorDistance = g.SourceDistance*float64(f), g.DetectorDistance*float64(f)
	p, err := NewProjectorChecked(gf)
	if err != nil {
		return nil, err
	}
	y := make([]float32, g.SinoLen())
	p.Apply(y, fine)
	for i := range y {
		y[i] /= float32(f) // lengths in fine pixels → coarse pixels
	}
	return y, nil
}
