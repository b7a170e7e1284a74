package design

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/ctrecon/ctrecon/internal/blas"
	"github.com/ctrecon/ctrecon/radon"
)

// PixelPrior is the prior of a PixelGaussian baseline.
type PixelPrior int

const (
	// Isotropic is x ~ N(0, σ_x² I): independent pixels.
	Isotropic PixelPrior = iota
	// Exponential is x ~ N(0, σ_x² K), K(p, q) = exp(−(|Δx| + |Δy|)/ℓ):
	// the Matérn-½ kernel of each image axis, multiplied (separable, so
	// samples and products cost two N×N matrix products per image). Being
	// a function of the L1 distance it is not isotropic: pixels stay
	// correlated longest along rows and columns, so projections near 0°
	// and 90° are the most informative under it, and its choices cluster
	// there whatever the image (docs/studies/design.md).
	Exponential
	// RadialExponential is x ~ N(0, σ_x² K), K(p, q) = exp(−‖p − q‖/ℓ)
	// with the Euclidean distance: the Matérn-½ kernel in the plane,
	// rotation invariant up to the pixel grid, so unlike Exponential it
	// has no preferred axes. It is not separable; products and samples go
	// through FFTs of a periodic embedding (torusKernel).
	RadialExponential
)

func (p PixelPrior) String() string {
	switch p {
	case Exponential:
		return "matern"
	case RadialExponential:
		return "matern-radial"
	}
	return "iso"
}

// PixelGaussian is the linear-Gaussian baseline of DESIGN.md §6: a
// Gaussian pixel prior, y = A x + N(0, σ_y² I), hyperparameters fitted by
// marginal likelihood on the measured data. Its posterior covariance does
// not depend on the measured values, so a plan from it is fixed once the
// hyperparameters are.
type PixelGaussian struct {
	Prior    PixelPrior
	SigmaX2  float64 // σ_x²
	NoiseVar float64 // σ_y²
	Length   float64 // ℓ in pixels (Exponential)
	NegLogML float64 // −log p(y) at the fit, per measurement

	n   int
	A   *radon.Projector
	l1  []float64    // Cholesky factor of the 1D kernel (N×N), Exponential only
	tor *torusKernel // RadialExponential only
	u   *mat.Dense
	lam []float64 // eigenvalues of A K Aᵀ (K at unit scale)
	kat []float32 // [m][N²]: row i is K Aᵀ e_i
}

// DefaultLengths are the length-scales (pixels) FitPixelGaussian tries for
// the Exponential and RadialExponential priors, unless given.
var DefaultLengths = []float64{1, 2, 4, 8, 16}

// FitPixelGaussian fits σ_x², σ_y² (and ℓ from lengths for Exponential) by
// maximising the marginal likelihood of y under A. It assembles A K Aᵀ
// (m_y × m_y, m_y = measured angles × bins) and its eigendecomposition once
// per ℓ, so it suits the pilot scans a design starts from (a few thousand
// measurements at most); σ_x²/σ_y² is then a 1D golden-section search with
// σ_y² in closed form. A RadialExponential length-scale whose periodic
// embedding is not positive semi-definite (ℓ over about N/4) is skipped.
func FitPixelGaussian(ctx context.Context, A *radon.Projector, y []float32, prior PixelPrior, lengths []float64) (*PixelGaussian, error) {
	m, npix := A.Dims()
	if len(y) != m {
		return nil, fmt.Errorf("design: y has %d values, A has %d rows", len(y), m)
	}
	if m > 8000 {
		return nil, fmt.Errorf("design: the pixel-Gaussian baseline assembles A K Aᵀ densely; %d measurements is too many (fit it on the pilot scan)", m)
	}
	n := A.Geometry().N
	if prior == Isotropic {
		lengths = []float64{0}
	} else if len(lengths) == 0 {
		lengths = DefaultLengths
	}
	// Aᵀ e_i for every measurement, once: rows of A.
	at := make([]float32, m*npix)
	e := make([]float32, m*m)
	for i := 0; i < m; i++ {
		e[i*m+i] = 1
	}
	A.AdjointBatch(at, e, m)
	var best *PixelGaussian
	var unusable error
	for _, ell := range lengths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pg := &PixelGaussian{Prior: prior, Length: ell, n: n, A: A}
		if prior != Isotropic && !(ell > 0) {
			return nil, fmt.Errorf("design: length-scale %g must be positive", ell)
		}
		switch prior {
		case Exponential:
			pg.l1 = expCholesky(n, ell)
		case RadialExponential:
			tor, err := newTorusKernel(n, func(d float64) float64 { return math.Exp(-d / ell) })
			if err != nil {
				// A length-scale long against the image cannot be
				// sampled exactly this way; the others are still tried.
				unusable = err
				continue
			}
			pg.tor = tor
		}
		kat := make([]float32, len(at))
		pg.applyK(kat, at, m)
		pg.kat = kat
		akat := make([]float32, m*m)
		A.ApplyBatch(akat, kat, m) // row i = A K Aᵀ e_i
		sym := mat.NewSymDense(m, nil)
		for i := 0; i < m; i++ {
			for j := i; j < m; j++ {
				sym.SetSym(i, j, 0.5*float64(akat[i*m+j]+akat[j*m+i]))
			}
		}
		var eig mat.EigenSym
		if !eig.Factorize(sym, true) {
			return nil, fmt.Errorf("design: eigendecomposition of A K Aᵀ failed")
		}
		pg.lam = eig.Values(nil)
		pg.u = mat.NewDense(m, m, nil)
		eig.VectorsTo(pg.u)
		yt := make([]float64, m) // Uᵀ y
		yv := make([]float64, m)
		for i, v := range y {
			yv[i] = float64(v)
		}
		mat.NewVecDense(m, yt).MulVec(pg.u.T(), mat.NewVecDense(m, yv))
		// −log p(y)/m at ratio r = σ_x²/σ_y², with σ_y² profiled out:
		// σ_y² = (1/m) Σ ỹ_i²/(rλ_i + 1).
		nll := func(logr float64) (float64, float64) {
			r := math.Exp(logr)
			var q, ld float64
			for i, l := range pg.lam {
				d := r*math.Max(l, 0) + 1
				q += yt[i] * yt[i] / d
				ld += math.Log(d)
			}
			s2 := q / float64(m)
			return 0.5 * (math.Log(s2) + ld/float64(m) + 1 + math.Log(2*math.Pi)), s2
		}
		lr := goldenMin(func(x float64) float64 { v, _ := nll(x); return v }, -25, 25, 80)
		v, s2 := nll(lr)
		pg.NoiseVar, pg.SigmaX2, pg.NegLogML = s2, math.Exp(lr)*s2, v
		if best == nil || v < best.NegLogML {
			best = pg
		}
	}
	if best == nil {
		return nil, unusable
	}
	return best, nil
}

