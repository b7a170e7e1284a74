package linearised

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/internal/blas"
	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/linop"
)

// The subspace model is the matrix-free regime's default: the linearised
// model conditioned on the projected data Qᵀy instead of y, for an
// orthonormal Q (m_y × r) that spans the directions of measurement space
// in which the prior signal A J θ is visible above the noise. With
// G = Jᵀ Aᵀ Q (n × r, r VJPs) and, per prior block, the Gram matrix
// M_b = G_bᵀ S_b G_b (S_b the block's unit-scale prior covariance),
//
//	K_sub = Qᵀ K_yy Q = Σ_b σ_b² M_b + σ_y² I_r
//
// is exact for every value of the scales, so the fixed points of
// EMSettings (γ_b = σ_b² tr(K_sub⁻¹ M_b), no Monte Carlo) and Matheron's
// posterior samples (two JVPs each, no CG) cost no further network
// products once G is stored. Conditioning on fewer data can only widen the
// posterior, so the variances are conservative, and they equal the full
// model's when Q spans the measurement space (r = m_y).
//
// Q grows at the current hyperparameters by randomized block Krylov
// (probes A J Σ G_lastᵀ = K0 Q_last, random A J Σ^{½} ω to fill a round;
// one JVP each) and one VJP per kept direction for G.
// After each round, Hutchinson probes estimate the prior signal left
// outside span(Q), t_b = tr((I−QQᵀ) K0_b (I−QQᵀ))/σ_b² (one VJP per probe
// for all blocks), and from it the effective dimension the subspace misses;
// growth stops once that is at most TailTol·γ, or at the rank and memory
// caps. This replaces the k+1 CG solves per EM iteration (each tens of
// K_yy products) of the sample-based EM, which at 128² took minutes per
// iteration once γ passed the preconditioner's rank.

// SubspaceSettings configures the subspace model. The zero value gives
// the defaults.
type SubspaceSettings struct {
	// Chunk is the smallest number of probes per growth round (default
	// 256); a round draws max(Chunk, r/2) so that r grows geometrically.
	Chunk int
	// MaxRank caps r (default m_y).
	MaxRank int
	// MaxBytes caps the memory of G, Q and the Gram matrices (default 8
	// GiB); r stops growing there and Result reports the missed tail.
	MaxBytes int64
	// TailTol: growth stops once the effective dimension outside span(Q)
	// is at most TailTol·γ (default 0.05).
	TailTol float64
	// RandomProbes draws every round's probes afresh (plain randomized
	// range finding). By default a round's probes are K0 applied to the
	// previous round's directions (block Krylov; random probes fill the
	// rest): the same cost per probe and a subspace closer to K0's top
	// eigenvectors (64² CT slice: rank 1664 instead of 1829 for the same
	// tail tolerance, 153 s instead of 178 s).
	RandomProbes bool
}

func (s SubspaceSettings) chunk() int {
	if s.Chunk <= 0 {
		return 256
	}
	return s.Chunk
}

func (s SubspaceSettings) maxBytes() int64 {
	if s.MaxBytes <= 0 {
		return 8 << 30
	}
	return s.MaxBytes
}

func (s SubspaceSettings) tailTol() float64 {
	if s.TailTol <= 0 {
		return 0.05
	}
	return s.TailTol
}

// SubspaceBytes is the memory the subspace model of rank r needs when it
// grows by at most chunk probes a round: G and the probes (float32), Q
// (float64), one Gram matrix per block (float32), two r×r float64 work
// matrices, and a round's probes, G rows and S G rows (3 × chunk × n
// float32).
func SubspaceBytes(my, n, blocks, r, chunk int) int64 {
	r64 := int64(r)
	return 4*r64*int64(n) + 8*r64*int64(my) + 4*int64(blocks)*r64*r64 + 16*r64*r64 + 12*int64(chunk)*int64(n)
}

// SubspaceInfo reports the subspace model's size and how much it may miss.
type SubspaceInfo struct {
	Rank int
	// TailDim estimates the effective dimensions outside span(Q) (what
	// conditioning on Qᵀy instead of y gives up), from the last round's
	// tail traces as if the complement were isotropic (see tau).
	TailDim float64
	// Gamma is the total effective dimension inside the subspace.
	Gamma float64
	// Capped is set when r stopped at MaxRank or MaxBytes before the tail
	// met TailTol (the variances are then more conservative).
	Capped bool
}

