package linearised

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestExactLossMatchesDense(t *testing.T) {
	rng := newRNG(t, 10)
	for _, my := range []int{20, 90} { // VJP path (m_y ≤ n) and JVP path (m_y > n = 70)
		p, pr := testProblem(t, rng, my)
		randomHyper(pr, rng)
		e, err := NewExact(context.Background(), p, pr, ExactSettings{Batch: 7})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Loss(nil)
		if err != nil {
			t.Fatal(err)
		}
		dm := newDenseModel(p, pr)
		var chol mat.Cholesky
		if !chol.Factorize(mat.NewSymDense(my, dm.k.RawMatrix().Data)) {
			t.Fatal("dense K not SPD")
		}
		th := make([]float64, pr.Dim())
		for i, v := range p.Theta {
			th[i] = float64(v)
		}
		var sol mat.VecDense
		if err := sol.SolveVec(dm.sigma, mat.NewVecDense(len(th), th)); err != nil {
			t.Fatal(err)
		}
		quad := mat.Dot(&sol, mat.NewVecDense(len(th), th))
		want := 0.5 * (p.residual2()/pr.H.NoiseVar() + quad + chol.LogDet())
		// AJ is float32 (one rounding of a 36-term sum); the rest is float64.
		if relDiff(got, want) > 1e-5 {
			t.Fatalf("m_y=%d: Loss = %.10g, dense %.10g", my, got, want)
		}
	}
}

func TestExactLossGradientFiniteDifference(t *testing.T) {
	rng := newRNG(t, 11)
	p, pr := testProblem(t, rng, 25)
	randomHyper(pr, rng)
	e, err := NewExact(context.Background(), p, pr, ExactSettings{})
	if err != nil {
		t.Fatal(err)
	}
	var g Hyper
	if _, err := e.Loss(&g); err != nil {
		t.Fatal(err)
	}
	params := hyperParams(pr)
	ga := g.flatten(pr)
	x0 := params.get(&pr.H)
	// Central differences in float64 with h = 1e-5: truncation O(h²)·f''' and
	// rounding eps·|L|/h ≈ 1e-11·|L|/1e-5; 1e-5 relative (+1e-7 absolute)
	// is far above both.
	const h = 1e-5
	for i := range x0 {
		x := append([]float64(nil), x0...)
		x[i] = x0[i] + h
		params.set(&pr.H, x)
		lp, _ := e.Loss(nil)
		x[i] = x0[i] - h
		params.set(&pr.H, x)
		lm, _ := e.Loss(nil)
		fd := (lp - lm) / (2 * h)
		if math.Abs(fd-ga[i]) > 1e-5*math.Abs(fd)+1e-7 {
			t.Errorf("gradient %s: analytic %.9g, finite difference %.9g", params.names[i], ga[i], fd)
		}
	}
	params.set(&pr.H, x0)
}

func TestExactVariancesMatchDense(t *testing.T) {
	rng := newRNG(t, 12)
	for _, my := range []int{20, 90} {
		p, pr := testProblemQ(t, rng, my)
		randomHyper(pr, rng)
		e, err := NewExact(context.Background(), p, pr, ExactSettings{PixelChunk: 10, Batch: 4})
		if err != nil {
			t.Fatal(err)
		}
		dm := newDenseModel(p, pr)
		v := make([]float64, 36)
		if err := e.Variances(context.Background(), v); err != nil {
			t.Fatal(err)
		}
		// J, A quantised: both computations start from the same numbers
		// (AJ exact in float32) and run in float64, so they agree to float64
		// rounding amplified by cond(K_yy) and by cancellation (posterior ≪
		// prior variance): 1e-9 of the prior variance.
		for i := range v {
			if math.Abs(v[i]-dm.post.At(i, i)) > 1e-9*dm.sxx.At(i, i) {
				t.Fatalf("m_y=%d pixel %d: variance %g, dense %g (prior %g)", my, i, v[i], dm.post.At(i, i), dm.sxx.At(i, i))
			}
		}
		pix := []int{3, 4, 9, 10, 35}
		c, err := e.Covariance(context.Background(), pix)
		if err != nil {
			t.Fatal(err)
		}
		for a, i := range pix {
			for b, j := range pix {
				want := dm.post.At(i, j)
				if math.Abs(c[a*len(pix)+b]-want) > 1e-9*math.Sqrt(dm.sxx.At(i, i)*dm.sxx.At(j, j)) {
					t.Fatalf("cov[%d,%d] = %g, dense %g", i, j, c[a*len(pix)+b], want)
				}
			}
		}
	}
}

func TestExactFitDecreasesLossAndReachesStationaryPoint(t *testing.T) {
	rng := newRNG(t, 13)
	p, pr := testProblem(t, rng, 30)
	e, err := NewExact(context.Background(), p, pr, ExactSettings{})
	if err != nil {
		t.Fatal(err)
	}
	l0, _ := e.Loss(nil)
	var calls int
	res, err := e.Fit(context.Background(), MLLSettings{Steps: 1500, LR: 0.05}, nil, func(int, float64) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1500 || res.Steps != 1500 {
		t.Fatalf("progress called %d times, %d steps", calls, res.Steps)
	}
	if !(res.Loss < l0) {
		t.Fatalf("loss went from %g to %g", l0, res.Loss)
	}
	// At a minimum the gradient of every unclamped parameter is small
	// compared with its initial size.
	var g Hyper
	e.Loss(&g)
	gf := g.flatten(pr)
	x := pr.H.flatten(pr)
	for i, v := range gf {
		if x[i] > MinLogVariance+1e-9 && math.Abs(v) > 0.05 {
			t.Errorf("parameter %d = %g has gradient %g after the fit", i, x[i], v)
		}
	}
}

func TestExactJitterOnSingularKyy(t *testing.T) {
	// m_y = 90 > n = 70: K0 = AJΣ(AJ)ᵀ has rank ≤ 70, and with σ_y² = e⁻⁴⁰
	// (set directly, below the clamp) K_yy is singular in float64; the
	// factorisation must succeed with reported jitter, not return NaN.
	rng := newRNG(t, 14)
	p, pr := testProblem(t, rng, 90)
	e, err := NewExact(context.Background(), p, pr, ExactSettings{})
	if err != nil {
		t.Fatal(err)
	}
	pr.H.LogNoise = -40
	var g Hyper
	l, err := e.Loss(&g)
	if err != nil {
		t.Fatal(err)
	}
	if e.Jitter == 0 || math.IsNaN(l) || math.IsInf(l, 0) {
		t.Fatalf("loss %g with jitter %g", l, e.Jitter)
	}
	for _, v := range g.flatten(pr) {
		if math.IsNaN(v) {
			t.Fatal("NaN gradient")
		}
	}
	t.Logf("jitter %g", e.Jitter)
}

func TestFitRelTolStopsEarly(t *testing.T) {
	rng := newRNG(t, 15)
	p, pr := testProblem(t, rng, 30)
	e, _ := NewExact(context.Background(), p, pr, ExactSettings{})
	res, err := e.Fit(context.Background(), MLLSettings{Steps: 5000, LR: 0.05, RelTol: 1e-6}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps >= 5000 || res.Steps <= 50 {
		t.Fatalf("stopped after %d steps", res.Steps)
	}
}