// goldenMin minimises a unimodal f on [a, b] by golden-section search.
func goldenMin(f func(float64) float64, a, b float64, iters int) float64 {
	g := (math.Sqrt(5) - 1) / 2
	c, d := b-g*(b-a), a+g*(b-a)
	fc, fd := f(c), f(d)
	for i := 0; i < iters; i++ {
		if fc < fd {
			b, d, fd = d, c, fc
			c = b - g*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + g*(b-a)
			fd = f(d)
		}
	}
	return (a + b) / 2
}

// expCholesky returns the lower Cholesky factor of the N×N kernel
// exp(−|i−j|/ℓ) (+1e-9 I): an AR(1) process, so its factor is explicit:
// row i is ρ^(i−j)·(√(1−ρ²) for j > 0, 1 for j = 0), ρ = e^(−1/ℓ).
func expCholesky(n int, ell float64) []float64 {
	rho := math.Exp(-1 / ell)
	c := math.Sqrt(1 - rho*rho)
	l := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			v := math.Pow(rho, float64(i-j))
			if j > 0 {
				v *= c
			}
			l[i*n+j] = v
		}
	}
	return l
}

// kernel is K(p, q) at unit scale for pixels p and q (row-major indices).
func (pg *PixelGaussian) kernel(p, q int) float64 {
	n := pg.n
	dy, dx := float64(p/n-q/n), float64(p%n-q%n)
	switch pg.Prior {
	case Exponential:
		return math.Exp(-(math.Abs(dx) + math.Abs(dy)) / pg.Length)
	case RadialExponential:
		return math.Exp(-math.Hypot(dx, dy) / pg.Length)
	}
	if p == q {
		return 1
	}
	return 0
}

// applyK sets dst[b] = K x[b] for k images at unit scale: the identity for
// Isotropic, K₁ X K₁ (K₁ = L₁L₁ᵀ) for Exponential, a torus convolution
// for RadialExponential.
func (pg *PixelGaussian) applyK(dst, x []float32, k int) {
	if pg.tor != nil {
		pg.tor.apply(dst, x, k)
		return
	}
	if pg.l1 == nil {
		copy(dst, x)
		return
	}
	n := pg.n
	k1 := make([]float32, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			k1[i*n+j] = float32(math.Exp(-math.Abs(float64(i-j)) / pg.Length))
		}
	}
	tmp := make([]float32, n*n)
	for b := 0; b < k; b++ {
		blas.Sgemm(false, false, n, n, n, 1, k1, n, x[b*n*n:], n, 0, tmp, n)
		blas.Sgemm(false, false, n, n, n, 1, tmp, n, k1, n, 0, dst[b*n*n:], n)
	}
}