// maxChunk bounds a growth round: its probes, G rows and S G rows are
// held at once (3 × chunk × n float32). Under a tight memory cap rounds
// shrink, down to minChunk, before the rank is capped.
const (
	maxChunk = 512
	minChunk = 32
)

// minSubspaceRank is the smallest rank cap the subspace model accepts
// (or m_y, when smaller): below it the model would condition on a handful
// of directions of the data, so a cap that low is refused, not used.
const minSubspaceRank = 64

type subspace struct {
	m, n, r int
	q       []float64   // r × m_y, row j = q_j (orthonormal rows)
	g       [][]float32 // chunks of rows of Gᵀ: row j = Jᵀ Aᵀ q_j (length n)
	gram    [][]float32 // per block, r × r row-major: M_b
	kbuf    []float64   // r × r work matrix
	// tailUnit[b] = tr((I−QQᵀ) K0_b (I−QQᵀ))/σ_b² (tailTraces), nil
	// before the first estimate.
	tailUnit []float64
	info     SubspaceInfo
}

// project removes from the c rows of y (c × m_y) their components in
// span(Q): y −= (y Qᵀ) Q, by two GEMMs.
func (s *subspace) project(y []float64, c int) {
	if s.r == 0 {
		return
	}
	coef := make([]float64, c*s.r)
	dgemmRows(false, true, c, s.r, s.m, 1, y, s.m, s.q, s.m, 0, coef, s.r)
	dgemmRows(false, false, c, s.m, s.r, -1, coef, s.r, s.q, s.m, 1, y, s.m)
}

// grow draws c probes at the prior's current hyperparameters — K0 applied
// to the previous round's directions (block Krylov) and random A J Σ^{½} ω
// for the rest — orthonormalises them against Q and adds them, with their
// rows of G and of the Gram matrices.
func (mf *MatrixFree) grow(ctx context.Context, s *subspace, c int, rng *rand.Rand) error {
	m, n, npix := mf.my, mf.n, mf.npix
	w := make([]float32, c*n)
	kry := 0
	if !mf.set.Subspace.RandomProbes && len(s.g) > 0 {
		// Block Krylov: the previous round's directions pushed through K0
		// once more (A J Σ Jᵀ Aᵀ q = A J Σ g_q, G's rows already at hand);
		// random probes make up the rest of the chunk.
		last := s.g[len(s.g)-1]
		kry = min(c, len(last)/n)
		mf.Prior.Cov(w[:kry*n], last[:kry*n], kry)
	}
	mf.Prior.Sample(w[kry*n:], c-kry, rng)
	img := make([]float32, c*npix)
	mf.chunked(c, n, npix, img, w, func(d, x []float32, cc int) { linop.ApplyBatch(mf.Prob.J, d, x, cc) })
	w = nil
	y32 := make([]float32, c*m)
	mf.chunked(c, npix, m, y32, img, func(d, x []float32, cc int) { linop.ApplyBatch(mf.Prob.A, d, x, cc) })
	if err := ctxErr(ctx); err != nil {
		return err
	}
	y := make([]float64, c*m)
	for i, v := range y32 {
		y[i] = float64(v)
	}
	y32 = nil
	s.project(y, c)
	// Block Gram–Schmidt, twice: project, orthonormalise within the chunk
	// (dropping numerically dependent probes), and again.
	c = orthonormalise(y, m, c)
	s.project(y[:c*m], c)
	c = orthonormalise(y, m, c)
	if c == 0 {
		return nil
	}
	y = y[:c*m]
	q32 := make([]float32, c*m)
	for i, v := range y {
		q32[i] = float32(v)
	}
	img = make([]float32, c*npix)
	mf.chunked(c, m, npix, img, q32, func(d, x []float32, cc int) { linop.AdjointBatch(mf.Prob.A, d, x, cc) })
	g := make([]float32, c*n)
	mf.chunked(c, npix, n, g, img, func(d, x []float32, cc int) { linop.AdjointBatch(mf.Prob.J, d, x, cc) })
	img = nil
	if err := ctxErr(ctx); err != nil {
		return err
	}
	// h = S g (unit-scale block covariances): Σ g with each block divided
	// by its σ_b².
	h := make([]float32, c*n)
	mf.Prior.Cov(h, g, c)
	for bi, b := range mf.Prior.Blocks {
		inv := float32(math.Exp(-mf.Prior.H.LogVar[bi]))
		for j := 0; j < c; j++ {
			row := h[j*n+b.Offset : j*n+b.Offset+b.Len]
			for i := range row {
				row[i] *= inv
			}
		}
	}
	s.q = append(s.q, y...)
	s.g = append(s.g, g)
	r0, r1 := s.r, s.r+c
	for bi := range s.gram {
		old := s.gram[bi]
		nm := make([]float32, r1*r1)
		for i := 0; i < r0; i++ {
			copy(nm[i*r1:i*r1+r0], old[i*r0:(i+1)*r0])
		}
		s.gram[bi] = nm
	}
	// New rows of every M_b: M_b[r0+i][j] = h_i,b · g_j,b, one GEMM per
	// (block, chunk of G, tile of new rows), spread over the workers.
	type task struct{ b, chunk, row0, rows, col0 int }
	var tasks []task
	const tile = 64
	for bi := range mf.Prior.Blocks {
		col0 := 0
		for ci, gc := range s.g {
			for t := 0; t < c; t += tile {
				tasks = append(tasks, task{bi, ci, t, min(tile, c-t), col0})
			}
			col0 += len(gc) / n
		}
	}
	par.ForGrain(len(tasks), 1, func(lo, hi int) {
		for _, tk := range tasks[lo:hi] {
			b := mf.Prior.Blocks[tk.b]
			gc := s.g[tk.chunk]
			cols := len(gc) / n
			dst := s.gram[tk.b][(r0+tk.row0)*r1+tk.col0:]
			blas.Sgemm(false, true, tk.rows, cols, b.Len, 1, h[tk.row0*n+b.Offset:], n, gc[b.Offset:], n, 0, dst, r1)
		}
	})
	// Mirror the new rows into the new columns; the new diagonal square is
	// averaged with its transpose (the two GEMM orders round differently).
	for bi := range s.gram {
		mb := s.gram[bi]
		for i := r0; i < r1; i++ {
			for j := 0; j < r0; j++ {
				mb[j*r1+i] = mb[i*r1+j]
			}
			for j := r0; j < i; j++ {
				v := 0.5 * (mb[i*r1+j] + mb[j*r1+i])
				mb[i*r1+j], mb[j*r1+i] = v, v
			}
		}
	}
	s.r = r1
	s.kbuf = nil
	return nil
}

