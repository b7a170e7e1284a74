package linearised

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/nn"
)

// MinLogVariance is the floor applied to every log-variance hyperparameter
// (prior variances σ_b² and the noise variance σ_y²) after each optimiser
// step, as in bayes_dip (min_log_variance = −6.9, i.e. variances ≥ 1e-3).
const MinLogVariance = -6.9

// FilterJitter is added to the diagonal of every 3×3 filter covariance so
// that it stays positive definite for tiny length-scales.
const FilterJitter = 1e-6

// Default initial hyperparameters (DESIGN.md §5).
const (
	InitVariance    = 1.0
	InitLengthscale = 0.1
	InitNoise       = 1.0
)

// nDist is the number of distinct distances between the 9 positions of a
// 3×3 filter: 0, 1, √2, 2, √5, √8.
const nDist = 6

var distValue = [nDist]float64{0, 1, math.Sqrt2, 2, math.Sqrt(5), math.Sqrt(8)}

// distIndex[i][j] indexes distValue for filter positions i, j (row-major
// 3×3). A variable initialiser, not init(), so that other package-level
// variables built from it (distPairs) see it filled.
var distIndex = func() (di [9][9]int) {
	sq := map[int]int{0: 0, 1: 1, 2: 2, 4: 3, 5: 4, 8: 5}
	for i := 0; i < 9; i++ {
		for j := 0; j < 9; j++ {
			dy, dx := i/3-j/3, i%3-j%3
			di[i][j] = sq[dy*dy+dx*dx]
		}
	}
	return di
}()

// kernelCoef returns k_d(ℓ) = exp(−d/ℓ) for every distinct distance and its
// derivative with respect to log ℓ, ∂k_d/∂log ℓ = exp(−d/ℓ)·d/ℓ. The jitter
// is not included (it is added to d = 0 by the callers that need it).
func kernelCoef(ell float64) (k, dk [nDist]float64) {
	for d, dv := range distValue {
		e := math.Exp(-dv / ell)
		k[d] = e
		dk[d] = e * dv / ell
	}
	return k, dk
}

// Hyper holds the log-hyperparameters of the linearised model: one log σ_b²
// per prior block, one log ℓ_b per block (used only by Kernel-3 blocks; kept
// at 0 for Kernel-1 blocks) and log σ_y² of the observation noise.
type Hyper struct {
	LogVar   []float64
	LogLen   []float64
	LogNoise float64
}

// Clone returns a deep copy.
func (h Hyper) Clone() Hyper {
	return Hyper{
		LogVar:   append([]float64(nil), h.LogVar...),
		LogLen:   append([]float64(nil), h.LogLen...),
		LogNoise: h.LogNoise,
	}
}

// NoiseVar returns σ_y².
func (h Hyper) NoiseVar() float64 { return math.Exp(h.LogNoise) }

// Prior is the block-diagonal Gaussian prior N(0, Σ_θ) over the linearised
// conv weights (DESIGN.md §5): for a Kernel-3 block every 3×3 filter
// w ~ N(0, σ_b² K(ℓ_b)) with K_ij = exp(−‖c_i − c_j‖/ℓ_b) + 1e-6·δ_ij, for a
// Kernel-1 block w ~ N(0, σ_b² I). It also carries the noise variance σ_y².
//
// H may be changed freely (the optimisers do); the 9×9 factorisations are
// recomputed lazily when it changes, so a Prior is not safe for concurrent
// use (even read-only calls may refresh that cache).
type Prior struct {
	Blocks []nn.PriorBlock
	H      Hyper

	n     int
	cache []filterCache
}

type filterCache struct {
	ell  float64 // ℓ the factors belong to (0: not computed)
	kmat [81]float64
	chol [81]float64 // lower Cholesky factor L, K = L Lᵀ
	inv  [81]float64 // K⁻¹
	ld   float64     // log|K|
}

