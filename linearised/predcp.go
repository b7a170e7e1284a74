package linearised

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/radon"
)

// PredCPSettings configures the TV-PredCP hyperprior on the 3×3 blocks
// (DESIGN.md §5, bayes_dip's sample_based_predcp). For each such block b it
// adds to the MLL objective
//
//	λ κ_b − log|∂κ_b/∂log ℓ_b|,   λ = Scale · m_y · Gamma,
//
// where κ_b(ℓ_b, σ_b²) = E TV(x̂ + J w_b), w_b ~ N(0, Σ_b) the block's
// weights (the other blocks held at zero), TV anisotropic. As in bayes_dip,
// the Jacobian term is taken with respect to log ℓ (the optimised
// coordinate); DESIGN writes ∂κ/∂ℓ, which differs by the constant-gradient
// term log ℓ. The expectations are reparametrised Monte-Carlo estimates;
// TV is piecewise linear, so its gradient is piecewise constant and the
// derivatives of κ are E[⟨Jᵀ∇TV(x), ∂w/∂h⟩] exactly (second derivatives
// likewise, through ∂²w).
type PredCPSettings struct {
	// Gamma is the TV weight γ of the DIP fit; 0 disables PredCP.
	Gamma float64
	// Scale multiplies λ (default 1).
	Scale float64
	// Samples per 3×3 block per step (default 100, bayes_dip's). Each costs
	// one JVP and one VJP.
	Samples int
}

func (s PredCPSettings) scale() float64 {
	if s.Scale == 0 {
		return 1
	}
	return s.Scale
}

func (s PredCPSettings) samples() int {
	if s.Samples <= 0 {
		return 100
	}
	return s.Samples
}

// cholAt returns the Cholesky factor of the filter kernel at length-scale ell.
func cholAt(ell float64) [81]float64 {
	var p Prior
	p.H = Hyper{LogVar: []float64{0}, LogLen: []float64{math.Log(ell)}}
	p.cache = make([]filterCache, 1)
	return p.filter(0).chol
}

// cholDerivs returns ∂L/∂log ℓ and ∂²L/∂(log ℓ)² by central differences
// of the 9×9 Cholesky factor in float64 (steps 1e-5 and 1e-3: truncation
// O(h²) ≈ 1e-10 and 1e-6, rounding 1e-11 and 1e-10 relative).
func cholDerivs(logEll float64) (d1, d2 [81]float64) {
	const h1, h2 = 1e-5, 1e-3
	p1, m1 := cholAt(math.Exp(logEll+h1)), cholAt(math.Exp(logEll-h1))
	p2, m2, c := cholAt(math.Exp(logEll+h2)), cholAt(math.Exp(logEll-h2)), cholAt(math.Exp(logEll))
	for i := range d1 {
		d1[i] = (p1[i] - m1[i]) / (2 * h1)
		d2[i] = (p2[i] - 2*c[i] + m2[i]) / (h2 * h2)
	}
	return d1, d2
}

// predCP returns the PredCP objective summed over the 3×3 blocks and adds
// its gradient to grad.
func predCP(ctx context.Context, prob *Problem, prior *Prior, s PredCPSettings, batch int, rng *rand.Rand, grad *Hyper) (float64, error) {
	if s.Gamma == 0 {
		return 0, nil
	}
	if rng == nil {
		return 0, errors.New("linearised: PredCP needs a random source")
	}
	npix, n := prob.J.Dims()
	my, _ := prob.A.Dims()
	side := int(math.Round(math.Sqrt(float64(npix))))
	if side*side != npix {
		return 0, fmt.Errorf("linearised: PredCP needs a square image, got %d pixels", npix)
	}
	lambda := s.scale() * float64(my) * s.Gamma
	k := s.samples()
	var total float64
	w := make([]float32, k*n)
	x := make([]float32, k*npix)
	gimg := make([]float32, k*npix)
	g := make([]float32, k*n)
	for bi, b := range prior.Blocks {
		if b.Kernel != 3 {
			continue
		}
		if err := ctxErr(ctx); err != nil {
			return 0, err
		}
		sig := math.Sqrt(math.Exp(prior.H.LogVar[bi]))
		l := cholAt(math.Exp(prior.H.LogLen[bi]))
		d1, d2 := cholDerivs(prior.H.LogLen[bi])
		// ε and the three derived weight vectors, float64, per sample.
		eps := make([]float64, k*b.Len)
		for i := range eps {
			eps[i] = rng.NormFloat64()
		}
		wv := make([]float64, k*b.Len)
		w1 := make([]float64, k*b.Len)
		w2 := make([]float64, k*b.Len)
		for r := 0; r < k; r++ {
			for f := 0; f < b.Len; f += 9 {
				e := eps[r*b.Len+f : r*b.Len+f+9]
				for i := 0; i < 9; i++ {
					var a0, a1, a2 float64
					for j := 0; j <= i; j++ {
						a0 += l[i*9+j] * e[j]
						a1 += d1[i*9+j] * e[j]
						a2 += d2[i*9+j] * e[j]
					}
					o := r*b.Len + f + i
					wv[o], w1[o], w2[o] = sig*a0, sig*a1, sig*a2
				}
			}
		}
		clear(w)
		for r := 0; r < k; r++ {
			for i := 0; i < b.Len; i++ {
				w[r*n+b.Offset+i] = float32(wv[r*b.Len+i])
			}
		}
		chunked(batch, k, n, npix, x, w, func(d, s []float32, c int) { linop.ApplyBatch(prob.J, d, s, c) })
		var kappa float64
		for r := 0; r < k; r++ {
			xr := x[r*npix : (r+1)*npix]
			for i := range xr {
				xr[i] += prob.Xhat[i]
			}
			kappa += radon.AnisotropicTV(gimg[r*npix:(r+1)*npix], xr, side, 1)
		}
		chunked(batch, k, npix, n, g, gimg, func(d, s []float32, c int) { linop.AdjointBatch(prob.J, d, s, c) })
		var kl, ks, kll float64
		for r := 0; r < k; r++ {
			gr := g[r*n+b.Offset : r*n+b.Offset+b.Len]
			for i, v := range gr {
				o := r*b.Len + i
				kl += float64(v) * w1[o]
				ks += float64(v) * wv[o]
				kll += float64(v) * w2[o]
			}
		}
		fk := float64(k)
		kappa /= fk
		kl /= fk
		ks = 0.5 * ks / fk // ∂w/∂log σ² = w/2
		kll /= fk
		if kl == 0 {
			return 0, fmt.Errorf("linearised: PredCP: ∂κ/∂log ℓ is 0 for block %q", b.Name)
		}
		total += lambda * (kappa - math.Log(math.Abs(kl)))
		if grad != nil {
			// ∂/∂log ℓ log|κ_ℓ| = κ_ℓℓ/κ_ℓ; ∂/∂log σ² log|κ_ℓ| = ½ (κ_ℓ ∝ σ).
			grad.LogLen[bi] += lambda * (kl - kll/kl)
			grad.LogVar[bi] += lambda * (ks - 0.5)
		}
	}
	return total, nil
}