// tailTraces estimates, per block, t_b = tr(P K0_b P)/σ_b² with
// P = I − QQᵀ (the unit-scale prior signal outside span(Q)) by Hutchinson
// probes z: E‖S_b^{½} J_bᵀ Aᵀ P z‖² = t_b, one VJP per probe for all
// blocks. The t_b do not depend on the hyperparameters, so one estimate
// serves every EM iteration of a round.
func (mf *MatrixFree) tailTraces(ctx context.Context, s *subspace, k int, rng *rand.Rand) error {
	m, n, npix := mf.my, mf.n, mf.npix
	s.tailUnit = make([]float64, len(mf.Prior.Blocks))
	if s.r >= m {
		return nil
	}
	z := make([]float64, k*m)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	s.project(z, k)
	z32 := make([]float32, k*m)
	for i, v := range z {
		z32[i] = float32(v)
	}
	img := make([]float32, k*npix)
	mf.chunked(k, m, npix, img, z32, func(d, x []float32, cc int) { linop.AdjointBatch(mf.Prob.A, d, x, cc) })
	g := make([]float32, k*n)
	mf.chunked(k, npix, n, g, img, func(d, x []float32, cc int) { linop.AdjointBatch(mf.Prob.J, d, x, cc) })
	if err := ctxErr(ctx); err != nil {
		return err
	}
	h := make([]float32, k*n)
	mf.Prior.Cov(h, g, k)
	for bi, b := range mf.Prior.Blocks {
		var t float64
		for j := 0; j < k; j++ {
			o := j*n + b.Offset
			t += linop.Dot(g[o:o+b.Len], h[o:o+b.Len])
		}
		s.tailUnit[bi] = t / float64(k) / math.Exp(mf.Prior.H.LogVar[bi])
	}
	return nil
}

