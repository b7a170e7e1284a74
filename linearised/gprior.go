package linearised

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/nn"
)

// ScaledColumns is J·diag(d): the Jacobian with every input (weight)
// rescaled. A prior N(0, Σ) on the rescaled weights θ̃ = θ/d is the prior
// N(0, D Σ D) on θ, so wrapping J changes the prior without touching any
// algorithm.
type ScaledColumns struct {
	J linop.Operator
	D []float32 // length n
}

var _ linop.BatchOperator = (*ScaledColumns)(nil)

func (s *ScaledColumns) Dims() (int, int) { return s.J.Dims() }

func (s *ScaledColumns) Apply(dst, x []float32) { s.ApplyBatch(dst, x, 1) }

func (s *ScaledColumns) Adjoint(dst, y []float32) { s.AdjointBatch(dst, y, 1) }

// ApplyBatch sets dst[b] = J (d ⊙ x[b]).
func (s *ScaledColumns) ApplyBatch(dst, x []float32, k int) {
	_, n := s.J.Dims()
	xs := make([]float32, len(x))
	for r := 0; r < k; r++ {
		for i, v := range x[r*n : (r+1)*n] {
			xs[r*n+i] = v * s.D[i]
		}
	}
	linop.ApplyBatch(s.J, dst, xs, k)
}

// AdjointBatch sets dst[b] = d ⊙ (Jᵀ y[b]).
func (s *ScaledColumns) AdjointBatch(dst, y []float32, k int) {
	_, n := s.J.Dims()
	linop.AdjointBatch(s.J, dst, y, k)
	for r := 0; r < k; r++ {
		row := dst[r*n : (r+1)*n]
		for i := range row {
			row[i] *= s.D[i]
		}
	}
}

// GPriorSettings configures GPrior. The zero value gives the defaults.
type GPriorSettings struct {
	// Probes > 0 estimates the feature norms s_i² = ‖(AJ)_{:,i}‖² from that
	// many Rademacher probes z (s_i² ≈ mean (JᵀAᵀz)_i², relative error
	// ≤ √(2/Probes)); 0 computes them exactly from m_y unit vectors.
	Probes int
	// Batch is the number of VJPs per batched call (default 32).
	Batch int
	// Isotropic replaces every block by a 1×1 (isotropic normal) block with
	// its own σ_b², the plain g-prior; otherwise 3×3 blocks keep their
	// Matérn-½ filter correlation on the normalised weights.
	Isotropic bool
	// Floor bounds s_i below, as a fraction of the root-mean-square s
	// (default 1e-3), so that weights the data do not see (s_i ≈ 0) get a
	// finite prior scale.
	Floor float64
}

// GPrior returns the problem rewritten for the g-prior of arXiv 2210.04994
// (after Zellner): features normalised by their scale in the data,
// θ̃_i = s_i θ_i with s_i = ‖(AJ)_{:,i}‖, so that an isotropic prior on θ̃
// is invariant to the very different scales of Jacobian columns. The new
// problem has J̃ = J·diag(1/s) and θ̄̃ = s ⊙ θ̄; image-space results
// (variances, samples, K_yy) are those of the prior N(0, diag(1/s) Σ diag(1/s))
// on the original weights. It returns the scales 1/s too.
func GPrior(ctx context.Context, prob *Problem, s GPriorSettings, rng *rand.Rand) (*Problem, []float32, error) {
	my, npix, n, err := prob.dims()
	if err != nil {
		return nil, nil, err
	}
	batch := s.Batch
	if batch <= 0 {
		batch = 32
	}
	s2 := make([]float64, n)
	k := my
	if s.Probes > 0 {
		k = s.Probes
		if rng == nil {
			return nil, nil, errors.New("linearised: GPrior with probes needs a random source")
		}
	}
	z := make([]float32, batch*my)
	img := make([]float32, batch*npix)
	g := make([]float32, batch*n)
	for r0 := 0; r0 < k; r0 += batch {
		if err := ctxErr(ctx); err != nil {
			return nil, nil, err
		}
		c := min(batch, k-r0)
		clear(z[:c*my])
		for r := 0; r < c; r++ {
			if s.Probes > 0 {
				for i := 0; i < my; i++ {
					z[r*my+i] = float32(2*int(rng.Uint64()&1) - 1)
				}
			} else {
				z[r*my+r0+r] = 1
			}
		}
		linop.AdjointBatch(prob.A, img[:c*npix], z[:c*my], c)
		linop.AdjointBatch(prob.J, g[:c*n], img[:c*npix], c)
		for r := 0; r < c; r++ {
			for i, v := range g[r*n : (r+1)*n] {
				s2[i] += float64(v) * float64(v)
			}
		}
	}
	var ms float64
	for i := range s2 {
		if s.Probes > 0 {
			s2[i] /= float64(k)
		}
		ms += s2[i]
	}
	ms /= float64(n)
	if !(ms > 0) {
		return nil, nil, errors.New("linearised: GPrior: A·J is zero")
	}
	floor := s.Floor
	if floor <= 0 {
		floor = 1e-3
	}
	lo := floor * math.Sqrt(ms)
	d := make([]float32, n)
	for i, v := range s2 {
		d[i] = float32(1 / math.Max(math.Sqrt(v), lo))
	}
	out := *prob
	out.J = &ScaledColumns{J: prob.J, D: d}
	scale := func(v []float32) []float32 {
		if v == nil {
			return nil
		}
		w := make([]float32, n)
		for i, x := range v {
			w[i] = x / d[i]
		}
		return w
	}
	out.Theta, out.PriorMean = scale(prob.Theta), scale(prob.PriorMean)
	if s.Isotropic {
		out.Blocks = make([]nn.PriorBlock, len(prob.Blocks))
		for i, b := range prob.Blocks {
			b.Kernel = 1
			out.Blocks[i] = b
		}
	}
	return &out, d, nil
}
