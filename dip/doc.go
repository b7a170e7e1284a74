// Package dip is the deep image prior for sparse-view CT (DESIGN.md §4):
// bayes_dip's U-Net (Arch, presets "small", "medium", "large"), its
// Jacobian with respect to the conv weights as a linop.BatchOperator (what
// the linearised Laplace model consumes), and the DIP fit itself.
//
// # Fit
//
// Fit minimises ‖A f(θ) − y‖²/m + γ·TV(f(θ)) over the network parameters θ
// with Adam (lr 1e-4, gradient norm clipped to 1) and returns the iterate
// with the lowest loss. The paper's iteration counts overfit, so stopping
// is what matters: with the noise level σ known (from the scan file) or
// estimated (EstimateNoiseStd), the discrepancy principle stops at
// ‖Af − y‖²/m ≤ τσ²; with FitSettings.HoldOut a random subset of the data
// chooses the iterate instead. The whole state of a fit (FitState) is
// plain slices and scalars, so it can be stored and resumed bit-identically.
//
// # Jacobian
//
// UNet.Jacobian(θ*, z) is J = ∂f/∂w at θ* (m = N² pixels, n = number of conv
// weights), with the weights ordered so that each nn.PriorBlock ("in",
// "down<i>", "up<i>" for the 3×3 convs of each block, "skip<i>" and "out"
// for the 1×1 convs) is contiguous. ApplyBatch is a batched JVP,
// AdjointBatch a batched VJP.
//
// # Sampled baselines
//
// The uncertainty baselines the linearised model is compared against
// (DESIGN.md §5) live here because they are DIPs themselves: MCDropout
// (a DIP fitted with channel dropout, the moments of k stochastic passes)
// and SGLD (DIP-SGLD: Langevin dynamics over the trained network's
// parameters with the DIP's loss as the likelihood, Metropolis-adjusted so
// that the step size changes how fast the chain mixes, not what it
// samples). Both return a pixelwise mean and variance.
//
// # Stored model
//
// Model is a trained DIP as a reconstruction file holds it under /dip
// (architecture, input, parameters and output scale per slice); ReadModel
// rebuilds and checks it, Model.Slice gives one slice's network.
//
// Example:
//
//	arch, _ := dip.Preset("small")
//	net, _ := dip.NewUNet(arch, 32)
//	s := dip.DefaultFitSettings(32, 20, 0.05)
//	s.NoiseStd = sigma     // from the scan file, or dip.EstimateNoiseStd
//	s.Input = fbp          // the FBP of y; nil for z = 0.1·N(0,1)
//	res, err := dip.Fit(ctx, net, projector, y, s, nil)
//	J, _ := net.Jacobian(res.Params, res.State.Input)
package dip