// NewPrior returns the prior over n weights with the default initial
// hyperparameters. The blocks must not overlap and must cover [0, n) (every
// weight of J's input needs a prior); Kernel-3 blocks have Len a multiple
// of 9.
func NewPrior(blocks []nn.PriorBlock, n int) (*Prior, error) {
	if len(blocks) == 0 {
		return nil, errors.New("linearised: no prior blocks")
	}
	cover := make([]int8, n)
	for _, b := range blocks {
		switch {
		case b.Kernel != 1 && b.Kernel != 3:
			return nil, fmt.Errorf("linearised: block %q has kernel %d, want 1 or 3", b.Name, b.Kernel)
		case b.Len <= 0 || b.Offset < 0 || b.Offset+b.Len > n:
			return nil, fmt.Errorf("linearised: block %q range [%d, %d) outside [0, %d)", b.Name, b.Offset, b.Offset+b.Len, n)
		case b.Kernel == 3 && b.Len%9 != 0:
			return nil, fmt.Errorf("linearised: 3×3 block %q has length %d, not a multiple of 9", b.Name, b.Len)
		}
		for i := b.Offset; i < b.Offset+b.Len; i++ {
			if cover[i] != 0 {
				return nil, fmt.Errorf("linearised: block %q overlaps another block at weight %d", b.Name, i)
			}
			cover[i] = 1
		}
	}
	for i, c := range cover {
		if c == 0 {
			return nil, fmt.Errorf("linearised: weight %d is in no prior block", i)
		}
	}
	p := &Prior{
		Blocks: append([]nn.PriorBlock(nil), blocks...),
		n:      n,
		cache:  make([]filterCache, len(blocks)),
	}
	p.H = Hyper{
		LogVar:   make([]float64, len(blocks)),
		LogLen:   make([]float64, len(blocks)),
		LogNoise: math.Log(InitNoise),
	}
	for i, b := range blocks {
		p.H.LogVar[i] = math.Log(InitVariance)
		if b.Kernel == 3 {
			p.H.LogLen[i] = math.Log(InitLengthscale)
		}
	}
	return p, nil
}

// Dim returns the number of weights n.
func (p *Prior) Dim() int { return p.n }

// filter returns the 9×9 factors of block b at the current ℓ_b.
func (p *Prior) filter(b int) *filterCache {
	c := &p.cache[b]
	ell := math.Exp(p.H.LogLen[b])
	if c.ell == ell {
		return c
	}
	c.ell = ell
	k, _ := kernelCoef(ell)
	for i := 0; i < 9; i++ {
		for j := 0; j < 9; j++ {
			c.kmat[i*9+j] = k[distIndex[i][j]]
		}
		c.kmat[i*9+i] += FilterJitter
	}
	// Cholesky of a 9×9 SPD matrix (it is: a Matérn-½ Gram matrix plus jitter).
	c.chol = [81]float64{}
	c.ld = 0
	for j := 0; j < 9; j++ {
		s := c.kmat[j*9+j]
		for k := 0; k < j; k++ {
			s -= c.chol[j*9+k] * c.chol[j*9+k]
		}
		d := math.Sqrt(s)
		c.chol[j*9+j] = d
		c.ld += 2 * math.Log(d)
		for i := j + 1; i < 9; i++ {
			s := c.kmat[i*9+j]
			for k := 0; k < j; k++ {
				s -= c.chol[i*9+k] * c.chol[j*9+k]
			}
			c.chol[i*9+j] = s / d
		}
	}
	// K⁻¹ column by column from the factor.
	for col := 0; col < 9; col++ {
		var e [9]float64
		e[col] = 1
		x := cholSolve9(&c.chol, e)
		for i := 0; i < 9; i++ {
			c.inv[i*9+col] = x[i]
		}
	}
	return c
}

func cholSolve9(l *[81]float64, b [9]float64) [9]float64 {
	var z [9]float64
	for i := 0; i < 9; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= l[i*9+k] * z[k]
		}
		z[i] = s / l[i*9+i]
	}
	for i := 8; i >= 0; i-- {
		s := z[i]
		for k := i + 1; k < 9; k++ {
			s -= l[k*9+i] * z[k]
		}
		z[i] = s / l[i*9+i]
	}
	return z
}

// FilterCov returns the 9×9 filter correlation K(ℓ_b) (without σ_b²) of
// Kernel-3 block b, row-major.
func (p *Prior) FilterCov(b int) [81]float64 { return p.filter(b).kmat }

