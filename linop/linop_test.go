package linop

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randDense(m, n int, rng *rand.Rand) *Dense {
	d := make([]float32, m*n)
	for i := range d {
		d[i] = float32(rng.NormFloat64())
	}
	return NewDense(m, n, d)
}

func TestDenseAdjointExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := randDense(7, 5, rng)
	// float32 inputs, float64 accumulation: rounding only at the output.
	if e := AdjointError(a, rng); e > 1e-6 {
		t.Fatalf("adjoint error %g > 1e-6", e)
	}
}

func TestAdjointErrorDetectsWrongTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := randDense(6, 6, rng)
	b := randDense(6, 6, rng)
	wrong := mixed{a, b}
	if e := AdjointError(wrong, rng); e < 1e-2 {
		t.Fatalf("adjoint error of mismatched pair is %g, should be large", e)
	}
}

type mixed struct{ f, b *Dense }

func (m mixed) Dims() (int, int)         { return m.f.Dims() }
func (m mixed) Apply(dst, x []float32)   { m.f.Apply(dst, x) }
func (m mixed) Adjoint(dst, y []float32) { m.b.Adjoint(dst, y) }

func TestComposeMatchesProduct(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := randDense(4, 3, rng)
	b := randDense(3, 5, rng)
	c := Assemble(Compose(a, b))
	for i := 0; i < 4; i++ {
		for j := 0; j < 5; j++ {
			var s float64
			for k := 0; k < 3; k++ {
				s += float64(a.Data[i*3+k]) * float64(b.Data[k*5+j])
			}
			if math.Abs(s-float64(c.Data[i*5+j])) > 1e-5*(1+math.Abs(s)) {
				t.Fatalf("(%d,%d): got %g want %g", i, j, c.Data[i*5+j], s)
			}
		}
	}
	if e := AdjointError(Compose(a, b), rng); e > 1e-6 {
		t.Fatalf("composition adjoint error %g", e)
	}
}

func TestBatchFallbackMatchesLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	a := randDense(4, 3, rng)
	x := make([]float32, 2*3)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	dst := make([]float32, 2*4)
	ApplyBatch(a, dst, x, 2)
	one := make([]float32, 4)
	for b := 0; b < 2; b++ {
		a.Apply(one, x[b*3:(b+1)*3])
		for i := range one {
			if one[i] != dst[b*4+i] {
				t.Fatalf("batch %d row %d: %g vs %g", b, i, dst[b*4+i], one[i])
			}
		}
	}
}

func TestShapePanics(t *testing.T) {
	a := NewDense(2, 3, make([]float32, 6))
	defer func() {
		if recover() == nil {
			t.Fatal("Apply with wrong length did not panic")
		}
	}()
	a.Apply(make([]float32, 3), make([]float32, 3))
}
