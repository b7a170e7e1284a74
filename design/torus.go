package design

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/dsp/fourier"
)

// torusKernel is a stationary kernel k(‖p − q‖) on the N×N pixel grid
// embedded in the periodic M×M grid (M ≥ 2N, circulant embedding): the
// torus kernel's N×N corner is exactly the grid's, and on the torus every
// product and square root is diagonal in the 2D DFT. This is what makes a
// non-separable pixel prior cost two FFTs per image instead of an
// N²×N² matrix.
type torusKernel struct {
	n, m int
	spec []float64 // eigenvalues of the torus kernel: the DFT of its first row (real, even)
	root []float64 // √max(spec, 0)
	fft  *fourier.CmplxFFT
	col  []complex128
}

// maxEmbedding bounds M/N: the embedding grows until the torus kernel is
// positive semi-definite (to round-off) or this is reached.
const maxEmbedding = 8

// newTorusKernel embeds k (a function of the distance in pixels, k(0) = 1)
// for an n×n grid. It doubles the torus from 2n until the smallest
// eigenvalue is above −1e-9 of the largest (a smooth kernel whose range is
// long against the image can need more than 2n) and refuses beyond
// maxEmbedding·n.
func newTorusKernel(n int, k func(d float64) float64) (*torusKernel, error) {
	for m := 2 * n; m <= maxEmbedding*n; m *= 2 {
		t := &torusKernel{n: n, m: m, fft: fourier.NewCmplxFFT(m), col: make([]complex128, m)}
		c := make([]complex128, m*m)
		for i := 0; i < m; i++ {
			di := float64(min(i, m-i))
			for j := 0; j < m; j++ {
				dj := float64(min(j, m-j))
				c[i*m+j] = complex(k(math.Hypot(di, dj)), 0)
			}
		}
		t.fft2(c, m, false)
		t.spec = make([]float64, m*m)
		t.root = make([]float64, m*m)
		lo, hi := math.Inf(1), math.Inf(-1)
		for i, v := range c {
			t.spec[i] = real(v)
			lo, hi = math.Min(lo, real(v)), math.Max(hi, real(v))
		}
		if lo < -1e-9*hi {
			continue
		}
		for i, v := range t.spec {
			t.root[i] = math.Sqrt(math.Max(v, 0))
		}
		return t, nil
	}
	return nil, fmt.Errorf("design: the kernel has no positive semi-definite periodic embedding up to %d×%d for a %d×%d image (its range is too long for the image)", maxEmbedding*n, maxEmbedding*n, n, n)
}

// fft2 transforms the m×m array x in place (unnormalised DFT, inverse
// when asked); only the first rows of x may be non-zero (the rest are
// skipped in the row pass when forward, and left stale when inverse: the
// caller reads rows < rows only).
func (t *torusKernel) fft2(x []complex128, rows int, inverse bool) {
	m := t.m
	tr := t.fft.Coefficients
	if inverse {
		tr = t.fft.Sequence
	}
	if !inverse {
		for i := 0; i < rows; i++ {
			tr(x[i*m:(i+1)*m], x[i*m:(i+1)*m])
		}
	}
	col := t.col
	for j := 0; j < m; j++ {
		for i := 0; i < m; i++ {
			col[i] = x[i*m+j]
		}
		tr(col, col)
		for i := 0; i < m; i++ {
			x[i*m+j] = col[i]
		}
	}
	if inverse {
		for i := 0; i < rows; i++ {
			tr(x[i*m:(i+1)*m], x[i*m:(i+1)*m])
		}
	}
}

// filter multiplies the torus field w (m×m, only the first n rows
// non-zero) by the operator with eigenvalues f, F⁻¹ diag(f) F, and returns
// its n×n corner: real part in a, imaginary part in b (nil to drop). The
// operator is real, so two real images carried as w = x₁ + i x₂ come back
// as a = (·)x₁, b = (·)x₂.
func (t *torusKernel) filter(a, b []float32, w []complex128, rows int, f []float64) {
	n, m := t.n, t.m
	t.fft2(w, rows, false)
	for i, v := range f {
		w[i] *= complex(v, 0)
	}
	t.fft2(w, n, true)
	s := 1 / float64(m*m)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			v := w[i*m+j]
			a[i*n+j] = float32(real(v) * s)
			if b != nil {
				b[i*n+j] = float32(imag(v) * s)
			}
		}
	}
}

// apply sets dst[b] = K x[b] for k images of n×n (exact: the torus is at
// least twice the image, so no product wraps around), two images per
// complex FFT.
func (t *torusKernel) apply(dst, x []float32, k int) {
	n, m := t.n, t.m
	np := n * n
	w := make([]complex128, m*m)
	for b := 0; b < k; b += 2 {
		clear(w)
		x1 := x[b*np : (b+1)*np]
		var x2, d2 []float32
		if b+1 < k {
			x2, d2 = x[(b+1)*np:(b+2)*np], dst[(b+1)*np:(b+2)*np]
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				v := complex(float64(x1[i*n+j]), 0)
				if x2 != nil {
					v += complex(0, float64(x2[i*n+j]))
				}
				w[i*m+j] = v
			}
		}
		t.filter(dst[b*np:(b+1)*np], d2, w, n, t.spec)
	}
}

// sample sets dst[b] to k draws of N(0, K) on the n×n grid: the corner of
// F⁻¹ diag(√λ) F ε for white noise ε on the torus, whose covariance is the
// torus kernel (so the corner's is K). Two draws per complex FFT, from the
// real and imaginary parts of complex white noise.
func (t *torusKernel) sample(dst []float32, k int, rng *rand.Rand) {
	n, m := t.n, t.m
	np := n * n
	w := make([]complex128, m*m)
	for b := 0; b < k; b += 2 {
		for i := range w {
			w[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		var d2 []float32
		if b+1 < k {
			d2 = dst[(b+1)*np : (b+2)*np]
		}
		t.filter(dst[b*np:(b+1)*np], d2, w, m, t.root)
	}
}
