package linearised

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/nn"
)

// Problem is one linearised DIP reconstruction: the Jacobian at the trained
// weights, the prior blocks over its input, the ray transform, the data and
// the DIP reconstruction (the predictive mean).
type Problem struct {
	// J is ∂f/∂θ at θ*, N² × n (n conv weights). A linop.BatchOperator
	// (batched JVP/VJP) is used batched.
	J linop.Operator
	// Blocks partition J's input into prior blocks (nn.PriorBlock).
	Blocks []nn.PriorBlock
	// A is the ray transform, m_y × N².
	A linop.Operator
	// Y is the measured data, length m_y.
	Y []float32
	// Xhat is the DIP reconstruction f(θ*), length N².
	Xhat []float32
	// Theta is θ̄ of the MLL prior term ½θ̄ᵀΣ_θ⁻¹θ̄, length n. bayes_dip's
	// default (use_linearized_weights = False) is the trained conv weights θ*;
	// its alternative is weights fitted to the linearised model. Nil means
	// zero (no prior term), which only suits tests.
	Theta []float32
	// PriorMean is the mean of the prior on the conv weights, length n; nil
	// means zero. The model is linear in θ − PriorMean, so every use of θ̄
	// above (the prior term, the data the linear model explains) takes
	// Theta − PriorMean. Centring it at the DIP's initial weights θ₀ makes
	// the prior describe how far training moved the network rather than
	// the size of its random initialisation, which an early-stopped DIP
	// has barely left (docs/studies/uq-128.md).
	PriorMean []float32
}

// dims returns m_y, N² and n after checking that the shapes agree.
func (p *Problem) dims() (my, npix, n int, err error) {
	if p.J == nil || p.A == nil {
		return 0, 0, 0, errors.New("linearised: Problem needs J and A")
	}
	npix, n = p.J.Dims()
	my, an := p.A.Dims()
	switch {
	case an != npix:
		return 0, 0, 0, fmt.Errorf("linearised: A has %d columns but J has %d rows", an, npix)
	case len(p.Y) != my:
		return 0, 0, 0, fmt.Errorf("linearised: y has length %d, want %d", len(p.Y), my)
	case len(p.Xhat) != npix:
		return 0, 0, 0, fmt.Errorf("linearised: x̂ has length %d, want %d", len(p.Xhat), npix)
	case p.Theta != nil && len(p.Theta) != n:
		return 0, 0, 0, fmt.Errorf("linearised: θ̄ has length %d, want %d", len(p.Theta), n)
	case p.PriorMean != nil && len(p.PriorMean) != n:
		return 0, 0, 0, fmt.Errorf("linearised: prior mean has length %d, want %d", len(p.PriorMean), n)
	}
	return my, npix, n, nil
}

// residual2 returns ‖y − A x̂‖² in float64.
func (p *Problem) residual2() float64 {
	my, _ := p.A.Dims()
	ax := make([]float32, my)
	p.A.Apply(ax, p.Xhat)
	var s float64
	for i, v := range ax {
		d := float64(p.Y[i]) - float64(v)
		s += d * d
	}
	return s
}

// theta returns θ̄ − PriorMean (zeros where either is nil).
func (p *Problem) theta(n int) []float32 {
	if p.PriorMean == nil {
		if p.Theta != nil {
			return p.Theta
		}
		return make([]float32, n)
	}
	d := make([]float32, n)
	if p.Theta != nil {
		copy(d, p.Theta)
	}
	for i, m := range p.PriorMean {
		d[i] -= m
	}
	return d
}

// Progress receives the step number (from 1) and the current objective of
// an iterative fit. It must not retain references to anything.
type Progress func(step int, loss float64)

func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}
