// Package sgemm is ctrecon's own single-precision GEMM for CPUs with
// AVX-512: two assembly micro-kernels (an 8×48 broadcast kernel for
// op(B) = B and a 4×6 dot-product kernel for op(B) = Bᵀ) and their
// blocking loops. Package blas calls Compute first and falls back to
// OpenBLAS when it declines.
//
// It is a package of its own because Go assembly cannot live in a package
// that uses cgo (package blas links OpenBLAS). Why it exists at all: the
// conv layers spend two thirds of their time in GEMM, OpenBLAS picks its
// kernels at load time from the CPU or from OPENBLAS_CORETYPE (pinned to
// the AVX2 "Haswell" set on the development machine), and its AVX2
// kernels run our conv shapes at ~60% of the AVX-512 speed
// (docs/BENCHMARKS.md). Setting CTRECON_GEMM=openblas turns it off.
package sgemm
