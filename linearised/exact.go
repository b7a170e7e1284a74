package linearised

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/linop"
)

// ExactSettings configures the exact (assembled) regime. The zero value
// gives the defaults.
type ExactSettings struct {
	// Batch is the number of JVPs/VJPs per batched call when assembling AJ
	// and Jacobian rows (default 32).
	Batch int
	// PixelChunk is the number of image pixels whose Jacobian rows are held
	// at once when computing posterior variances (default 256; memory
	// PixelChunk·n·4 bytes).
	PixelChunk int
}

func (s ExactSettings) batch() int {
	if s.Batch <= 0 {
		return 32
	}
	return s.Batch
}

func (s ExactSettings) pixelChunk() int {
	if s.PixelChunk <= 0 {
		return 256
	}
	return s.PixelChunk
}

// Exact is the linearised model with AJ assembled and K_yy decomposed into
// precomputed pieces (DESIGN.md §5): for every Kernel-3 block b and distinct
// filter distance d, M_bd = AJ_b (I⊗D_d) AJ_bᵀ, D_d the 9×9 indicator of
// position pairs at distance d; for every Kernel-1 block M_b = AJ_b AJ_bᵀ.
// Then
//
//	K_yy = Σ_b σ_b² Σ_d k_d(ℓ_b) M_bd + σ_y² I,   k_d(ℓ) = exp(−d/ℓ) (+1e-6 at d=0),
//
// so every marginal-likelihood step is a weighted sum and one Cholesky.
// Memory: AJ (m_y·n float32) plus terms·m_y(m_y+1)/2 float32.
type Exact struct {
	Prob  *Problem
	Prior *Prior

	my, npix, n int
	set         ExactSettings
	aj          []float32 // m_y × n row-major
	terms       []term
	// mall interleaves the terms' packed upper triangles: entry p of term t
	// at mall[p·T + t] (T = len(terms)), so that assembling K_yy and the
	// traces tr(K⁻¹M_t) are matrix–vector products over contiguous rows
	// (OpenBLAS sgemv) instead of T strided passes.
	mall []float32
	r2   float64
	ws   weightStats

	// Factor state for the current hyperparameters (see factor).
	kbuf   []float64 // m_y×m_y: upper Cholesky factor U of K_yy = UᵀU
	fact   Hyper     // hyperparameters kbuf belongs to
	factOK bool
	// Jitter is the largest diagonal jitter (absolute) that had to be added
	// to K_yy for its Cholesky factorisation to succeed; 0 when none.
	Jitter float64
}

type term struct {
	block, dist int // dist 0 for Kernel-1 blocks
}

// distPairs[d][q] lists the filter positions p at distance index d from q.
var distPairs = func() (dp [nDist][9][]int) {
	for p := 0; p < 9; p++ {
		for q := 0; q < 9; q++ {
			d := distIndex[p][q]
			dp[d][q] = append(dp[d][q], p)
		}
	}
	return dp
}()

// packOff returns the offset of row i of a packed upper m×m triangle.
func packOff(i, m int) int { return i*m - i*(i-1)/2 }

// NewExact assembles AJ (by batched VJPs over measurement unit vectors or
// batched JVPs over weight unit vectors, whichever needs fewer products)
// and precomputes the K_yy terms. prior must be over J's input.
func NewExact(ctx context.Context, prob *Problem, prior *Prior, set ExactSettings) (*Exact, error) {
	my, npix, n, err := prob.dims()
	if err != nil {
		return nil, err
	}
	if prior.Dim() != n {
		return nil, fmt.Errorf("linearised: prior over %d weights, J has %d", prior.Dim(), n)
	}
	e := &Exact{Prob: prob, Prior: prior, my: my, npix: npix, n: n, set: set}
	if e.aj, err = assembleAJ(ctx, prob.J, prob.A, set.batch()); err != nil {
		return nil, err
	}
	if err := e.precompute(ctx); err != nil {
		return nil, err
	}
	e.r2 = prob.residual2()
	e.ws = newWeightStats(prior, prob.theta(n))
	e.kbuf = make([]float64, my*my)
	return e, nil
}

// AJ returns the assembled m_y × n matrix A·J (row-major, shared).
func (e *Exact) AJ() []float32 { return e.aj }