// op applies a per-block 9×9 (or scalar) map to k batched weight vectors.
// mode: 0 Σ, 1 Σ^{½}=σL, 2 (Σ^{½})ᵀ=σLᵀ, 3 Σ⁻¹.
func (p *Prior) op(dst, x []float32, k, mode int) {
	n := p.n
	if len(dst) != k*n || len(x) != k*n {
		panic(fmt.Errorf("linearised: prior operator: got lengths %d, %d for %d vectors of %d", len(dst), len(x), k, n))
	}
	for bi, b := range p.Blocks {
		v := math.Exp(p.H.LogVar[bi])
		var m *[81]float64
		var s float64 // scale: σ², σ or 1/σ²; the correlation part is m
		switch mode {
		case 0:
			s = v
		case 1, 2:
			s = math.Sqrt(v)
		case 3:
			s = 1 / v
		}
		if b.Kernel == 1 {
			for r := 0; r < k; r++ {
				o := r*n + b.Offset
				for i := o; i < o+b.Len; i++ {
					dst[i] = float32(s * float64(x[i]))
				}
			}
			continue
		}
		fc := p.filter(bi)
		switch mode {
		case 0:
			m = &fc.kmat
		case 1, 2:
			m = &fc.chol
		case 3:
			m = &fc.inv
		}
		// The scale and, for mode 2, the transpose are folded into one
		// row-major matrix, so the filter loop below has no branches.
		var ms [81]float64
		for i := 0; i < 9; i++ {
			for j := 0; j < 9; j++ {
				if mode == 2 {
					ms[i*9+j] = s * m[j*9+i]
				} else {
					ms[i*9+j] = s * m[i*9+j]
				}
			}
		}
		nf := b.Len / 9
		par.ForGrain(k*nf, 1024, func(lo, hi int) {
			for t := lo; t < hi; {
				r, f := t/nf, t%nf
				end := min(hi, (r+1)*nf)
				o := r*n + b.Offset
				apply9(dst[o+9*f:o+9*(end-r*nf)], x[o+9*f:o+9*(end-r*nf)], &ms)
				t = end
			}
		})
	}
}

// apply9 sets each 9-vector of dst (back to back) to m times the same
// 9-vector of x, accumulating in float64. Written out in full: this is a
// quarter of a matrix-free linearisation's time at 64² when it loops.
func apply9(dst, x []float32, m *[81]float64) {
	for o := 0; o+9 <= len(x) && o+9 <= len(dst); o += 9 {
		in, out := x[o:o+9:o+9], dst[o:o+9:o+9]
		x0, x1, x2 := float64(in[0]), float64(in[1]), float64(in[2])
		x3, x4, x5 := float64(in[3]), float64(in[4]), float64(in[5])
		x6, x7, x8 := float64(in[6]), float64(in[7]), float64(in[8])
		out[0] = float32(m[0]*x0 + m[1]*x1 + m[2]*x2 + m[3]*x3 + m[4]*x4 + m[5]*x5 + m[6]*x6 + m[7]*x7 + m[8]*x8)
		out[1] = float32(m[9]*x0 + m[10]*x1 + m[11]*x2 + m[12]*x3 + m[13]*x4 + m[14]*x5 + m[15]*x6 + m[16]*x7 + m[17]*x8)
		out[2] = float32(m[18]*x0 + m[19]*x1 + m[20]*x2 + m[21]*x3 + m[22]*x4 + m[23]*x5 + m[24]*x6 + m[25]*x7 + m[26]*x8)
		out[3] = float32(m[27]*x0 + m[28]*x1 + m[29]*x2 + m[30]*x3 + m[31]*x4 + m[32]*x5 + m[33]*x6 + m[34]*x7 + m[35]*x8)
		out[4] = float32(m[36]*x0 + m[37]*x1 + m[38]*x2 + m[39]*x3 + m[40]*x4 + m[41]*x5 + m[42]*x6 + m[43]*x7 + m[44]*x8)
		out[5] = float32(m[45]*x0 + m[46]*x1 + m[47]*x2 + m[48]*x3 + m[49]*x4 + m[50]*x5 + m[51]*x6 + m[52]*x7 + m[53]*x8)
		out[6] = float32(m[54]*x0 + m[55]*x1 + m[56]*x2 + m[57]*x3 + m[58]*x4 + m[59]*x5 + m[60]*x6 + m[61]*x7 + m[62]*x8)
		out[7] = float32(m[63]*x0 + m[64]*x1 + m[65]*x2 + m[66]*x3 + m[67]*x4 + m[68]*x5 + m[69]*x6 + m[70]*x7 + m[71]*x8)
		out[8] = float32(m[72]*x0 + m[73]*x1 + m[74]*x2 + m[75]*x3 + m[76]*x4 + m[77]*x5 + m[78]*x6 + m[79]*x7 + m[80]*x8)
	}
}

