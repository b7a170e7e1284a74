// Package linop defines the linear-operator vocabulary shared by ctrecon:
// the ray transform, the network Jacobian at the trained weights and the
// covariance sandwiches of the linearised model are all Operators, so one
// adjoint test (AdjointError) covers every one of them.
//
// Vectors are flat []float32 slices. A batch of k vectors of length n is one
// slice of length k·n, vector b occupying [b·n, (b+1)·n).
//
// Caller mistakes (wrong lengths) panic with ErrShape; nothing here returns
// errors because nothing here meets run-time conditions.
package linop
