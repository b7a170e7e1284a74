package linearised

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/ctrecon/ctrecon/linop"
)

// sketchPosterior is the posterior given the sketched data Qᵀy instead of
// y, with Q (m_y × r, orthonormal) the Nyström preconditioner's
// eigenvectors of K0 = A J Σ_θ Jᵀ Aᵀ:
//
//	Cov = Σ_xx − W (QᵀK0Q + σ_y² I)⁻¹ Wᵀ,  W = Σ_xx Aᵀ Q (N² × r).
//
// Conditioning on fewer data can only widen the posterior, so its
// variances are never below the full posterior's (conservative), and equal
// them when Q spans the data space (r = m_y). With Q spanning K0's top
// eigenvectors the discarded directions are those where the prior signal
// is weakest relative to the noise (λ_j ≲ λ_r), which carry least
// information. Its samples (Matheron's rule within the sketch) need one
// JVP each and no CG: r image-covariance products once, instead of a CG
// solve of (iterations × 2 JVP/VJP) per sample.
type sketchPosterior struct {
	r, m, npix int
	q          []float32 // r × m_y, row j = q_j
	w          []float32 // r × N², row j = Σ_xx Aᵀ q_j
	chol       mat.Cholesky
	h          Hyper
}

// buildSketch forms the sketched posterior at the current hyperparameters
// from the current preconditioner's eigenvectors.
func (mf *MatrixFree) buildSketch(ctx context.Context, rng *rand.Rand) (*sketchPosterior, error) {
	if err := mf.ensurePreconditioner(ctx, false, rng); err != nil {
		return nil, err
	}
	if mf.pre == nil {
		return nil, errors.New("linearised: the sketched posterior needs the Nyström preconditioner (PrecondRank ≥ 0)")
	}
	m, npix, r := mf.my, mf.npix, mf.pre.r
	sp := &sketchPosterior{r: r, m: m, npix: npix, q: make([]float32, r*m), w: make([]float32, r*npix), h: mf.Prior.H.Clone()}
	for i, v := range mf.pre.u {
		sp.q[i] = float32(v)
	}
	b := mf.set.batch()
	img := make([]float32, b*npix)
	for r0 := 0; r0 < r; r0 += b {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		c := min(b, r-r0)
		linop.AdjointBatch(mf.Prob.A, img[:c*npix], sp.q[r0*m:(r0+c)*m], c)
		imageCov(mf.Prob.J, mf.Prior, b, sp.w[r0*npix:(r0+c)*npix], img[:c*npix], c)
	}
	aw := make([]float32, r*m)
	chunked(b, r, npix, m, aw, sp.w, func(d, s []float32, c int) { linop.ApplyBatch(mf.Prob.A, d, s, c) })
	g := mat.NewSymDense(r, nil)
	noise := mf.Prior.H.NoiseVar()
	for i := 0; i < r; i++ {
		for j := i; j < r; j++ {
			v := 0.5 * (linop.Dot(sp.q[i*m:(i+1)*m], aw[j*m:(j+1)*m]) + linop.Dot(sp.q[j*m:(j+1)*m], aw[i*m:(i+1)*m]))
			if i == j {
				v += noise
			}
			g.SetSym(i, j, v)
		}
	}
	if !sp.chol.Factorize(g) {
		return nil, fmt.Errorf("linearised: sketched K_yy (rank %d) is not positive definite", r)
	}
	return sp, nil
}

// SketchSamples fills dst with k zero-mean samples (k × N², without δ) of
// the sketched posterior (see sketchPosterior), built on first use at the
// current hyperparameters and rebuilt when they change.
func (mf *MatrixFree) SketchSamples(ctx context.Context, dst []float32, k int, rng *rand.Rand) error {
	npix, n, m := mf.npix, mf.n, mf.my
	if len(dst) != k*npix {
		panic(fmt.Errorf("linearised: SketchSamples dst has length %d, want %d", len(dst), k*npix))
	}
	if mf.sketch == nil || !sameHyper(mf.sketch.h, mf.Prior.H) {
		sp, err := mf.buildSketch(ctx, rng)
		if err != nil {
			return err
		}
		mf.sketch = sp
	}
	sp := mf.sketch
	b := mf.set.batch()
	sy := math.Sqrt(mf.Prior.H.NoiseVar())
	w := make([]float32, b*n)
	ax := make([]float32, b*m)
	z := mat.NewVecDense(sp.r, nil)
	var c mat.VecDense
	for r0 := 0; r0 < k; r0 += b {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		cn := min(b, k-r0)
		xs := dst[r0*npix : (r0+cn)*npix]
		mf.Prior.Sample(w[:cn*n], cn, rng)
		linop.ApplyBatch(mf.Prob.J, xs, w[:cn*n], cn)
		linop.ApplyBatch(mf.Prob.A, ax[:cn*m], xs, cn)
		for s := 0; s < cn; s++ {
			a := ax[s*m : (s+1)*m]
			for i := range a {
				a[i] += float32(sy * rng.NormFloat64())
			}
			for j := 0; j < sp.r; j++ {
				z.SetVec(j, linop.Dot(sp.q[j*m:(j+1)*m], a))
			}
			if err := sp.chol.SolveVecTo(&c, z); err != nil {
				return err
			}
			x := xs[s*npix : (s+1)*npix]
			for j := 0; j < sp.r; j++ {
				cj := float32(c.AtVec(j))
				wj := sp.w[j*npix : (j+1)*npix]
				for i := range x {
					x[i] -= cj * wj[i]
				}
			}
		}
	}
	return nil
}

// sketchReduction returns diag(W (QᵀK0Q + σ_y² I)⁻¹ Wᵀ), the variance the
// sketched data remove from the prior (tests).
func (sp *sketchPosterior) reduction() []float64 {
	out := make([]float64, sp.npix)
	var c mat.VecDense
	e := mat.NewVecDense(sp.r, nil)
	inv := mat.NewDense(sp.r, sp.r, nil)
	for j := 0; j < sp.r; j++ {
		e.Zero()
		e.SetVec(j, 1)
		_ = sp.chol.SolveVecTo(&c, e)
		for i := 0; i < sp.r; i++ {
			inv.Set(i, j, c.AtVec(i))
		}
	}
	for p := 0; p < sp.npix; p++ {
		var s float64
		for i := 0; i < sp.r; i++ {
			wi := float64(sp.w[i*sp.npix+p])
			for j := 0; j < sp.r; j++ {
				s += wi * inv.At(i, j) * float64(sp.w[j*sp.npix+p])
			}
		}
		out[p] = s
	}
	return out
}