// Cov sets dst = Σ_θ x for k weight vectors stored back to back.
func (p *Prior) Cov(dst, x []float32, k int) { p.op(dst, x, k, 0) }

// Sqrt sets dst = Σ_θ^{½} x with Σ_θ^{½} = blockdiag(σ_b L_b), L_b the lower
// Cholesky factor of the filter covariance, so Σ^{½}(Σ^{½})ᵀ = Σ_θ.
func (p *Prior) Sqrt(dst, x []float32, k int) { p.op(dst, x, k, 1) }

// SqrtT sets dst = (Σ_θ^{½})ᵀ x.
func (p *Prior) SqrtT(dst, x []float32, k int) { p.op(dst, x, k, 2) }

// Inv sets dst = Σ_θ⁻¹ x.
func (p *Prior) Inv(dst, x []float32, k int) { p.op(dst, x, k, 3) }

// Sample fills dst with k independent draws from N(0, Σ_θ).
func (p *Prior) Sample(dst []float32, k int, rng *rand.Rand) {
	eps := make([]float32, len(dst))
	for i := range eps {
		eps[i] = float32(rng.NormFloat64())
	}
	p.Sqrt(dst, eps, k)
}

// LogDet returns log|Σ_θ|.
func (p *Prior) LogDet() float64 {
	var ld float64
	for bi, b := range p.Blocks {
		lv := p.H.LogVar[bi]
		ld += float64(b.Len) * lv
		if b.Kernel == 3 {
			ld += float64(b.Len/9) * p.filter(bi).ld
		}
	}
	return ld
}

// Dense returns Σ_θ as a dense row-major n×n float64 matrix (tests and
// small problems only).
func (p *Prior) Dense() []float64 {
	n := p.n
	d := make([]float64, n*n)
	for bi, b := range p.Blocks {
		v := math.Exp(p.H.LogVar[bi])
		if b.Kernel == 1 {
			for i := b.Offset; i < b.Offset+b.Len; i++ {
				d[i*n+i] = v
			}
			continue
		}
		km := p.filter(bi).kmat
		for f := 0; f < b.Len/9; f++ {
			o := b.Offset + 9*f
			for i := 0; i < 9; i++ {
				for j := 0; j < 9; j++ {
					d[(o+i)*n+o+j] = v * km[i*9+j]
				}
			}
		}
	}
	return d
}

// weightStats are the sufficient statistics of θ̄ for the prior term
// θ̄ᵀΣ_θ⁻¹θ̄: per Kernel-3 block the 9×9 scatter S_b = Σ_f w_f w_fᵀ, per
// Kernel-1 block ‖θ̄_b‖².
type weightStats struct {
	scatter [][81]float64
	sq      []float64
}

func newWeightStats(p *Prior, theta []float32) weightStats {
	if len(theta) != p.n {
		panic(fmt.Errorf("linearised: θ̄ has length %d, want %d", len(theta), p.n))
	}
	ws := weightStats{scatter: make([][81]float64, len(p.Blocks)), sq: make([]float64, len(p.Blocks))}
	for bi, b := range p.Blocks {
		w := theta[b.Offset : b.Offset+b.Len]
		if b.Kernel == 1 {
			var s float64
			for _, v := range w {
				s += float64(v) * float64(v)
			}
			ws.sq[bi] = s
			continue
		}
		S := &ws.scatter[bi]
		for f := 0; f < b.Len/9; f++ {
			x := w[9*f : 9*f+9]
			for i := 0; i < 9; i++ {
				for j := 0; j < 9; j++ {
					S[i*9+j] += float64(x[i]) * float64(x[j])
				}
			}
		}
	}
	return ws
}

