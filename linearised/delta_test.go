package linearised

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestTopSingularValuesAndDelta(t *testing.T) {
	rng := newRNG(t, 20)
	A := randDense(rng, 30, 36, 1)
	var svd mat.SVD
	if !svd.Factorize(toMat(A), mat.SVDNone) {
		t.Fatal("SVD failed")
	}
	want := svd.Values(nil)
	// Rank 30 = min(m, n): the subspace is the whole row space, exact up to
	// rounding (float32 operator: 1e-5 relative).
	got, err := TopSingularValues(context.Background(), A, SVDSettings{Rank: 30}, rng)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 {
		t.Fatalf("got %d singular values, want 30", len(got))
	}
	for i := range got {
		if relDiff(got[i], want[i]) > 1e-5 {
			t.Fatalf("s[%d] = %g, want %g", i, got[i], want[i])
		}
	}
	// Truncated: the 5 largest after subspace iteration. A Gaussian matrix
	// has slowly decaying singular values, the hard case; 4 iterations with
	// 10 extra dimensions still give them to 1%.
	top, _ := TopSingularValues(context.Background(), A, SVDSettings{Rank: 5}, rng)
	for i := range top {
		if relDiff(top[i], want[i]) > 1e-2 {
			t.Fatalf("truncated s[%d] = %g, want %g", i, top[i], want[i])
		}
	}
	// δ with the full rank equals σ²·mean diag((AᵀA)⁺) computed densely.
	d, _ := ImageNoiseTerm(context.Background(), A, 0.3, SVDSettings{Rank: 30}, rng)
	var ata, pinv mat.Dense
	Am := toMat(A)
	ata.Mul(Am.T(), Am)
	// (AᵀA)⁺ = V S⁻² Vᵀ over the nonzero singular values.
	var full mat.SVD
	full.Factorize(Am, mat.SVDThin)
	var v mat.Dense
	full.VTo(&v)
	s := full.Values(nil)
	sinv := mat.NewDiagDense(len(s), nil)
	for i, x := range s {
		sinv.SetDiag(i, 1/(x*x))
	}
	var tmp mat.Dense
	tmp.Mul(&v, sinv)
	pinv.Mul(&tmp, v.T())
	var tr float64
	for i := 0; i < 36; i++ {
		tr += pinv.At(i, i)
	}
	wantD := 0.3 * tr / 36
	if relDiff(d, wantD) > 1e-4 || math.IsNaN(d) {
		t.Fatalf("δ = %g, want %g", d, wantD)
	}
}
