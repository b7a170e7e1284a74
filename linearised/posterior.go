package linearised

import (
	"context"
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"

	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/linop"
)

// ensure makes the Cholesky factor of K_yy current for the prior's
// hyperparameters.
func (e *Exact) ensure() error {
	if !e.factOK || !sameHyper(e.fact, e.Prior.H) {
		if _, err := e.factor(); err != nil {
			return err
		}
	}
	return nil
}

func sameHyper(a, b Hyper) bool {
	if a.LogNoise != b.LogNoise || len(a.LogVar) != len(b.LogVar) || len(a.LogLen) != len(b.LogLen) {
		return false
	}
	for i := range a.LogVar {
		if a.LogVar[i] != b.LogVar[i] || a.LogLen[i] != b.LogLen[i] {
			return false
		}
	}
	return true
}

// jacRows returns the rows J_P of J for the pixels P (|P| × n) by batched
// VJPs on pixel unit vectors.
func jacRows(ctx context.Context, J linop.Operator, pixels []int, batch int) ([]float32, error) {
	npix, n := J.Dims()
	c := len(pixels)
	rows := make([]float32, c*n)
	e := make([]float32, batch*npix)
	for r0 := 0; r0 < c; r0 += batch {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		k := min(batch, c-r0)
		clear(e[:k*npix])
		for r := 0; r < k; r++ {
			e[r*npix+pixels[r0+r]] = 1
		}
		linop.AdjointBatch(J, rows[r0*n:(r0+k)*n], e[:k*npix], k)
	}
	return rows, nil
}

// postBlock returns the posterior covariance (without δ) of the pixels P,
//
//	Σ_post[P,P] = R Rᵀ − (R Gᵀ) K_yy⁻¹ (R Gᵀ)ᵀ,   R = J_P Σ^{½},  G = AJ Σ^{½},
//
// as a full |P|×|P| matrix, or only its diagonal when full is false. All
// reductions over the n weights run in float64, chunk by chunk.
func (e *Exact) postBlock(ctx context.Context, pixels []int, full bool) ([]float64, error) {
	if err := e.ensure(); err != nil {
		return nil, err
	}
	for _, p := range pixels {
		if p < 0 || p >= e.npix {
			panic(fmt.Errorf("linearised: pixel %d outside [0, %d)", p, e.npix))
		}
	}
	r, err := jacRows(ctx, e.Prob.J, pixels, e.set.batch())
	if err != nil {
		return nil, err
	}
	c, m, n := len(pixels), e.my, e.n
	u := make([]float64, c*m)
	prior := make([]float64, c*c) // R Rᵀ (only the diagonal when !full)
	const maxw = 2048
	rc := make([]float64, c*maxw)
	gc := make([]float64, m*maxw)
	// Σ^{½} is applied per weight chunk in float64, so R and G carry no
	// rounding beyond that of J and AJ themselves.
	for _, ch := range e.Prior.weightChunks(maxw) {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		w := ch.hi - ch.lo
		sc, l := e.Prior.chunkSqrt(ch)
		par.For(c, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sqrtT64(rc[i*w:i*w+w], r[i*n+ch.lo:i*n+ch.hi], sc, l)
			}
		})
		par.For(m, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sqrtT64(gc[i*w:i*w+w], e.aj[i*n+ch.lo:i*n+ch.hi], sc, l)
			}
		})
		// U += R_c G_cᵀ, rows of R split over the workers.
		par.ForGrain(c, 16, func(lo, hi int) {
			dgemm(false, true, hi-lo, m, w, 1, rc[lo*w:], w, gc, w, 1, u[lo*m:], m)
		})
		if full {
			dgemm(false, true, c, c, w, 1, rc, w, rc, w, 1, prior, c)
		} else {
			for i := 0; i < c; i++ {
				var s float64
				for _, v := range rc[i*w : i*w+w] {
					s += v * v
				}
				prior[i*c+i] += s
			}
		}
	}
	// Z = U·Uc⁻¹ with K_yy = UcᵀUc, so Z Zᵀ = U K_yy⁻¹ Uᵀ.
	blas64.Trsm(blas.Right, blas.NoTrans, 1, e.tri(), blas64.General{Rows: c, Cols: m, Data: u, Stride: m})
	if full {
		blas64.Gemm(blas.NoTrans, blas.Trans, -1, blas64.General{Rows: c, Cols: m, Data: u, Stride: m},
			blas64.General{Rows: c, Cols: m, Data: u, Stride: m}, 1, blas64.General{Rows: c, Cols: c, Data: prior, Stride: c})
		return prior, nil
	}
	d := make([]float64, c)
	for i := 0; i < c; i++ {
		var s float64
		for _, v := range u[i*m : i*m+m] {
			s += v * v
		}
		d[i] = prior[i*c+i] - s
	}
	return d, nil
}