// assembleAJ returns A·J as a dense m_y × n row-major matrix.
func assembleAJ(ctx context.Context, J, A linop.Operator, batch int) ([]float32, error) {
	npix, n := J.Dims()
	my, _ := A.Dims()
	aj := make([]float32, my*n)
	if my <= n {
		// Rows: (AJ)ᵀ e_i = Jᵀ Aᵀ e_i.
		e := make([]float32, batch*my)
		ate := make([]float32, batch*npix)
		for i0 := 0; i0 < my; i0 += batch {
			if err := ctxErr(ctx); err != nil {
				return nil, err
			}
			k := min(batch, my-i0)
			clear(e[:k*my])
			for r := 0; r < k; r++ {
				e[r*my+i0+r] = 1
			}
			linop.AdjointBatch(A, ate[:k*npix], e[:k*my], k)
			linop.AdjointBatch(J, aj[i0*n:(i0+k)*n], ate[:k*npix], k)
		}
		return aj, nil
	}
	// Columns: A J e_j.
	e := make([]float32, batch*n)
	je := make([]float32, batch*npix)
	aje := make([]float32, batch*my)
	for j0 := 0; j0 < n; j0 += batch {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		k := min(batch, n-j0)
		clear(e[:k*n])
		for r := 0; r < k; r++ {
			e[r*n+j0+r] = 1
		}
		linop.ApplyBatch(J, je[:k*npix], e[:k*n], k)
		linop.ApplyBatch(A, aje[:k*my], je[:k*npix], k)
		for r := 0; r < k; r++ {
			for i := 0; i < my; i++ {
				aj[i*n+j0+r] = aje[r*my+i]
			}
		}
	}
	return aj, nil
}

// precompute builds the packed terms M_bd. Per block it streams column
// chunks of AJ_b in float64 and accumulates only the upper triangle of
// B_d·AJ_bᵀ (B_d = AJ_b (I⊗D_d)) by row tiles, so the flop count is about
// half a full GEMM per distance.
func (e *Exact) precompute(ctx context.Context) error {
	m, n := e.my, e.n
	const chunkFilters = 64
	const tile = 128
	cw := 9 * chunkFilters
	var packs [][]float32
	ajc := make([]float64, m*cw)
	bd := make([]float64, m*cw)
	for bi, b := range e.Prior.Blocks {
		nd := 1
		if b.Kernel == 3 {
			nd = nDist
		}
		acc := make([][]float64, nd)
		for d := range acc {
			acc[d] = make([]float64, m*m)
		}
		for c0 := 0; c0 < b.Len; c0 += cw {
			if err := ctxErr(ctx); err != nil {
				return err
			}
			w := min(cw, b.Len-c0)
			par.For(m, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					src := e.aj[i*n+b.Offset+c0 : i*n+b.Offset+c0+w]
					dst := ajc[i*w : i*w+w]
					for j, v := range src {
						dst[j] = float64(v)
					}
				}
			})
			for d := 0; d < nd; d++ {
				src := ajc
				if d > 0 {
					// B_d[i, f9+q] = Σ_{p: dist(p,q)=d} AJ[i, f9+p].
					nb := &distPairs[d]
					par.For(m, func(lo, hi int) {
						for i := lo; i < hi; i++ {
							row := ajc[i*w : i*w+w]
							out := bd[i*w : i*w+w]
							for f := 0; f < w; f += 9 {
								for q := 0; q < 9; q++ {
									var s float64
									for _, p := range nb[q] {
										s += row[f+p]
									}
									out[f+q] = s
								}
							}
						}
					})
					src = bd
				}
				// Upper triangle by row tiles: tile t computes rows
				// [t·tile, …) against columns from its first row on. Tiles
				// t and T−1−t are paired so that workers get equal work.
				nt := (m + tile - 1) / tile
				par.For((nt+1)/2, func(lo, hi int) {
					do := func(t int) {
						i0 := t * tile
						i1 := min(i0+tile, m)
						dgemm(false, true, i1-i0, m-i0, w, 1, src[i0*w:], w, ajc[i0*w:], w, 1, acc[d][i0*m+i0:], m)
					}
					for p := lo; p < hi; p++ {
						do(p)
						if q := nt - 1 - p; q != p {
							do(q)
						}
					}
				})
			}
		}
		for d := 0; d < nd; d++ {
			// Stored in float32: the rounding is of the size AJ (float32)
			// already carries, and it halves the memory traffic of every
			// MLL step (which reads all terms twice).
			pk := make([]float32, m*(m+1)/2)
			for i := 0; i < m; i++ {
				dst := pk[packOff(i, m) : packOff(i, m)+m-i]
				for j, v := range acc[d][i*m+i : i*m+m] {
					dst[j] = float32(v)
				}
			}
			e.terms = append(e.terms, term{block: bi, dist: d})
			packs = append(packs, pk)
			acc[d] = nil
		}
	}
	T, P := len(packs), m*(m+1)/2
	e.mall = make([]float32, P*T)
	par.For(P, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			for t, pk := range packs {
				e.mall[p*T+t] = pk[p]
			}
		}
	})
	return nil
}