// quad returns θ̄ᵀΣ_θ⁻¹θ̄ and adds ½ of its gradient with respect to the
// log-hyperparameters to grad (when non-nil).
func (p *Prior) quad(ws weightStats, grad *Hyper) float64 {
	var q float64
	for bi, b := range p.Blocks {
		v := math.Exp(p.H.LogVar[bi])
		if b.Kernel == 1 {
			qb := ws.sq[bi] / v
			q += qb
			if grad != nil {
				grad.LogVar[bi] -= 0.5 * qb
			}
			continue
		}
		fc := p.filter(bi)
		S := &ws.scatter[bi]
		// tr(K⁻¹S)/σ² and, for the ℓ-gradient, −tr(K⁻¹ K' K⁻¹ S)/σ².
		var t float64
		for i := 0; i < 81; i++ {
			t += fc.inv[i] * S[i]
		}
		qb := t / v
		q += qb
		if grad != nil {
			grad.LogVar[bi] -= 0.5 * qb
			_, dk := kernelCoef(fc.ell)
			var kp, a, bm [81]float64
			for i := 0; i < 9; i++ {
				for j := 0; j < 9; j++ {
					kp[i*9+j] = dk[distIndex[i][j]]
				}
			}
			mul9(&a, &fc.inv, &kp)
			mul9(&bm, &a, &fc.inv)
			var tt float64
			for i := 0; i < 81; i++ {
				tt += bm[i] * S[i]
			}
			grad.LogLen[bi] -= 0.5 * tt / v
		}
	}
	return q
}

func mul9(dst, a, b *[81]float64) {
	for i := 0; i < 9; i++ {
		for j := 0; j < 9; j++ {
			var s float64
			for k := 0; k < 9; k++ {
				s += a[i*9+k] * b[k*9+j]
			}
			dst[i*9+j] = s
		}
	}
}

// clamp applies MinLogVariance to all log-variances.
func (h *Hyper) clamp() {
	for i, v := range h.LogVar {
		if v < MinLogVariance {
			h.LogVar[i] = MinLogVariance
		}
	}
	if h.LogNoise < MinLogVariance {
		h.LogNoise = MinLogVariance
	}
}

// wchunk is a range [lo, hi) of weights inside block b, whole filters only.
type wchunk struct{ b, lo, hi int }

// weightChunks splits the weights into ranges of at most maxw weights that
// lie in one block and hold whole 3×3 filters, so that Σ^{½} can be applied
// chunk by chunk.
func (p *Prior) weightChunks(maxw int) []wchunk {
	var out []wchunk
	for bi, b := range p.Blocks {
		step := maxw
		if b.Kernel == 3 {
			step = max(9, maxw/9*9)
		}
		for lo := b.Offset; lo < b.Offset+b.Len; lo += step {
			out = append(out, wchunk{bi, lo, min(lo+step, b.Offset+b.Len)})
		}
	}
	return out
}

// chunkSqrt returns what sqrtT64 needs for chunk c: σ_b and, for a 3×3
// block, the filter's Cholesky factor (nil for 1×1). Call it before a
// parallel loop: it may refresh the prior's cache.
func (p *Prior) chunkSqrt(c wchunk) (float64, *[81]float64) {
	s := math.Sqrt(math.Exp(p.H.LogVar[c.b]))
	if p.Blocks[c.b].Kernel == 1 {
		return s, nil
	}
	return s, &p.filter(c.b).chol
}

// sqrtT64 sets dst = ((Σ^{½})ᵀ x) restricted to a chunk, in float64, for
// x = src (the chunk's values), with s, l from chunkSqrt. Safe for
// concurrent use.
func sqrtT64(dst []float64, src []float32, s float64, l *[81]float64) {
	if l == nil {
		for i, v := range src {
			dst[i] = s * float64(v)
		}
		return
	}
	for f := 0; f < len(src); f += 9 {
		for i := 0; i < 9; i++ {
			var acc float64
			for j := i; j < 9; j++ { // (Lᵀ)_ij = L_ji, nonzero for j ≥ i
				acc += l[j*9+i] * float64(src[f+j])
			}
			dst[f+i] = s * acc
		}
	}
}
