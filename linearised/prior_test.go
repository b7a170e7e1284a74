package linearised

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// Float32 inputs/outputs with float64 internals: agreement to a few float32
// ulps of the largest entry.
const f32tol = 1e-5

func TestPriorCovMatchesDense(t *testing.T) {
	rng := newRNG(t, 1)
	blocks, n := testBlocks()
	pr, err := NewPrior(blocks, n)
	if err != nil {
		t.Fatal(err)
	}
	randomHyper(pr, rng)
	D := pr.Dense()
	// The Matérn-½ kernel itself: K_ij = exp(−‖c_i−c_j‖/ℓ) (+1e-6 on the diagonal).
	ell := math.Exp(pr.H.LogLen[0])
	km := pr.FilterCov(0)
	for i := 0; i < 9; i++ {
		for j := 0; j < 9; j++ {
			dy, dx := float64(i/3-j/3), float64(i%3-j%3)
			want := math.Exp(-math.Hypot(dy, dx) / ell)
			if i == j {
				want += 1e-6
			}
			if math.Abs(km[i*9+j]-want) > 1e-15 {
				t.Fatalf("K[%d,%d] = %g, want %g", i, j, km[i*9+j], want)
			}
		}
	}
	const k = 3
	x := randVec(rng, k*n, 1)
	got := make([]float32, k*n)
	pr.Cov(got, x, k)
	for r := 0; r < k; r++ {
		for i := 0; i < n; i++ {
			var s, scale float64
			for j := 0; j < n; j++ {
				s += D[i*n+j] * float64(x[r*n+j])
				scale += math.Abs(D[i*n+j] * float64(x[r*n+j]))
			}
			if math.Abs(float64(got[r*n+i])-s) > f32tol*scale {
				t.Fatalf("Σx[%d][%d] = %g, want %g", r, i, got[r*n+i], s)
			}
		}
	}
}

func TestPriorSqrtSquaredIsCov(t *testing.T) {
	rng := newRNG(t, 2)
	blocks, n := testBlocks()
	pr, _ := NewPrior(blocks, n)
	randomHyper(pr, rng)
	// Assemble Σ^{½} and (Σ^{½})ᵀ column by column.
	eye := make([]float32, n*n)
	for i := 0; i < n; i++ {
		eye[i*n+i] = 1
	}
	sq := make([]float32, n*n)
	sqt := make([]float32, n*n)
	inv := make([]float32, n*n)
	pr.Sqrt(sq, eye, n) // row r holds Σ^{½} e_r, i.e. column r
	pr.SqrtT(sqt, eye, n)
	pr.Inv(inv, eye, n)
	S := mat.NewDense(n, n, nil)
	ST := mat.NewDense(n, n, nil)
	for r := 0; r < n; r++ {
		for i := 0; i < n; i++ {
			S.Set(i, r, float64(sq[r*n+i]))
			ST.Set(i, r, float64(sqt[r*n+i]))
		}
	}
	D := mat.NewDense(n, n, pr.Dense())
	var ssT mat.Dense
	ssT.Mul(S, S.T())
	if !mat.EqualApprox(&ssT, D, f32tol*mat.Max(D)) {
		t.Fatalf("Σ^{½}(Σ^{½})ᵀ differs from Σ")
	}
	if !mat.EqualApprox(ST, S.T(), 1e-7) {
		t.Fatalf("SqrtT is not the transpose of Sqrt")
	}
	// Σ⁻¹Σ = I; tolerance from float32 rounding times cond(K) (ℓ ≤ 2.3 keeps
	// cond below ~1e3).
	Inv := mat.NewDense(n, n, nil)
	for r := 0; r < n; r++ {
		for i := 0; i < n; i++ {
			Inv.Set(i, r, float64(inv[r*n+i]))
		}
	}
	var id mat.Dense
	id.Mul(Inv, D)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(id.At(i, j)-want) > 1e-3 {
				t.Fatalf("(Σ⁻¹Σ)[%d,%d] = %g", i, j, id.At(i, j))
			}
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(n, pr.Dense())) {
		t.Fatal("dense Σ not SPD")
	}
	if d := math.Abs(chol.LogDet() - pr.LogDet()); d > 1e-9*math.Abs(chol.LogDet())+1e-9 {
		t.Fatalf("LogDet = %g, dense %g", pr.LogDet(), chol.LogDet())
	}
}

func TestPriorSampleCovariance(t *testing.T) {
	rng := newRNG(t, 3)
	blocks, n := testBlocks()
	pr, _ := NewPrior(blocks, n)
	randomHyper(pr, rng)
	const k = 20000
	s := make([]float32, k*n)
	pr.Sample(s, k, rng)
	D := pr.Dense()
	// Sample variances: relative standard error √(2/k) ≈ 0.01; 5 standard
	// errors over 70 entries.
	for i := 0; i < n; i++ {
		var v float64
		for r := 0; r < k; r++ {
			v += float64(s[r*n+i]) * float64(s[r*n+i])
		}
		v /= k
		if relDiff(v, D[i*n+i]) > 5*math.Sqrt(2.0/k) {
			t.Fatalf("sample variance %d = %g, want %g", i, v, D[i*n+i])
		}
	}
}

func TestNewPriorRejectsBadBlocks(t *testing.T) {
	blocks, n := testBlocks()
	if _, err := NewPrior(blocks, n+1); err == nil {
		t.Error("uncovered weight accepted")
	}
	bad := append(blocks[:0:0], blocks...)
	bad[0].Len = 35
	if _, err := NewPrior(bad, n); err == nil {
		t.Error("3×3 block of length 35 accepted")
	}
}
