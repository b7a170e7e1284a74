package linearised

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ctrecon/ctrecon/linop"
)

func TestMatrixFreeApplyKAndSolve(t *testing.T) {
	rng := newRNG(t, 30)
	p, pr := testProblem(t, rng, 24)
	randomHyper(pr, rng)
	mf, err := NewMatrixFree(p, pr, MatrixFreeSettings{Batch: 5, CG: CGSettings{RTol: 1e-6, PrecondRank: 8}})
	if err != nil {
		t.Fatal(err)
	}
	dm := newDenseModel(p, pr)
	const k = 7
	v := randVec(rng, k*24, 1)
	kv := make([]float32, k*24)
	mf.ApplyK(kv, v, k)
	for r := 0; r < k; r++ {
		for i := 0; i < 24; i++ {
			var s, scale float64
			for j := 0; j < 24; j++ {
				s += dm.k.At(i, j) * float64(v[r*24+j])
				scale += math.Abs(dm.k.At(i, j) * float64(v[r*24+j]))
			}
			// float32 chain of four operators: 1e-5 of the absolute sum.
			if math.Abs(float64(kv[r*24+i])-s) > 1e-5*scale {
				t.Fatalf("Kv[%d][%d] = %g, want %g", r, i, kv[r*24+i], s)
			}
		}
	}
	u := make([]float32, k*24)
	info, err := mf.Solve(context.Background(), u, v, k, rng)
	if err != nil {
		t.Fatal(err)
	}
	var kinv mat.Dense
	kinv.Inverse(dm.k)
	for r := 0; r < k; r++ {
		want := mat.NewVecDense(24, nil)
		vr := make([]float64, 24)
		for i := range vr {
			vr[i] = float64(v[r*24+i])
		}
		want.MulVec(&kinv, mat.NewVecDense(24, vr))
		var en, dn float64
		for i := 0; i < 24; i++ {
			d := float64(u[r*24+i]) - want.AtVec(i)
			en += d * d
			dn += want.AtVec(i) * want.AtVec(i)
		}
		// Residual 1e-6 relative times cond(K) ≲ 1e3 here, plus float32.
		if math.Sqrt(en/dn) > 1e-3 {
			t.Fatalf("solve %d: relative error %g (iters %d)", r, math.Sqrt(en/dn), info.Iters[r])
		}
	}
}

// illConditioned builds a problem whose K0 has a fast-decaying spectrum
// (A with singular values 10^(−k/8)) and a tiny noise variance, so that
// cond(K_yy) ≈ 1e6.
func illConditioned(t *testing.T, rng *rand.Rand) (*Problem, *Prior) {
	blocks, n := testBlocks()
	npix, my := 36, 36
	J := randDense(rng, npix, n, 0.3)
	// A = Q diag(s) with Q orthogonal (Gram–Schmidt of a Gaussian matrix).
	q := make([]float64, my*npix)
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	orthonormalise(q, npix, my)
	a := make([]float32, my*npix)
	for i := 0; i < my; i++ {
		s := math.Pow(10, -float64(i)/8)
		for j := 0; j < npix; j++ {
			a[i*npix+j] = float32(s * q[i*npix+j])
		}
	}
	A := linop.NewDense(my, npix, a)
	xhat := randVec(rng, npix, 1)
	y := make([]float32, my)
	A.Apply(y, xhat)
	p := &Problem{J: J, Blocks: blocks, A: A, Y: y, Xhat: xhat}
	pr, _ := NewPrior(blocks, n)
	pr.H.LogNoise = math.Log(1e-3)
	return p, pr
}

func TestPreconditionerReducesCGIterations(t *testing.T) {
	rng := newRNG(t, 31)
	p, pr := illConditioned(t, rng)
	b := randVec(rng, 4*36, 1)
	iters := map[int]int{}
	for _, rank := range []int{-1, 20} {
		mf, _ := NewMatrixFree(p, pr, MatrixFreeSettings{CG: CGSettings{RTol: 1e-5, MaxIter: 500, PrecondRank: rank}})
		u := make([]float32, 4*36)
		info, err := mf.Solve(context.Background(), u, b, 4, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatalf("rank %d: %v", rank, err)
		}
		iters[rank] = info.MaxIters()
	}
	t.Logf("CG iterations: none %d, Nyström rank 20: %d", iters[-1], iters[20])
	if !(iters[20] < iters[-1]/2) {
		t.Fatalf("preconditioned CG took %d iterations, unpreconditioned %d", iters[20], iters[-1])
	}
	// And a budget far too small must be reported, not hidden.
	mf, _ := NewMatrixFree(p, pr, MatrixFreeSettings{CG: CGSettings{RTol: 1e-8, MaxIter: 3, PrecondRank: -1}})
	u := make([]float32, 36)
	if _, err := mf.Solve(context.Background(), u, b[:36], 1, rng); !errors.Is(err, ErrCGNotConverged) {
		t.Fatalf("3 iterations at RTol 1e-8: err = %v, want ErrCGNotConverged", err)
	}
	for _, v := range u {
		if math.IsNaN(float64(v)) {
			t.Fatal("NaN in unconverged solution")
		}
	}
}

func TestMatheronSampleCovarianceConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("20k samples")
	}
	testMatheron(t, 20000, false)
}

func TestMatheronSampleCovarianceShort(t *testing.T) { testMatheron(t, 4000, false) }

func TestExactSampleCovariance(t *testing.T) { testMatheron(t, 4000, true) }

func testMatheron(t *testing.T, k int, exact bool) {
	rng := newRNG(t, 32)
	p, pr := testProblem(t, rng, 20)
	randomHyper(pr, rng)
	s := make([]float32, k*36)
	if exact {
		e, err := NewExact(context.Background(), p, pr, ExactSettings{Batch: 250})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Samples(context.Background(), s, k, rng); err != nil {
			t.Fatal(err)
		}
	} else {
		mf, _ := NewMatrixFree(p, pr, MatrixFreeSettings{Batch: 250, CG: CGSettings{RTol: 1e-7, PrecondRank: 10}})
		if _, err := mf.Samples(context.Background(), s, k, rng); err != nil {
			t.Fatal(err)
		}
	}
	post := newDenseModel(p, pr).post
	// Entry (i,j) of a zero-mean Gaussian sample covariance from k draws
	// has standard deviation √((Σ_ii Σ_jj + Σ_ij²)/k); allow 5 of them.
	var worst float64
	for i := 0; i < 36; i++ {
		for j := i; j < 36; j++ {
			var c float64
			for r := 0; r < k; r++ {
				c += float64(s[r*36+i]) * float64(s[r*36+j])
			}
			c /= float64(k)
			want := post.At(i, j)
			sd := math.Sqrt((post.At(i, i)*post.At(j, j) + want*want) / float64(k))
			worst = math.Max(worst, math.Abs(c-want)/sd)
			if math.Abs(c-want) > 5*sd {
				t.Fatalf("sample cov[%d,%d] = %g, exact %g (sd %g)", i, j, c, want, sd)
			}
		}
	}
	t.Logf("k=%d: worst deviation %.2f standard errors", k, worst)
}

func TestMatrixFreeAgreesWithExact(t *testing.T) {
	rng := newRNG(t, 33)
	p, pr := testProblem(t, rng, 20)
	randomHyper(pr, rng)
	ex, err := NewExact(context.Background(), p, pr, ExactSettings{})
	if err != nil {
		t.Fatal(err)
	}
	mf, _ := NewMatrixFree(p, pr, MatrixFreeSettings{Batch: 500, CG: CGSettings{RTol: 1e-7, PrecondRank: 10}})

	// Variances from k samples: relative standard error √(2/k) ≈ 0.022 for
	// k = 4000; allow 5 of them per pixel.
	const k = 4000
	ve := make([]float64, 36)
	vm := make([]float64, 36)
	if err := ex.Variances(context.Background(), ve); err != nil {
		t.Fatal(err)
	}
	if err := mf.Variances(context.Background(), vm, k, rng); err != nil {
		t.Fatal(err)
	}
	for i := range ve {
		if relDiff(vm[i], ve[i]) > 5*math.Sqrt(2.0/k) {
			t.Fatalf("pixel %d: matrix-free variance %g, exact %g", i, vm[i], ve[i])
		}
	}

	// Log-det gradient: Hutchinson with p Rademacher probes estimates
	// tr(K⁻¹∂K) with variance 2(‖M‖_F² − Σ M_ii²)/p, M = sym(K⁻¹∂K);
	// compare each component of ½tr(·) within 5 of those standard errors.
	const probes = 2000
	var ge, gm Hyper
	if _, err := ex.Loss(&ge); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mf.LossGrad(context.Background(), &gm, probes, rng); err != nil {
		t.Fatal(err)
	}
	dK := exactDerivatives(ex)
	var kinv mat.Dense
	kinv.Inverse(newDenseModel(p, pr).k)
	hi := hyperParams(pr)
	fe, fm := hi.get(&ge), hi.get(&gm)
	for i := range fe {
		var mm, sym mat.Dense
		mm.Mul(&kinv, dK[i])
		sym.Add(&mm, mm.T())
		sym.Scale(0.5, &sym)
		fro := mat.Norm(&sym, 2)
		var diag2 float64
		for j := 0; j < 20; j++ {
			diag2 += sym.At(j, j) * sym.At(j, j)
		}
		sd := 0.5 * math.Sqrt(2*(fro*fro-diag2)/probes)
		if math.Abs(fe[i]-fm[i]) > 5*sd+1e-4*math.Abs(fe[i]) {
			t.Errorf("%s: Hutchinson gradient %g, exact %g (sd %g)", hi.names[i], fm[i], fe[i], sd)
		}
	}
}