// tau returns the mean eigenvalue of K0 outside span(Q) at the prior's
// current scales, τ = Σ_b σ_b² t_b / (m_y − r). The growth rule estimates
// the effective dimension the subspace misses as that of an isotropic
// complement, Σ_b σ_b² t_b/(τ + σ_y²) (by concavity an overestimate when
// the complement's eigenvalues spread).
func (s *subspace) tau(pr *Prior) float64 {
	if s.r >= s.m || s.tailUnit == nil {
		return 0
	}
	var t float64
	for b, v := range s.tailUnit {
		t += math.Exp(pr.H.LogVar[b]) * v
	}
	return t / float64(s.m-s.r)
}

// factor writes the upper Cholesky factor of K_sub at the prior's current
// hyperparameters into s.kbuf, with jitter if needed.
func (s *subspace) factor(pr *Prior) error {
	r := s.r
	if len(s.kbuf) != r*r {
		s.kbuf = make([]float64, r*r)
	}
	scale := make([]float64, len(s.gram))
	for b := range scale {
		scale[b] = math.Exp(pr.H.LogVar[b])
	}
	noise := pr.H.NoiseVar()
	for jitter := 0.0; ; {
		par.For(r, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				row := s.kbuf[i*r+i : i*r+r]
				clear(row)
				for b, mb := range s.gram {
					axpyMixed(row, scale[b], mb[i*r+i:i*r+r])
				}
				row[0] += noise + jitter
			}
		})
		if cholUpper(s.kbuf, r) {
			return nil
		}
		if jitter == 0 {
			jitter = 1e-10 * noise
		} else {
			jitter *= 10
		}
		if jitter > 1e-3*noise {
			return errors.New("linearised: the subspace K_yy is not positive definite (σ_y² too small for float32 Gram matrices)")
		}
	}
}

// gammas returns the subspace model's effective dimensions
// γ_b = σ_b² tr(K_sub⁻¹ M_b) at the prior's current hyperparameters.
func (s *subspace) gammas(pr *Prior) ([]float64, error) {
	if err := s.factor(pr); err != nil {
		return nil, err
	}
	r := s.r
	if !cholInvUpper(s.kbuf, r) {
		return nil, errors.New("linearised: inverting the subspace K_yy failed")
	}
	gam := make([]float64, len(s.gram))
	par.ForGrain(len(s.gram), 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			mb := s.gram[b]
			var diag, off float64
			for i := 0; i < r; i++ {
				row := s.kbuf[i*r+i : i*r+r]
				diag += row[0] * float64(mb[i*r+i])
				off += dotMixed(row[1:], mb[i*r+i+1:i*r+r])
			}
			gam[b] = math.Exp(pr.H.LogVar[b]) * (diag + 2*off)
		}
	})
	return gam, nil
}

// rankCap returns the largest rank and growth round that fit MaxBytes:
// the full rank (m_y, or MaxRank) with the largest round from maxChunk
// down to minChunk that fits, else minChunk rounds and the largest rank
// that fits. It refuses a cap below minSubspaceRank.
func (s *subspace) rankCap(mf *MatrixFree, set SubspaceSettings) (rmax, chunk int, err error) {
	want := mf.my
	if set.MaxRank > 0 {
		want = min(want, set.MaxRank)
	}
	fits := func(r, c int) bool {
		return SubspaceBytes(mf.my, mf.n, len(mf.Prior.Blocks), r, c) <= set.maxBytes()
	}
	for c := maxChunk; c >= minChunk; c /= 2 {
		if fits(want, c) {
			return want, c, nil
		}
	}
	rmax = want
	for rmax > 1 && !fits(rmax, minChunk) {
		rmax = rmax * 9 / 10
	}
	if need := min(want, minSubspaceRank); rmax < need {
		return 0, 0, fmt.Errorf("linearised: the subspace model needs %.2f GiB for rank %d (%.2f GiB for the full rank %d); it was allowed %.2f GiB: give it more memory (--memory)",
			gib(SubspaceBytes(mf.my, mf.n, len(mf.Prior.Blocks), need, minChunk)), need,
			gib(SubspaceBytes(mf.my, mf.n, len(mf.Prior.Blocks), want, minChunk)), want, gib(set.maxBytes()))
	}
	return rmax, minChunk, nil
}

func gib(b int64) float64 { return float64(b) / (1 << 30) }

