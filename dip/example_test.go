package dip_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/linop"
)

func ExampleFit() {
	const n = 16
	// A toy "projector": the identity (a denoising problem).
	data := make([]float32, n*n*n*n)
	for i := 0; i < n*n; i++ {
		data[i*n*n+i] = 1
	}
	A := linop.NewDense(n*n, n*n, data)
	rng := rand.New(rand.NewPCG(1, 2))
	y := make([]float32, n*n)
	for i := range y {
		if i%n > 4 && i%n < 12 && i/n > 4 && i/n < 12 {
			y[i] = 1
		}
		y[i] += float32(0.05 * rng.NormFloat64())
	}

	arch, _ := dip.Preset("small")
	net, err := dip.NewUNet(arch, n)
	if err != nil {
		panic(err)
	}
	s := dip.FitSettings{MaxIter: 600, NoiseStd: 0.05, Seed: 1, ProgressEvery: 100}
	var misfit []float64
	res, err := dip.Fit(context.Background(), net, A, y, s, func(p dip.FitProgress) {
		misfit = append(misfit, p.DataFit)
	})
	if err != nil {
		panic(err)
	}
	J, _ := net.Jacobian(res.Params, res.State.Input)
	m, nw := J.Dims()
	// The misfit falls towards the noise level σ² = 0.0025.
	fmt.Println(res.Reason, res.Iter, misfit[len(misfit)-1] < misfit[0]/10)
	fmt.Println(m, nw, len(J.PriorBlocks()))
	// Output:
	// max-iter 600 true
	// 256 76608 8
}
