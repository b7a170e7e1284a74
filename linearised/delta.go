package linearised

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/ctrecon/ctrecon/linop"
)

// SVDSettings configures the randomized estimate of A's largest singular
// values. The zero value gives the defaults.
type SVDSettings struct {
	Rank       int // singular values kept (default 100, bayes_dip's svds k)
	Oversample int // extra subspace dimensions (default 10)
	Iters      int // subspace (power) iterations (default 4)
}

// TopSingularValues returns the largest singular values of A in decreasing
// order (at most Rank; values below 1e-7 of the largest are dropped as
// zero), by randomized subspace iteration on AᵀA with batched operator
// calls. When Rank+Oversample ≥ min(m, n) the result is exact up to rounding.
func TopSingularValues(ctx context.Context, A linop.Operator, s SVDSettings, rng *rand.Rand) ([]float64, error) {
	m, n := A.Dims()
	rank := s.Rank
	if rank <= 0 {
		rank = 100
	}
	over := s.Oversample
	if over <= 0 {
		over = 10
	}
	iters := s.Iters
	if iters <= 0 {
		iters = 4
	}
	l := min(rank+over, m, n)
	x := make([]float64, l*n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	x32 := make([]float32, l*n)
	y32 := make([]float32, l*m)
	l = orthonormalise(x, n, l)
	for it := 0; it <= iters; it++ {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		for i := range x[:l*n] {
			x32[i] = float32(x[i])
		}
		linop.ApplyBatch(A, y32[:l*m], x32[:l*n], l)
		if it == iters {
			break
		}
		linop.AdjointBatch(A, x32[:l*n], y32[:l*m], l)
		for i := range x[:l*n] {
			x[i] = float64(x32[i])
		}
		l = orthonormalise(x, n, l)
		if l == 0 {
			return nil, nil
		}
	}
	// Rayleigh–Ritz: the eigenvalues of (AX)ᵀ(AX) are the squared singular
	// values of A restricted to the subspace.
	g := mat.NewSymDense(l, nil)
	for i := 0; i < l; i++ {
		for j := i; j < l; j++ {
			g.SetSym(i, j, linop.Dot(y32[i*m:(i+1)*m], y32[j*m:(j+1)*m]))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(g, false) {
		return nil, errors.New("linearised: eigen-decomposition in TopSingularValues failed")
	}
	ev := eig.Values(nil)
	sort.Sort(sort.Reverse(sort.Float64Slice(ev)))
	var sv []float64
	for _, v := range ev {
		if v <= 0 || len(sv) == rank || (len(sv) > 0 && math.Sqrt(v) < 1e-7*sv[0]) {
			break
		}
		sv = append(sv, math.Sqrt(v))
	}
	return sv, nil
}

// orthonormalise runs Gram–Schmidt twice over the k vectors (length n) in
// x, dropping vectors that vanish, and returns how many remain (packed to
// the front).
func orthonormalise(x []float64, n, k int) int {
	out := 0
	for j := 0; j < k; j++ {
		v := x[j*n : (j+1)*n]
		norm0 := math.Sqrt(dot64(v, v))
		for pass := 0; pass < 2; pass++ {
			for i := 0; i < out; i++ {
				q := x[i*n : (i+1)*n]
				c := dot64(q, v)
				for t := range v {
					v[t] -= c * q[t]
				}
			}
		}
		nv := math.Sqrt(dot64(v, v))
		if nv <= 1e-10*norm0 || nv == 0 {
			continue
		}
		dst := x[out*n : (out+1)*n]
		for t := range v {
			dst[t] = v[t] / nv
		}
		out++
	}
	return out
}

func dot64(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// ImageNoiseTerm returns δ = σ_y² · mean_i diag((AᵀA)⁺)_i, the variance of
// the image noise that the measurement noise alone leaves undetermined, as
// bayes_dip estimates it from a truncated SVD A ≈ U S Vᵀ:
// diag((AᵀA)⁺) ≈ diag(V S⁻² Vᵀ), whose mean over the N² pixels is
// Σ_k s_k⁻² / N². Only the Rank largest singular values enter, so δ is a
// floor, not the full pseudo-inverse (whose smallest singular values would
// dominate).
func ImageNoiseTerm(ctx context.Context, A linop.Operator, noiseVar float64, s SVDSettings, rng *rand.Rand) (float64, error) {
	sv, err := TopSingularValues(ctx, A, s, rng)
	if err != nil {
		return 0, err
	}
	_, n := A.Dims()
	var t float64
	for _, v := range sv {
		t += 1 / (v * v)
	}
	return noiseVar * t / float64(n), nil
}