// termPacked returns term t's packed upper triangle (a copy; tests).
func (e *Exact) termPacked(t int) []float32 {
	T := len(e.terms)
	out := make([]float32, len(e.mall)/T)
	for p := range out {
		out[p] = e.mall[p*T+t]
	}
	return out
}

// weights returns the coefficient of each term in K_yy at hyperparameters h,
// and the derivatives of that coefficient with respect to log σ_b² (equal
// to the coefficient) and log ℓ_b.
func (e *Exact) weights(h Hyper) (w, dwl []float64) {
	w = make([]float64, len(e.terms))
	dwl = make([]float64, len(e.terms))
	var k, dk [nDist]float64
	lastB := -1
	for t, tm := range e.terms {
		b := e.Prior.Blocks[tm.block]
		v := math.Exp(h.LogVar[tm.block])
		if b.Kernel == 1 {
			w[t] = v
			continue
		}
		if tm.block != lastB {
			k, dk = kernelCoef(math.Exp(h.LogLen[tm.block]))
			k[0] += FilterJitter
			lastB = tm.block
		}
		w[t] = v * k[tm.dist]
		dwl[t] = v * dk[tm.dist]
	}
	return w, dwl
}

// assemble writes the upper triangle of K_yy (plus jitter on the diagonal)
// into e.kbuf: entry (i, j) is the float64 dot product of the term weights
// with mall's row for it. (Summing in float32 by sgemv was measured 2×
// faster but made the loss jitter at 1e-5 relative, enough to spoil its
// finite-difference gradient checks and Adam's late steps.)
func (e *Exact) assemble(w []float64, noise, jitter float64) {
	m, T := e.my, len(e.terms)
	par.For((m+1)/2, func(lo, hi int) {
		row := func(i int) {
			o := packOff(i, m)
			r := e.kbuf[i*m+i : i*m+m]
			for j := range r {
				r[j] = dotMixed(w, e.mall[(o+j)*T:(o+j+1)*T])
			}
			r[0] += noise + jitter
		}
		// Pair row p with row m−1−p so that the workers get equal work.
		for p := lo; p < hi; p++ {
			row(p)
			if q := m - 1 - p; q != p {
				row(q)
			}
		}
	})
}

// factor assembles and Cholesky-factorises K_yy at the prior's current
// hyperparameters, adding diagonal jitter (1e-10, 1e-9, … up to 1e-3 times
// the mean diagonal) when the plain factorisation fails. It returns the
// log-determinant of the factorised matrix.
func (e *Exact) factor() (float64, error) {
	h := e.Prior.H
	w, _ := e.weights(h)
	m := e.my
	noise := h.NoiseVar()
	jitter := 0.0
	for {
		e.assemble(w, noise, jitter)
		var meanDiag float64
		for i := 0; i < m; i++ {
			meanDiag += e.kbuf[i*m+i]
		}
		meanDiag /= float64(m)
		if cholUpper(e.kbuf, m) {
			break
		}
		if jitter == 0 {
			jitter = 1e-10 * meanDiag
		} else {
			jitter *= 10
		}
		if jitter > 1e-3*meanDiag || math.IsNaN(meanDiag) || math.IsInf(meanDiag, 0) {
			e.factOK = false
			return 0, errors.New("linearised: K_yy is not positive definite even with jitter 1e-3·mean diagonal")
		}
	}
	if jitter > e.Jitter {
		e.Jitter = jitter
	}
	var ld float64
	for i := 0; i < m; i++ {
		ld += 2 * math.Log(e.kbuf[i*m+i])
	}
	e.fact = h.Clone()
	e.factOK = true
	return ld, nil
}

func (e *Exact) tri() blas64.Triangular {
	return blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: e.my, Data: e.kbuf, Stride: e.my}
}

