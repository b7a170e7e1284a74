package dip

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/linop"
)

// MCDropout is the MC-dropout baseline: a DIP fitted with channel dropout
// (p = 0.05 after every conv), and the mean and variance of k stochastic
// forward passes of the trained network.
func MCDropout(ctx context.Context, arch Arch, n int, A linop.Operator, y []float32, s FitSettings, k int, seed uint64) ([]float32, []float64, error) {
	arch.DropoutP = 0.05
	u, err := NewUNet(arch, n)
	if err != nil {
		return nil, nil, err
	}
	u.SetDropout(rand.New(rand.NewPCG(seed, 0x64726f70)))
	res, err := Fit(ctx, u, A, y, s, nil)
	if err != nil {
		return nil, nil, err
	}
	out := make([]float32, n*n)
	mo := newMoments(n * n)
	for r := 0; r < k; r++ {
		u.Forward(out, res.Params, res.State.Input)
		mo.add(out)
	}
	mean, variance := mo.result()
	return mean, variance, nil
}

// moments accumulates the pixelwise mean and variance of sampled images.
type moments struct {
	sum, sq []float64
	k       int
}

func newMoments(n int) *moments {
	return &moments{sum: make([]float64, n), sq: make([]float64, n)}
}

func (m *moments) add(img []float32) {
	for i, v := range img {
		m.sum[i] += float64(v)
		m.sq[i] += float64(v) * float64(v)
	}
	m.k++
}

// result returns the mean and the (biased) variance, floored at 1e-12 so
// that a pixel no sample moved still has a finite log-likelihood.
func (m *moments) result() ([]float32, []float64) {
	mean := make([]float32, len(m.sum))
	variance := make([]float64, len(m.sum))
	for i := range m.sum {
		mu := m.sum[i] / float64(m.k)
		mean[i] = float32(mu)
		variance[i] = math.Max(m.sq[i]/float64(m.k)-mu*mu, 1e-12)
	}
	return mean, variance
}
