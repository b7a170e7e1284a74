package linop

import "fmt"

// ErrShape is the panic value (wrapped with details) for slices whose
// lengths do not match an operator's dimensions.
var ErrShape = fmt.Errorf("linop: dimension mismatch")

// Operator is a linear map from R^n to R^m on flat float32 slices.
// Adjoint is the plain Euclidean transpose. dst must not alias the input.
type Operator interface {
	Dims() (m, n int)
	Apply(dst, x []float32)   // dst = A x   (len(dst)=m, len(x)=n)
	Adjoint(dst, y []float32) // dst = Aᵀ y  (len(dst)=n, len(y)=m)
}

// BatchOperator is an Operator that is faster on k vectors at once (one GEMM
// per layer, one ray traversal for many slices). x holds k vectors of length
// n back to back, dst k vectors of length m (ApplyBatch) and vice versa.
type BatchOperator interface {
	Operator
	ApplyBatch(dst, x []float32, k int)
	AdjointBatch(dst, y []float32, k int)
}

// ApplyBatch computes dst[b] = A x[b] for the k vectors in x, using op's
// batched form when it has one.
func ApplyBatch(op Operator, dst, x []float32, k int) {
	m, n := op.Dims()
	checkLen("ApplyBatch dst", len(dst), k*m)
	checkLen("ApplyBatch x", len(x), k*n)
	if b, ok := op.(BatchOperator); ok {
		b.ApplyBatch(dst, x, k)
		return
	}
	for i := 0; i < k; i++ {
		op.Apply(dst[i*m:(i+1)*m], x[i*n:(i+1)*n])
	}
}

// AdjointBatch computes dst[b] = Aᵀ y[b] for the k vectors in y.
func AdjointBatch(op Operator, dst, y []float32, k int) {
	m, n := op.Dims()
	checkLen("AdjointBatch dst", len(dst), k*n)
	checkLen("AdjointBatch y", len(y), k*m)
	if b, ok := op.(BatchOperator); ok {
		b.AdjointBatch(dst, y, k)
		return
	}
	for i := 0; i < k; i++ {
		op.Adjoint(dst[i*n:(i+1)*n], y[i*m:(i+1)*m])
	}
}

// CheckDims panics with ErrShape unless len(dst)=m and len(x)=n for Apply
// (forward=true) or len(dst)=n and len(x)=m for Adjoint.
func CheckDims(op Operator, dst, x []float32, forward bool) {
	m, n := op.Dims()
	if !forward {
		m, n = n, m
	}
	checkLen("dst", len(dst), m)
	checkLen("input", len(x), n)
}

func checkLen(what string, got, want int) {
	if got != want {
		panic(fmt.Errorf("%w: %s has length %d, want %d", ErrShape, what, got, want))
	}
}
