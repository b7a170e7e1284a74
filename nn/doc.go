// Package nn is ctrecon's small network engine: the layers the deep image
// prior's U-Net needs (Conv2D as im2col + GEMM, GroupNorm, LeakyReLU,
// bilinear Upsample2x, Concat with centre crop, clamped and scaled Sigmoid,
// channel Dropout), assembled by a Builder into a Net.
//
// Each layer computes three products, and a Net composes them:
//
//	Forward  y = f(x; p)                     one sample
//	JVP      J·(dx, dp)  forward mode        k tangents at once
//	VJP      Jᵀ·dy       reverse mode        k cotangents at once
//
// A batch of k activations is stored [C][k][H][W], so every conv is one
// GEMM for the whole batch (see Shape). Work is split with par.For; BLAS
// runs single-threaded inside each worker (package internal/blas).
//
// # Parameters
//
// All parameters live in one flat []float32. The conv weights come first,
// grouped by the blocks set with Builder.SetBlock so that each PriorBlock
// (what the linearised Laplace prior is defined on) is one contiguous range;
// Net.PriorBlocks lists them and Net.Param finds a block by name. Passing
// stride = NumConvWeights to JVP/VJP differentiates with respect to the
// conv weights only. Init follows PyTorch's defaults.
//
// Example:
//
//	b := nn.NewBuilder(nn.Shape{C: 1, H: 28, W: 28})
//	b.SetBlock("in")
//	h := b.Add("conv0", &nn.Conv2D{Out: 8, K: 3, Stride: 1}, b.Input())
//	h = b.Add("act0", &nn.LeakyReLU{Slope: 0.2}, h)
//	net := b.Build(h)
//	p := make([]float32, net.NumParams())
//	net.Init(p, rng)
//	net.Forward(y, p, x)
//	net.VJP(grad, net.NumParams(), nil, dy, 1)
package nn
