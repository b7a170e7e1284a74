package linearised

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/radon"
)

func TestCholDerivs(t *testing.T) {
	// L(ℓ) L(ℓ)ᵀ = K(ℓ): differentiate both sides once in log ℓ and compare
	// L'Lᵀ + L L'ᵀ with K' = exp(−d/ℓ)·d/ℓ computed analytically.
	le := math.Log(0.7)
	l := cholAt(0.7)
	d1, _ := cholDerivs(le)
	_, dk := kernelCoef(0.7)
	for i := 0; i < 9; i++ {
		for j := 0; j < 9; j++ {
			var s float64
			for k := 0; k < 9; k++ {
				s += d1[i*9+k]*l[j*9+k] + l[i*9+k]*d1[j*9+k]
			}
			if math.Abs(s-dk[distIndex[i][j]]) > 1e-8 {
				t.Fatalf("(LLᵀ)'[%d,%d] = %g, K' = %g", i, j, s, dk[distIndex[i][j]])
			}
		}
	}
}

func TestPredCPGradientCommonRandomNumbers(t *testing.T) {
	rng := newRNG(t, 60)
	p, pr := testProblem(t, rng, 20)
	randomHyper(pr, rng)
	// A checkerboard mean (±5) and a small J (|Jw| ≲ 2) keep every TV
	// difference away from 0, so the Monte-Carlo estimate with fixed ε is a
	// smooth function of the hyperparameters (no sign flip of ∇TV inside the
	// finite-difference step, which would make the −log|κ_ℓ| estimate jump).
	for i := range p.Xhat {
		p.Xhat[i] = float32(5 * (1 - 2*((i/6+i%6)%2)))
	}
	for i := range p.J.(*linop.Dense).Data {
		p.J.(*linop.Dense).Data[i] *= 0.15
	}
	s := PredCPSettings{Gamma: 1e-2, Samples: 50}
	eval := func(grad *Hyper) float64 {
		// The same ε at every evaluation: the estimate is then a fixed,
		// piecewise-smooth function of the hyperparameters.
		v, err := predCP(context.Background(), p, pr, s, 16, rand.New(rand.NewPCG(7, 7)), grad)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	g := Hyper{LogVar: make([]float64, 4), LogLen: make([]float64, 4)}
	eval(&g)
	hi := hyperParams(pr)
	x0 := hi.get(&pr.H)
	ga := hi.get(&g)
	// Images are float32: TV rounding ≈ √60·5·6e-8 per sample, over 2h =
	// 2e-3 gives ~1e-4 relative error in each difference quotient, whose
	// parts (κ_h, κ_ℓℓ/κ_ℓ: a few units) partly cancel in the gradient; O(h²)
	// truncation is smaller. Allow 1e-3 relative plus 5e-4·λ absolute.
	lambda := s.Gamma * 20
	const h = 1e-3
	for i := range x0 {
		if i == hi.noiseIdx {
			continue
		}
		x := append([]float64(nil), x0...)
		x[i] += h
		hi.set(&pr.H, x)
		lp := eval(nil)
		x[i] -= 2 * h
		hi.set(&pr.H, x)
		lm := eval(nil)
		hi.set(&pr.H, x0)
		fd := (lp - lm) / (2 * h)
		if math.Abs(fd-ga[i]) > 1e-3*math.Abs(fd)+5e-4*lambda {
			t.Errorf("%s: analytic %g, finite difference %g", hi.names[i], ga[i], fd)
		}
	}
}

// The basis form (45 precomputed images per draw) equals the direct
// Monte-Carlo estimate with the same draws: x_r = x̂ + J w_r with
// w_r = σ (L ⊗ I) ε_r pushed through J, κ = mean TV(x_r), κ_ℓ = mean
// ⟨∇TV(x_r), J σ (L' ⊗ I) ε_r⟩, objective λ Σ_b (κ − log|κ_ℓ|).
func TestPredCPBasisMatchesDirect(t *testing.T) {
	rng := newRNG(t, 61)
	p, pr := testProblem(t, rng, 20)
	randomHyper(pr, rng)
	for i := range p.Xhat {
		p.Xhat[i] = float32(rng.NormFloat64())
	}
	s := PredCPSettings{Gamma: 1e-2, Samples: 7}
	got, err := predCP(context.Background(), p, pr, s, 5, rand.New(rand.NewPCG(3, 3)), nil)
	if err != nil {
		t.Fatal(err)
	}
	npix, n := p.J.Dims()
	side := 6
	draws := rand.New(rand.NewPCG(3, 3))
	var want float64
	for bi, b := range pr.Blocks {
		if b.Kernel != 3 {
			continue
		}
		sig := math.Sqrt(math.Exp(pr.H.LogVar[bi]))
		l := cholAt(math.Exp(pr.H.LogLen[bi]))
		d1, _ := cholDerivs(pr.H.LogLen[bi])
		eps := make([]float64, s.Samples*b.Len)
		for i := range eps {
			eps[i] = draws.NormFloat64()
		}
		var kappa, kl float64
		for r := 0; r < s.Samples; r++ {
			w, w1 := make([]float32, n), make([]float32, n)
			for f := 0; f < b.Len; f += 9 {
				for i := 0; i < 9; i++ {
					var a, a1 float64
					for j := 0; j <= i; j++ {
						a += l[i*9+j] * eps[r*b.Len+f+j]
						a1 += d1[i*9+j] * eps[r*b.Len+f+j]
					}
					w[b.Offset+f+i], w1[b.Offset+f+i] = float32(sig*a), float32(sig*a1)
				}
			}
			x, x1, g := make([]float32, npix), make([]float32, npix), make([]float32, npix)
			p.J.Apply(x, w)
			p.J.Apply(x1, w1)
			for i := range x {
				x[i] += p.Xhat[i]
			}
			kappa += radon.AnisotropicTV(g, x, side, 1)
			kl += linop.Dot(g, x1)
		}
		kappa /= float64(s.Samples)
		kl /= float64(s.Samples)
		want += float64(len(p.Y)) * s.Gamma * (kappa - math.Log(math.Abs(kl)))
	}
	// float32 images (J products and the basis sums) round at ~1e-7
	// relative; the objective's terms are O(1–10).
	if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
		t.Fatalf("basis objective %.8g, direct %.8g", got, want)
	}
}

// predCP returns the PredCP objective for fresh draws from rng (a basis
// built for one evaluation) and adds its gradient to grad.
func predCP(ctx context.Context, prob *Problem, prior *Prior, s PredCPSettings, batch int, rng *rand.Rand, grad *Hyper) (float64, error) {
	if s.Gamma == 0 {
		return 0, nil
	}
	pb, err := newPredCPBasis(ctx, prob, prior, s, batch, rng)
	if err != nil {
		return 0, err
	}
	return pb.eval(prob, prior, s, grad)
}
