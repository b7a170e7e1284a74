package radon

import (
	"fmt"
	"math"

	"github.com/ctrecon/ctrecon/linop"
)

// SIRTSettings configures SIRT. The zero value gives the defaults.
type SIRTSettings struct {
	// Iters is the number of iterations (default DefaultSIRTIters).
	Iters int
	// Relax is the relaxation λ of each step, in (0, 2) (default 1, the
	// standard SIRT step, as ASTRA's).
	Relax float64
	// NonNegative clips x to x ≥ 0 after each step.
	NonNegative bool
	// NoiseStd, when > 0, stops early at the discrepancy principle: at the
	// first iterate with ‖Ax − y‖² ≤ m·σ² (m measurements), where the
	// residual is as large as the noise; later iterates fit the noise. It
	// needs data whose model error is below the noise: on exact line
	// integrals at 32² the discretisation error alone exceeds 5% noise and
	// the stop comes late or never.
	NoiseStd float64
}

// DefaultSIRTIters is SIRTSettings' default iteration count. SIRT resolves
// the low frequencies first and the noise last, so the count regularises.
// On Shepp–Logan with 5% noise (64² and 128², 30 to 180 angles) the best
// count is 70–155 without the x ≥ 0 constraint and 175–225 with it; 200
// loses at most 0.73 dB to the best in all twelve cases, fewer than any
// other count tried (150: 0.95 dB, 100: 3.2 dB). Measurements:
// TestSIRTIterationCount.
const DefaultSIRTIters = 200

// SIRT sets dst to the result of the simultaneous iterative reconstruction
// technique from x = 0:
//
//	x ← x + λ·C·Aᵀ·R·(y − A x),   R = diag(1/A·1),   C = diag(1/Aᵀ·1),
//
// with R the inverse row sums (ray lengths through the image) and C the
// inverse column sums (how much of each pixel the rays see) of A, both from
// one projection of ones and one back-projection of ones; a ray that misses
// the image (row sum 0) is ignored and a pixel that no ray sees (column sum
// 0) stays 0. This is gradient descent on ½‖Ax − y‖²_R in the metric of C⁻¹,
// where the gradient's Lipschitz constant ‖R^½ A C^½‖² is at most 1 (Schur's
// test), so any λ in (0, 2) never increases the weighted residual, also with
// NonNegative, which clips after each step (a projection in the diagonal
// metric). op must have nonnegative entries, as a projector has,
// for A·1 and Aᵀ·1 to be its absolute row and column sums.
//
// Each iteration costs one projection and one back-projection; progress (may
// be nil) gets the weighted objective ½‖Ax − y‖²_R at the new iterate after
// each. The run stops after s.Iters iterations, or earlier at the
// discrepancy principle when s.NoiseStd > 0.
//
// An invalid setting or a non-finite iterate (non-finite data) is returned
// as an error; slices of the wrong length are a programmer mistake and panic
// with linop.ErrShape.
func SIRT(dst []float32, op linop.Operator, y []float32, s SIRTSettings, progress func(iter int, loss float64)) error {
	if s.Iters < 0 {
		return fmt.Errorf("radon: SIRT: %d iterations", s.Iters)
	}
	if s.Relax != 0 && !(s.Relax > 0 && s.Relax < 2) {
		return fmt.Errorf("radon: SIRT: relaxation %g, must be in (0, 2)", s.Relax)
	}
	if s.NoiseStd < 0 || math.IsNaN(s.NoiseStd) || math.IsInf(s.NoiseStd, 0) {
		return fmt.Errorf("radon: SIRT: noise std %g, must be finite and ≥ 0", s.NoiseStd)
	}
	m, n := op.Dims()
	checkBatch("SIRT", dst, y, n, m)
	iters := s.Iters
	if iters == 0 {
		iters = DefaultSIRTIters
	}
	relax := float32(s.Relax)
	if s.Relax == 0 {
		relax = 1
	}
	r, c := SIRTWeights(op)
	for j := range c {
		c[j] *= relax
	}
	stop := -1.0 // ‖Ax − y‖² at the discrepancy principle
	if s.NoiseStd > 0 {
		stop = float64(m) * s.NoiseStd * s.NoiseStd
	}

	x := dst
	clear(x)
	res := append([]float32(nil), y...) // y − A x
	ax := make([]float32, m)
	grad := make([]float32, n)
	for it := 1; it <= iters; it++ {
		for i := range res {
			res[i] *= r[i]
		}
		op.Adjoint(grad, res)
		for j := range x {
			v := x[j] + c[j]*grad[j]
			if s.NonNegative && v < 0 {
				v = 0
			}
			x[j] = v
		}
		op.Apply(ax, x)
		var wss, ss float64
		for i := range res {
			d := y[i] - ax[i]
			res[i] = d
			ss += float64(d) * float64(d)
			wss += float64(r[i]) * float64(d) * float64(d)
		}
		if math.IsNaN(ss) || math.IsInf(ss, 0) {
			return fmt.Errorf("radon: SIRT: non-finite residual at iteration %d (non-finite data?)", it)
		}
		if progress != nil {
			progress(it, wss/2)
		}
		if ss <= stop {
			break
		}
	}
	return nil
}

// SIRTWeights returns SIRT's preconditioners for op: r[i] = 1/(A·1)_i, the
// inverse row sums, and c[j] = 1/(Aᵀ·1)_j, the inverse column sums, with 0
// where a sum is not positive (a ray that misses the image, a pixel that no
// ray sees). The sums are absolute only for an op with nonnegative entries.
func SIRTWeights(op linop.Operator) (r, c []float32) {
	m, n := op.Dims()
	ones := make([]float32, max(m, n))
	for i := range ones {
		ones[i] = 1
	}
	r = make([]float32, m)
	op.Apply(r, ones[:n])
	for i, v := range r {
		r[i] = invPositive(v)
	}
	c = make([]float32, n)
	op.Adjoint(c, ones[:m])
	for j, v := range c {
		c[j] = invPositive(v)
	}
	return r, c
}

// invPositive is 1/v for v > 0 and 0 otherwise. The projector's weights
// are nonnegative and a missed ray or unseen pixel sums no weight at all, so
// its sums are exactly 0 there.
func invPositive(v float32) float32 {
	if v > 0 {
		return 1 / v
	}
	return 0
}
