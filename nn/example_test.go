package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/nn"
)

func ExampleBuilder() {
	b := nn.NewBuilder(nn.Shape{C: 1, H: 8, W: 8})
	b.SetBlock("in")
	h := b.Add("conv0", &nn.Conv2D{Out: 4, K: 3, Stride: 1}, b.Input())
	h = b.Add("act0", &nn.LeakyReLU{Slope: 0.2}, h)
	b.SetBlock("out")
	h = b.Add("conv", &nn.Conv2D{Out: 1, K: 1, Stride: 1}, h)
	net := b.Build(h)

	p := make([]float32, net.NumParams())
	net.Init(p, rand.New(rand.NewPCG(1, 2)))
	x := make([]float32, 64)
	net.Forward(nil, p, x)
	// Gradient of the first output pixel w.r.t. the conv weights only.
	dy := make([]float32, 64)
	dy[0] = 1
	g := make([]float32, net.NumConvWeights())
	net.VJP(g, net.NumConvWeights(), nil, dy, 1)

	fmt.Println(net.NumParams(), net.NumConvWeights())
	for _, pb := range net.PriorBlocks() {
		fmt.Println(pb.Name, pb.Kernel, pb.Offset, pb.Len)
	}
	// Output:
	// 45 40
	// in 3 0 36
	// out 1 36 4
}