// Loss returns the negative log marginal likelihood (up to a constant, as in
// bayes_dip)
//
//	L = ½‖y − A x̂‖²/σ_y² + ½ θ̄ᵀΣ_θ⁻¹θ̄ + ½ log|K_yy|
//
// at the prior's current hyperparameters. When grad is non-nil it receives
// ∂L/∂(log-hyperparameters): the trace terms ½ tr(K_yy⁻¹ ∂K_yy) come from
// the explicit inverse and the precomputed terms.
func (e *Exact) Loss(grad *Hyper) (float64, error) {
	h := e.Prior.H
	noise := h.NoiseVar()
	if grad != nil {
		*grad = Hyper{LogVar: make([]float64, len(h.LogVar)), LogLen: make([]float64, len(h.LogLen))}
	}
	ld, err := e.factor()
	if err != nil {
		return 0, err
	}
	q := e.Prior.quad(e.ws, grad)
	loss := 0.5 * (e.r2/noise + q + ld)
	if grad == nil {
		return loss, nil
	}
	grad.LogNoise -= 0.5 * e.r2 / noise
	// K⁻¹ (upper triangle) overwrites the factor.
	e.factOK = false
	m := e.my
	if !cholInvUpper(e.kbuf, m) {
		return 0, errors.New("linearised: inverting K_yy failed")
	}
	var trInv float64
	for i := 0; i < m; i++ {
		trInv += e.kbuf[i*m+i]
	}
	grad.LogNoise += 0.5 * noise * trInv
	w, dwl := e.weights(h)
	tr := e.tracesInv()
	for t, tm := range e.terms {
		grad.LogVar[tm.block] += 0.5 * w[t] * tr[t]
		grad.LogLen[tm.block] += 0.5 * dwl[t] * tr[t]
	}
	return loss, nil
}

// tracesInv returns tr(K⁻¹ M_t) for every term, with K⁻¹'s upper triangle
// in kbuf: per packed row, mallᵀ times that row of K⁻¹ (off-diagonal
// entries doubled) in float32, summed over rows in float64.
func (e *Exact) tracesInv() []float64 {
	m, T := e.my, len(e.terms)
	// A fixed partition of the rows (not one per thread) keeps the float
	// summation order, and so the result, independent of --threads.
	const nw = 8
	part := make([][]float64, nw)
	par.ForGrain(nw, 1, func(lo, hi int) {
		for wk := lo; wk < hi; wk++ {
			acc := make([]float64, T)
			x := make([]float32, m)
			y := make([]float32, T)
			for pp := wk; pp < (m+1)/2; pp += nw {
				for _, i := range [2]int{pp, m - 1 - pp} {
					o, n := packOff(i, m), m-i
					r := e.kbuf[i*m+i : i*m+m]
					x[0] = float32(r[0])
					for j := 1; j < n; j++ {
						x[j] = float32(2 * r[j])
					}
					blas32.Gemv(blas.Trans, 1, blas32.General{Rows: n, Cols: T, Stride: T, Data: e.mall[o*T : (o+n)*T]},
						blas32.Vector{N: n, Inc: 1, Data: x[:n]}, 0, blas32.Vector{N: T, Inc: 1, Data: y})
					for t, v := range y {
						acc[t] += float64(v)
					}
					if m-1-pp == pp {
						break
					}
				}
			}
			part[wk] = acc
		}
	})
	tr := make([]float64, T)
	for _, acc := range part {
		for t, v := range acc {
			tr[t] += v
		}
	}
	return tr
}

// axpyMixed sets r += a·x in float64, unrolled by four (the compiler does
// not vectorise the conversion loop; unrolling lets the loads overlap).
func axpyMixed(r []float64, a float64, x []float32) {
	r = r[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		r0, r1, r2, r3 := r[i]+a*float64(x[i]), r[i+1]+a*float64(x[i+1]), r[i+2]+a*float64(x[i+2]), r[i+3]+a*float64(x[i+3])
		r[i], r[i+1], r[i+2], r[i+3] = r0, r1, r2, r3
	}
	for ; i < len(x); i++ {
		r[i] += a * float64(x[i])
	}
}

// dotMixed returns Σ a_i·b_i in float64 with four independent accumulators
// (a single one makes the loop wait on the add latency).
func dotMixed(a []float64, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * float64(b[i])
		s1 += a[i+1] * float64(b[i+1])
		s2 += a[i+2] * float64(b[i+2])
		s3 += a[i+3] * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += a[i] * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}
