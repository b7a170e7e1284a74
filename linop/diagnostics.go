package linop

import (
	"math"
	"math/rand/v2"
)

// AdjointError returns |⟨Ax,y⟩ − ⟨x,Aᵀy⟩| / (‖A‖‖x‖‖y‖) for Gaussian random x
// and y drawn from rng, with ‖A‖ estimated by power iteration. For an exact
// transpose pair evaluated in float32 it is of the order of float32 rounding
// (1e-7 to 1e-6); an approximate back-projector gives 1e-2 or more.
func AdjointError(op Operator, rng *rand.Rand) float64 {
	m, n := op.Dims()
	x := make([]float32, n)
	y := make([]float32, m)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range y {
		y[i] = float32(rng.NormFloat64())
	}
	ax := make([]float32, m)
	aty := make([]float32, n)
	op.Apply(ax, x)
	op.Adjoint(aty, y)
	lhs := Dot(ax, y)
	rhs := Dot(x, aty)
	norm := OpNorm(op, 30, rng)
	den := norm * math.Sqrt(Dot(x, x)) * math.Sqrt(Dot(y, y))
	if den == 0 {
		return math.Abs(lhs - rhs)
	}
	return math.Abs(lhs-rhs) / den
}

// OpNorm estimates the spectral norm ‖A‖₂ by iters steps of power iteration
// on AᵀA from a random start.
func OpNorm(op Operator, iters int, rng *rand.Rand) float64 {
	m, n := op.Dims()
	v := make([]float32, n)
	av := make([]float32, m)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	var norm float64
	for it := 0; it < iters; it++ {
		nv := math.Sqrt(Dot(v, v))
		if nv == 0 {
			return 0
		}
		for i := range v {
			v[i] = float32(float64(v[i]) / nv)
		}
		op.Apply(av, v)
		norm = math.Sqrt(Dot(av, av))
		op.Adjoint(v, av)
	}
	return norm
}

// Dot returns ⟨a, b⟩ accumulated in float64.
func Dot(a, b []float32) float64 {
	checkLen("Dot", len(b), len(a))
	var s float64
	for i, v := range a {
		s += float64(v) * float64(b[i])
	}
	return s
}