// FitSubspace builds the subspace model and, when em is non-nil, fits the
// block scales σ_b² and σ_y² (ℓ_b fixed) to the fixed point of EMSettings
// within it — the Laplace MLL's with em.Laplace, else the linear model's
// evidence for Qᵀỹ (2210.04994) — refitting after every growth round.
// Each round adds max(Chunk, r/2) range-finder directions and re-estimates
// the complement's traces; growth stops once the complement's share of the
// effective dimension, γ_⊥ = Σ_b σ_b² t_b/(τ + σ_y²), is at most TailTol·γ,
// or at MaxRank/MaxBytes. Without em it only grows Q at the current
// hyperparameters. Progress receives (EM iteration, γ).
func (mf *MatrixFree) FitSubspace(ctx context.Context, em *EMSettings, rng *rand.Rand, progress Progress) (FitResult, error) {
	set := mf.set.Subspace
	s := &subspace{m: mf.my, n: mf.n, gram: make([][]float32, len(mf.Prior.Blocks))}
	mf.sub = s
	res := FitResult{Loss: math.NaN()}
	rmax, chunkCap, err := s.rankCap(mf, set)
	if err != nil {
		return res, err
	}
	for {
		c := min(max(set.chunk(), s.r/2), chunkCap, rmax-s.r)
		if c > 0 {
			if err := mf.grow(ctx, s, c, rng); err != nil {
				return res, err
			}
		}
		if err := mf.tailTraces(ctx, s, tailProbes, rng); err != nil {
			return res, err
		}
		if em != nil {
			e := *em
			var qy []float64
			var perp2 float64
			if !e.Laplace {
				qy, perp2 = s.projectData(mf.ytilde())
			}
			estep := func() (EMStats, error) {
				gam, err := s.gammas(mf.Prior)
				if err != nil {
					return EMStats{}, err
				}
				st := EMStats{Gamma: gam}
				if e.Laplace {
					laplaceStats(&st, mf.Prior, mf.Prob, mf.r2)
				} else {
					s.linearStats(&st, mf.Prior, qy, perp2)
				}
				return st, nil
			}
			r, err := emLoop(ctx, mf.Prior, mf.my, e, estep, progress)
			res.Steps += r.Steps
			if err != nil {
				return res, err
			}
		}
		gam, err := s.gammas(mf.Prior)
		if err != nil {
			return res, err
		}
		var gamma, perp float64
		d := s.tau(mf.Prior) + mf.Prior.H.NoiseVar()
		for b, g := range gam {
			gamma += g
			perp += math.Exp(mf.Prior.H.LogVar[b]) * s.tailUnit[b] / d
		}
		s.info = SubspaceInfo{Rank: s.r, Gamma: gamma, TailDim: perp}
		if perp <= set.tailTol()*gamma {
			break
		}
		if s.r >= rmax {
			s.info.Capped = true
			break
		}
	}
	s.g = nil // only growth needs G; the Gram matrices hold what remains
	return res, nil
}

// tailProbes is the number of Hutchinson probes of a tail-trace estimate:
// relative error about √(2/32) = 25% on the complement's share, which only
// matters as far as that share does.
const tailProbes = 32

// SubspaceInfo reports the subspace model built by FitSubspace.
func (mf *MatrixFree) SubspaceInfo() SubspaceInfo {
	if mf.sub == nil {
		return SubspaceInfo{}
	}
	return mf.sub.info
}

