// Package vec holds the elementwise loops of the network layers (affine
// maps, LeakyReLU factors, sums in float64) as AVX-512 assembly, with
// plain Go loops as the fallback on other CPUs.
//
// Why a package: Go does not vectorise loops, and after the GEMMs moved to
// AVX-512 kernels (package sgemm) these passes over the activations were
// a quarter of a forward pass of the large U-Net (GroupNorm alone 15%,
// profile in docs/BENCHMARKS.md). Each function here is one pass over
// memory at 16 lanes; sums accumulate in float64 lanes so that a group
// norm's statistics over 10⁶ pixels keep their precision. Go assembly
// cannot live in a cgo package, hence not in package blas or nn.
//
// Every function takes slices of equal length (it panics otherwise) and
// gives the same result as its Go fallback up to float32 rounding (the
// assembly fuses multiply-adds).
package vec
