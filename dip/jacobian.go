package dip

import (
	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/nn"
)

// Jacobian is J = ∂f/∂w of the U-Net output f (N² pixels) with respect to
// its conv weights w (the first NumConvWeights parameters, ordered so that
// each PriorBlock is contiguous), at fixed parameters θ* and input z;
// biases and norm parameters stay fixed. It is a linop.BatchOperator with
// m = N², n = NumConvWeights: ApplyBatch is a batched JVP, AdjointBatch a
// batched VJP (one GEMM per conv for the whole batch).
//
// A Jacobian owns its own network copy, so it does not disturb the UNet it
// came from; it is not safe for concurrent use.
type Jacobian struct {
	u    *UNet
	m, n int
}

var _ linop.BatchOperator = (*Jacobian)(nil)

// Jacobian linearises the network at parameters p and input x. It copies
// neither p nor x: they must not change while the Jacobian is in use.
func (u *UNet) Jacobian(p, x []float32) (*Jacobian, error) {
	v, err := NewUNet(u.Arch, u.N)
	if err != nil {
		return nil, err
	}
	v.SetOutputScale(u.OutputScale())
	v.Forward(nil, p, x)
	return &Jacobian{u: v, m: u.N * u.N, n: v.NumConvWeights()}, nil
}

func (j *Jacobian) Dims() (int, int) { return j.m, j.n }

// Output is f(θ*), the network output at the linearisation point.
func (j *Jacobian) Output() []float32 { return j.u.Net.Output() }

// PriorBlocks lists the blocks of the input (weight) vector.
func (j *Jacobian) PriorBlocks() []nn.PriorBlock { return j.u.PriorBlocks() }

func (j *Jacobian) Apply(dst, x []float32) { j.ApplyBatch(dst, x, 1) }

func (j *Jacobian) Adjoint(dst, y []float32) { j.AdjointBatch(dst, y, 1) }

// ApplyBatch computes dst[b] = J x[b] for k weight vectors (len k·n) into k
// images (len k·m).
func (j *Jacobian) ApplyBatch(dst, x []float32, k int) {
	j.u.Net.JVP(dst, x, j.n, nil, k)
}

// AdjointBatch computes dst[b] = Jᵀ y[b] for k images into k weight vectors.
func (j *Jacobian) AdjointBatch(dst, y []float32, k int) {
	j.u.Net.VJP(dst, j.n, nil, y, k)
}
