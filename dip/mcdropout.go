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
	sum := make([]float64, n*n)
	sq := make([]float64, n*n)
	for r := 0; r < k; r++ {
		u.Forward(out, res.Params, res.State.Input)
		for i, v := range out {
			sum[i] += float64(v)
			sq[i] += float64(v) * float64(v)
		}
	}
	mean := make([]float32, n*n)
	variance := make([]float64, n*n)
	for i := range sum {
		m := sum[i] / float64(k)
		mean[i] = float32(m)
		variance[i] = math.Max(sq[i]/float64(k)-m*m, 1e-12)
	}
	return mean, variance, nil
}
