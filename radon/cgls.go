package radon

import (
	"fmt"
	"math"

	"github.com/ctrecon/ctrecon/linop"
)

// CGLS runs iters steps of conjugate gradients on the normal equations
// AᵀA x = Aᵀy from x = 0 and leaves the iterate in dst: the unregularised
// least-squares baseline, regularised only by stopping early. Each step
// costs one projection and one back-projection; progress (may be nil) gets
// ½‖Ax − y‖² after each. It relies on Aᵀ being the exact transpose: with an
// approximate back-projector CG loses its guarantees (monotone
// residual, convergence to the least-squares solution).
//
// An invalid geometry or iteration count is returned as an error; slices of
// the wrong length panic with linop.ErrShape.
func CGLS(dst, sino []float32, g Geometry, iters int, progress func(iter int, loss float64)) error {
	p, err := NewOperator(g)
	if err != nil {
		return err
	}
	if iters < 0 {
		return fmt.Errorf("radon: CGLS: %d iterations", iters)
	}
	checkBatch("CGLS", dst, sino, g.ImageLen(), g.SinoLen())
	m, n := p.Dims()
	x := dst
	clear(x)
	r := append([]float32(nil), sino...) // y − A x
	s := make([]float32, n)              // Aᵀ r
	p.Adjoint(s, r)
	d := append([]float32(nil), s...) // search direction
	ad := make([]float32, m)
	gamma := linop.Dot(s, s)
	for it := 1; it <= iters && gamma > 0; it++ {
		p.Apply(ad, d)
		alpha := gamma / linop.Dot(ad, ad)
		for i := range x {
			x[i] += float32(alpha) * d[i]
		}
		for i := range r {
			r[i] -= float32(alpha) * ad[i]
		}
		p.Adjoint(s, r)
		next := linop.Dot(s, s)
		beta := next / gamma
		gamma = next
		for i := range d {
			d[i] = s[i] + float32(beta)*d[i]
		}
		if progress != nil {
			progress(it, linop.Dot(r, r)/2)
		}
		if math.IsNaN(gamma) {
			return fmt.Errorf("radon: CGLS: NaN at iteration %d (non-finite data?)", it)
		}
	}
	return nil
}