// sampleSqrt sets dst[b] = K^{1/2} ε_b = L₁ E_b L₁ᵀ (Isotropic: ε_b) for k
// fresh standard-normal images ε_b (RadialExponential: k draws of N(0, K)
// from the torus).
func (pg *PixelGaussian) sampleSqrt(dst []float32, k int, rng *rand.Rand) {
	if pg.tor != nil {
		pg.tor.sample(dst, k, rng)
		return
	}
	for i := range dst {
		dst[i] = float32(rng.NormFloat64())
	}
	if pg.l1 == nil {
		return
	}
	n := pg.n
	l := make([]float32, n*n)
	for i, v := range pg.l1 {
		l[i] = float32(v)
	}
	tmp := make([]float32, n*n)
	for b := 0; b < k; b++ {
		img := dst[b*n*n : (b+1)*n*n]
		blas.Sgemm(false, false, n, n, n, 1, l, n, img, n, 0, tmp, n)
		blas.Sgemm(false, true, n, n, n, 1, tmp, n, l, n, 0, img, n)
	}
}

// Samples writes k zero-mean posterior samples (k × N²) by Matheron's
// rule: x = σ_x K^{1/2} ε₁, then x − σ_x² K Aᵀ K_yy⁻¹ (A x + σ_y ε₂), with
// K_yy = σ_x² A K Aᵀ + σ_y² I from the eigendecomposition.
func (pg *PixelGaussian) Samples(ctx context.Context, dst []float32, k int, rng *rand.Rand) error {
	m, npix := pg.A.Dims()
	if len(dst) != k*npix {
		return fmt.Errorf("design: %d values for %d samples of %d pixels", len(dst), k, npix)
	}
	pg.sampleSqrt(dst, k, rng)
	sx := float32(math.Sqrt(pg.SigmaX2))
	for i := range dst {
		dst[i] *= sx
	}
	r := make([]float32, k*m)
	pg.A.ApplyBatch(r, dst, k)
	sy := math.Sqrt(pg.NoiseVar)
	v := make([]float64, m)
	w := make([]float64, m)
	for b := 0; b < k; b++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		row := r[b*m : (b+1)*m]
		for i := range v {
			v[i] = float64(row[i]) + sy*rng.NormFloat64()
		}
		// K_yy⁻¹ v = U diag(1/(σ_x²λ + σ_y²)) Uᵀ v
		mat.NewVecDense(m, w).MulVec(pg.u.T(), mat.NewVecDense(m, v))
		for i, l := range pg.lam {
			w[i] /= pg.SigmaX2*math.Max(l, 0) + pg.NoiseVar
		}
		mat.NewVecDense(m, v).MulVec(pg.u, mat.NewVecDense(m, w))
		for i := range row {
			row[i] = float32(v[i])
		}
	}
	back := make([]float32, k*npix)
	pg.A.AdjointBatch(back, r, k)
	kb := make([]float32, k*npix)
	pg.applyK(kb, back, k)
	for i := range dst {
		dst[i] -= float32(pg.SigmaX2) * kb[i]
	}
	return nil
}

// Covariance returns the dense posterior covariance (N²×N², row-major)
// σ_x²K − σ_x⁴ K Aᵀ K_yy⁻¹ A K, from the eigendecomposition K_yy =
// U diag(σ_x²λ + σ_y²) Uᵀ: for SelectDense, at the sizes it suits
// (N² ≤ MaxDensePixels).
func (pg *PixelGaussian) Covariance() ([]float64, error) {
	m, npix := pg.A.Dims()
	if npix > MaxDensePixels {
		return nil, fmt.Errorf("design: a dense %d-pixel covariance is too large (up to %d)", npix, MaxDensePixels)
	}
	// Bs = σ_x² K Aᵀ U diag(1/√(σ_x²λ + σ_y²)), npix × m.
	kat := mat.NewDense(m, npix, nil)
	for i := 0; i < m; i++ {
		for p := 0; p < npix; p++ {
			kat.Set(i, p, float64(pg.kat[i*npix+p]))
		}
	}
	var bs mat.Dense
	bs.Mul(kat.T(), pg.u)
	for r, l := range pg.lam {
		sc := pg.SigmaX2 / math.Sqrt(pg.SigmaX2*math.Max(l, 0)+pg.NoiseVar)
		for p := 0; p < npix; p++ {
			bs.Set(p, r, bs.At(p, r)*sc)
		}
	}
	var red mat.Dense
	red.Mul(&bs, bs.T())
	out := make([]float64, npix*npix)
	for p := 0; p < npix; p++ {
		for q := 0; q < npix; q++ {
			out[p*npix+q] = pg.SigmaX2*pg.kernel(p, q) - red.At(p, q)
		}
	}
	return out, nil
}