// exactDerivatives returns ∂K_yy/∂(each flat hyperparameter) as dense
// matrices, from the precomputed terms.
func exactDerivatives(e *Exact) []*mat.Dense {
	hi := hyperParams(e.Prior)
	m := e.my
	out := make([]*mat.Dense, len(hi.names))
	for i := range out {
		out[i] = mat.NewDense(m, m, nil)
	}
	w, dwl := e.weights(e.Prior.H)
	add := func(d *mat.Dense, c float64, pk []float32) {
		for i := 0; i < m; i++ {
			for j := i; j < m; j++ {
				v := c * float64(pk[packOff(i, m)+j-i])
				d.Set(i, j, d.At(i, j)+v)
				if i != j {
					d.Set(j, i, d.At(j, i)+v)
				}
			}
		}
	}
	for t, tm := range e.terms {
		pk := e.termPacked(t)
		add(out[hi.varIdx[tm.block]], w[t], pk)
		if k := hi.lenIdx[tm.block]; k >= 0 {
			add(out[k], dwl[t], pk)
		}
	}
	for i := 0; i < m; i++ {
		out[hi.noiseIdx].Set(i, i, e.Prior.H.NoiseVar())
	}
	return out
}

func TestMatrixFreeFitReachesExactOptimum(t *testing.T) {
	rng := newRNG(t, 34)
	p, pr := testProblem(t, rng, 30)
	for i := range pr.H.LogVar {
		pr.H.LogVar[i] = 2 // start far from the optimum
	}
	pr.H.LogNoise = 1
	h0 := pr.H.Clone()
	ctx := context.Background()
	e, _ := NewExact(ctx, p, pr, ExactSettings{})
	s := MLLSettings{Steps: 800, LR: 0.05}
	if _, err := e.Fit(ctx, s, nil, nil); err != nil {
		t.Fatal(err)
	}
	lEx, _ := e.Loss(nil)
	hEx := pr.H.Clone()
	pr.H = h0.Clone()
	mf, _ := NewMatrixFree(p, pr, MatrixFreeSettings{Probes: 16, CG: CGSettings{RTol: 1e-6}})
	if _, err := mf.Fit(ctx, s, rng, nil); err != nil {
		t.Fatal(err)
	}
	lMf, _ := e.Loss(nil) // exact objective at the matrix-free hyperparameters
	t.Logf("exact fit L = %.4f, matrix-free fit L = %.4f\nexact %v\nmf    %v", lEx, lMf, hEx.flatten(pr), pr.H.flatten(pr))
	// Adam with noisy (16-probe) gradients hovers around the optimum; at a
	// quadratic minimum a hyperparameter error δ costs ½·curvature·δ², so
	// half a nat over 7 hyperparameters is a generous bound that a wrong
	// gradient would still miss (the starting point is far worse).
	l0 := func() float64 { pr.H = h0.Clone(); l, _ := e.Loss(nil); return l }()
	t.Logf("start L = %.4f", l0)
	if l0-lEx < 5 {
		t.Fatalf("start %g is too close to the optimum %g for this test to mean anything", l0, lEx)
	}
	if lMf-lEx > 0.5 {
		t.Fatalf("matrix-free fit ends at L = %g, exact optimum %g (start %g)", lMf, lEx, l0)
	}
}
