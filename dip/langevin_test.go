package dip

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLangevinGaussianTarget: on a Gaussian energy U = ½(θ−μ)ᵀP(θ−μ) the
// Metropolis-adjusted chain's samples have mean μ and covariance P⁻¹ (no
// step-size bias), with a preconditioner far from P's scales and at two
// target acceptance rates (the lower one takes large steps, where the
// unadjusted chain's variance would be visibly off). P couples the first
// two coordinates (correlation −0.8) and makes the third 100× stiffer.
func TestLangevinGaussianTarget(t *testing.T) {
	mu := []float64{1, -2, 0.5}
	P := [3][3]float64{{2, 1.6, 0}, {1.6, 2, 0}, {0, 0, 100}}
	// Σ = P⁻¹
	det := 2*2 - 1.6*1.6
	want := [3][3]float64{{2 / det, -1.6 / det, 0}, {-1.6 / det, 2 / det, 0}, {0, 0, 0.01}}
	energy := func(g, th []float32) float64 {
		var u float64
		for i := range 3 {
			var pi float64
			for j := range 3 {
				pi += P[i][j] * (float64(th[j]) - mu[j])
			}
			g[i] = float32(pi)
			u += 0.5 * (float64(th[i]) - mu[i]) * pi
		}
		return u
	}
	m := []float32{1, 3, 0.2} // not P⁻¹'s diagonal (1.39, 1.39, 0.01)
	for _, target := range []float64{0.574, 0.25} {
		rng := rand.New(rand.NewPCG(*seed, 5))
		const samples = 20000
		var xs [][3]float64
		res, err := langevin(context.Background(), []float32{0, 0, 0}, m, energy, 1e-3, 1000, 3, samples, target, rng,
			func(th []float32) {
				xs = append(xs, [3]float64{float64(th[0]), float64(th[1]), float64(th[2])})
			})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.AcceptRate-target) > 0.1 {
			t.Errorf("target %.3f: acceptance %.3f after burn-in", target, res.AcceptRate)
		}
		var mean [3]float64
		for _, x := range xs {
			for i := range 3 {
				mean[i] += x[i] / samples
			}
		}
		var cov [3][3]float64
		for _, x := range xs {
			for i := range 3 {
				for j := range 3 {
					cov[i][j] += (x[i] - mean[i]) * (x[j] - mean[j]) / samples
				}
			}
		}
		// Tolerances from the chain's autocorrelation: with an effective
		// sample size of a few hundred at worst, the mean is within 0.15 σ
		// and the (co)variances within ~15%.
		for i := range 3 {
			sd := math.Sqrt(want[i][i])
			if math.Abs(mean[i]-mu[i]) > 0.15*sd {
				t.Errorf("target %.3f: mean[%d] = %.4f, want %.4f (σ %.3f)", target, i, mean[i], mu[i], sd)
			}
			for j := range 3 {
				scale := math.Sqrt(want[i][i] * want[j][j])
				if math.Abs(cov[i][j]-want[i][j]) > 0.15*scale {
					t.Errorf("target %.3f: cov[%d][%d] = %.4f, want %.4f", target, i, j, cov[i][j], want[i][j])
				}
			}
		}
		t.Logf("target %.3f: ε %.3g, acceptance %.3f, mean %.3f, var %.3f %.3f %.4f, cov01 %.3f",
			target, res.Step, res.AcceptRate, mean, cov[0][0], cov[1][1], cov[2][2], cov[0][1])
	}
}

// TestSGLDBaseline: on a small DIP the chain adapts to a workable step
// (acceptance near its target), its outputs vary (the variance is not its
// floor) around the trained reconstruction, and a run is reproducible from
// its seed while another seed gives another chain.
func TestSGLDBaseline(t *testing.T) {
	n := 16
	A := testProjector(n, 8)
	x := phantom(n)
	y, sigma := simulate(A, x, 0.05, newRng(t))
	a := Arch{Channels: []int{8, 8}, Skip: []int{0, 4}, Sigmoid: true}
	u, _ := NewUNet(a, n)
	s := FitSettings{MaxIter: 300, Gamma: 1e-4, LR: 1e-3, Seed: 7, NoiseStd: sigma}
	fit, err := Fit(context.Background(), u, A, y, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls := LangevinSettings{Samples: 20, Thin: 5, BurnIn: 200, Seed: 3}
	m1, v1, res, err := SGLD(context.Background(), u, A, y, s, fit, ls)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.AcceptRate-0.574) > 0.2 {
		t.Errorf("acceptance %.3f after burn-in, target 0.574", res.AcceptRate)
	}
	above := 0
	for _, v := range v1 {
		if v > 1e-9 {
			above++
		}
	}
	if above < n*n/2 {
		t.Errorf("only %d of %d pixels vary along the chain", above, n*n)
	}
	// The chain samples around the fit: its mean is nearer the trained
	// image than the trained image is to the truth.
	if d, e := relDiff(m1, fit.Image), relDiff(fit.Image, x); d > e {
		t.Errorf("chain mean %.3g from the fit, the fit %.3g from the truth", d, e)
	}
	m2, v2, _, _ := SGLD(context.Background(), u, A, y, s, fit, ls)
	if !slices.Equal(m1, m2) || !slices.Equal(v1, v2) {
		t.Error("the same seed gave another chain")
	}
	ls.Seed = 4
	m3, _, _, _ := SGLD(context.Background(), u, A, y, s, fit, ls)
	if slices.Equal(m1, m3) {
		t.Error("another seed gave the same chain")
	}
	t.Logf("ε %.3g, acceptance %.3f, mean std %.4g", res.Step, res.AcceptRate, meanSqrt(v1))

	if _, _, _, err := SGLD(context.Background(), u, A, y, FitSettings{}, fit, ls); err == nil {
		t.Error("SGLD without σ did not fail")
	}
}

func meanSqrt(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += math.Sqrt(x)
	}
	return s / float64(len(v))
}