// Covariance returns the exact posterior covariance (without the δ term) of
// the given pixels as a row-major |P|×|P| float64 matrix, at the prior's
// current hyperparameters. Use it for patch log-likelihoods.
func (e *Exact) Covariance(ctx context.Context, pixels []int) ([]float64, error) {
	return e.postBlock(ctx, pixels, true)
}

// ImageCovariance is Covariance of every pixel: the dense N²×N² posterior
// covariance (without δ) that experimental design's closed form uses.
func (e *Exact) ImageCovariance(ctx context.Context) ([]float64, error) {
	all := make([]int, e.npix)
	for i := range all {
		all[i] = i
	}
	return e.Covariance(ctx, all)
}

// Variances writes the exact posterior variance of every pixel (without
// the δ term) into dst (length N²). Rows of J are computed PixelChunk at a
// time, so J is never held whole.
func (e *Exact) Variances(ctx context.Context, dst []float64) error {
	if len(dst) != e.npix {
		panic(fmt.Errorf("linearised: Variances dst has length %d, want %d", len(dst), e.npix))
	}
	ch := e.set.pixelChunk()
	pix := make([]int, 0, ch)
	for p0 := 0; p0 < e.npix; p0 += ch {
		pix = pix[:0]
		for p := p0; p < min(p0+ch, e.npix); p++ {
			pix = append(pix, p)
		}
		d, err := e.postBlock(ctx, pix, false)
		if err != nil {
			return err
		}
		copy(dst[p0:], d)
	}
	return nil
}

// Solve sets dst = K_yy⁻¹ b for k right-hand sides (each of length m_y) by
// the Cholesky factor at the prior's current hyperparameters.
func (e *Exact) Solve(dst, b []float32, k int) error {
	m := e.my
	if len(dst) != k*m || len(b) != k*m {
		panic(fmt.Errorf("linearised: Solve: lengths %d, %d for %d vectors of %d", len(dst), len(b), k, m))
	}
	if err := e.ensure(); err != nil {
		return err
	}
	bm := make([]float64, m*k) // m × k, column r is right-hand side r
	for r := 0; r < k; r++ {
		for i := 0; i < m; i++ {
			bm[i*k+r] = float64(b[r*m+i])
		}
	}
	lapack64.Potrs(e.tri(), blas64.General{Rows: m, Cols: k, Data: bm, Stride: k})
	for r := 0; r < k; r++ {
		for i := 0; i < m; i++ {
			dst[r*m+i] = float32(bm[i*k+r])
		}
	}
	return nil
}

// Samples fills dst with k zero-mean exact posterior samples (k × N²,
// without δ) by Matheron's rule with the Cholesky factor of K_yy.
func (e *Exact) Samples(ctx context.Context, dst []float32, k int, rng *rand.Rand) error {
	if err := e.ensure(); err != nil {
		return err
	}
	return matheron(ctx, e.Prob, e.Prior, e.set.batch(), dst, k, rng, func(u, b []float32, k int) error {
		return e.Solve(u, b, k)
	})
}