// SubspaceSamples fills dst with k zero-mean posterior samples (k × N²,
// without δ) of the subspace model at the current hyperparameters, by
// Matheron's rule for the data Qᵀy:
//
//	x = J ε₀ − J Σ Jᵀ Aᵀ Q K_sub⁻¹ (Qᵀ A J ε₀ + σ_y ε₁),  ε₀ ~ N(0, Σ), ε₁ ~ N(0, I_r).
//
// Conditioning on Qᵀy instead of y can only widen the posterior: the
// variances are never below the full model's and equal them at r = m_y.
// Each sample costs two JVPs and one VJP. FitSubspace must have run.
func (mf *MatrixFree) SubspaceSamples(ctx context.Context, dst []float32, k int, rng *rand.Rand) error {
	s := mf.sub
	if s == nil || s.r == 0 {
		return errors.New("linearised: SubspaceSamples needs FitSubspace first")
	}
	npix, n, m, r := mf.npix, mf.n, mf.my, s.r
	if len(dst) != k*npix {
		panic(fmt.Errorf("linearised: SubspaceSamples dst has length %d, want %d", len(dst), k*npix))
	}
	if err := s.factor(mf.Prior); err != nil {
		return err
	}
	sy := math.Sqrt(mf.Prior.H.NoiseVar())
	b := mf.set.batch()
	eps := make([]float32, b*n)
	ax := make([]float32, b*m)
	a64 := make([]float64, b*m)
	z := make([]float64, b*r)
	corr := make([]float32, b*npix)
	for r0 := 0; r0 < k; r0 += b {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		cn := min(b, k-r0)
		xs := dst[r0*npix : (r0+cn)*npix]
		mf.Prior.Sample(eps[:cn*n], cn, rng)
		linop.ApplyBatch(mf.Prob.J, xs, eps[:cn*n], cn)
		linop.ApplyBatch(mf.Prob.A, ax[:cn*m], xs, cn)
		a := a64[:cn*m]
		for i, v := range ax[:cn*m] {
			a[i] = float64(v)
		}
		// a ← Q K_sub⁻¹ (Qᵀa + σ_y ε₁), one row per sample.
		dgemmRows(false, true, cn, r, m, 1, a, m, s.q, m, 0, z, r)
		zc := z[:cn*r]
		for i := range zc {
			zc[i] += sy * rng.NormFloat64()
		}
		cholSolveRows(s.kbuf, r, zc, cn)
		dgemmRows(false, false, cn, m, r, 1, zc, r, s.q, m, 0, a, m)
		for i, v := range a {
			ax[i] = float32(v)
		}
		imageCovRows(mf, corr[:cn*npix], ax[:cn*m], cn)
		for i, v := range corr[:cn*npix] {
			xs[i] -= v
		}
	}
	return nil
}

// imageCovRows sets dst = J Σ Jᵀ Aᵀ v for k measurement vectors.
func imageCovRows(mf *MatrixFree, dst, v []float32, k int) {
	img := make([]float32, k*mf.npix)
	linop.AdjointBatch(mf.Prob.A, img, v, k)
	imageCov(mf.Prob.J, mf.Prior, mf.set.batch(), dst, img, k)
}

// projectData returns Qᵀỹ and ‖(I − QQᵀ)ỹ‖².
func (s *subspace) projectData(yt []float64) ([]float64, float64) {
	qy := make([]float64, s.r)
	var in, all float64
	for j := range qy {
		qy[j] = dot64(s.q[j*s.m:(j+1)*s.m], yt)
		in += qy[j] * qy[j]
	}
	for _, v := range yt {
		all += v * v
	}
	return qy, math.Max(all-in, 0)
}

// linearStats fills the linear model's EM statistics within the subspace,
// with K_sub⁻¹'s upper triangle in kbuf (gammas leaves it there): the
// posterior mean θ_lin = Σ G c, c = K_sub⁻¹ Qᵀỹ, has θ_lin,bᵀΣ_b⁻¹θ_lin,b =
// σ_b² cᵀ M_b c, and its residual is σ_y⁴‖c‖² inside span(Q) (K_sub c =
// Qᵀỹ) plus ‖(I − QQᵀ)ỹ‖² outside (where the subspace model predicts
// nothing).
func (s *subspace) linearStats(st *EMStats, pr *Prior, qy []float64, perp2 float64) {
	r := s.r
	c := make([]float64, r)
	for i := 0; i < r; i++ {
		row := s.kbuf[i*r : (i+1)*r]
		c[i] += row[i] * qy[i]
		for j := i + 1; j < r; j++ {
			c[i] += row[j] * qy[j]
			c[j] += row[j] * qy[i]
		}
	}
	st.PriorNorm = make([]float64, len(s.gram))
	par.ForGrain(len(s.gram), 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			mb := s.gram[b]
			var q float64
			for i := 0; i < r; i++ {
				var t float64
				for j, v := range mb[i*r : (i+1)*r] {
					t += float64(v) * c[j]
				}
				q += c[i] * t
			}
			st.PriorNorm[b] = math.Exp(pr.H.LogVar[b]) * q
		}
	})
	noise := pr.H.NoiseVar()
	st.Residual2 = noise*noise*dot64(c, c) + perp2
}
