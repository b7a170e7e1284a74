package linearised

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ctrecon/ctrecon/linop"
)

func TestGPriorScalesAndEquivalence(t *testing.T) {
	rng := newRNG(t, 90)
	p, _ := testProblem(t, rng, 20)
	ctx := context.Background()
	gp, d, err := GPrior(ctx, p, GPriorSettings{Batch: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := linop.AdjointError(gp.J, rng); e > 1e-6 {
		t.Fatalf("ScaledColumns adjoint error %g", e)
	}
	// Exact scales: d_i = 1/‖(AJ)_{:,i}‖, so the columns of A·J̃ have unit norm.
	AJ := toMat(linop.Assemble(linop.Compose(p.A, p.J)))
	AJg := toMat(linop.Assemble(linop.Compose(gp.A, gp.J)))
	_, n := AJ.Dims()
	for i := 0; i < n; i++ {
		s := mat.Norm(AJ.ColView(i), 2)
		if relDiff(float64(d[i]), 1/s) > 1e-5 {
			t.Fatalf("d[%d] = %g, want %g", i, d[i], 1/s)
		}
		if g := mat.Norm(AJg.ColView(i), 2); math.Abs(g-1) > 1e-5 {
			t.Fatalf("normalised column %d has norm %g", i, g)
		}
		if relDiff(float64(gp.Theta[i]), float64(p.Theta[i])/float64(d[i])) > 1e-6 {
			t.Fatalf("θ̃[%d] = %g, want θ/d = %g", i, gp.Theta[i], p.Theta[i]/d[i])
		}
	}
	// Posterior variances of the g-prior problem equal those of the prior
	// D Σ D on the original J (dense reference).
	pr, _ := NewPrior(gp.Blocks, n)
	randomHyper(pr, rng)
	e, err := NewExact(ctx, gp, pr, ExactSettings{})
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float64, 36)
	if err := e.Variances(ctx, v); err != nil {
		t.Fatal(err)
	}
	S := mat.NewDense(n, n, pr.Dense())
	D := mat.NewDiagDense(n, nil)
	for i, x := range d {
		D.SetDiag(i, float64(x))
	}
	var ds, dsd mat.Dense
	ds.Mul(D, S)
	dsd.Mul(&ds, D)
	J := toMat(linop.Assemble(p.J))
	A := toMat(linop.Assemble(p.A))
	var js, sxx, asxx, k, kinv, tmp, post mat.Dense
	js.Mul(J, &dsd)
	sxx.Mul(&js, J.T())
	asxx.Mul(A, &sxx)
	k.Mul(&asxx, A.T())
	for i := 0; i < 20; i++ {
		k.Set(i, i, k.At(i, i)+pr.H.NoiseVar())
	}
	kinv.Inverse(&k)
	tmp.Mul(&kinv, &asxx)
	post.Mul(asxx.T(), &tmp)
	post.Sub(&sxx, &post)
	// float32 operators (J̃ scaled in float32) against a float64 reference
	// built from the same float32 d: 1e-5 of the prior variance.
	for i := range v {
		if math.Abs(v[i]-post.At(i, i)) > 1e-5*sxx.At(i, i) {
			t.Fatalf("pixel %d: g-prior variance %g, dense %g", i, v[i], post.At(i, i))
		}
	}
}

func TestGPriorProbeEstimate(t *testing.T) {
	rng := newRNG(t, 91)
	p, _ := testProblem(t, rng, 20)
	ctx := context.Background()
	_, dExact, _ := GPrior(ctx, p, GPriorSettings{}, nil)
	const k = 2000
	gp, d, err := GPrior(ctx, p, GPriorSettings{Probes: k, Isotropic: true}, rng)
	if err != nil {
		t.Fatal(err)
	}
	// s² from k Rademacher probes has relative sd ≤ √(2/k) = 0.032, so
	// d = 1/s has at most half that; allow 5 of them.
	for i := range d {
		if relDiff(float64(d[i]), float64(dExact[i])) > 2.5*math.Sqrt(2.0/k) {
			t.Fatalf("d[%d] = %g from probes, exact %g", i, d[i], dExact[i])
		}
	}
	for _, b := range gp.Blocks {
		if b.Kernel != 1 {
			t.Fatalf("Isotropic left block %q with kernel %d", b.Name, b.Kernel)
		}
	}
	// The isotropic g-prior problem runs through the sample-based EM.
	res, err := Run(ctx, gp, nil, Settings{Regime: MatrixFreeRegime, Method: FitEM, EM: EMSettings{Iters: 5}, Samples: 16}, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fit.Steps != 5 || len(res.Std) != 36 {
		t.Fatalf("EM steps %d, %d std values", res.Fit.Steps, len(res.Std))
	}
}
