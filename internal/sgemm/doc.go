// Package sgemm is ctrecon's own single-precision GEMM for CPUs with
// AVX-512 (F and VL): two assembly micro-kernels, an 8×48 broadcast kernel
// for op(B) = B and a 4×6 dot-product kernel for op(B) = Bᵀ, and their
// blocking loops. Neither operand is packed: the kernels read rows in
// place through pointers, which suits the conv layers' shapes (one small
// operand, one long one). Package blas calls Compute first and falls back
// to OpenBLAS when it declines (no AVX-512, op(A)=Aᵀ with op(B)=Bᵀ, or
// CTRECON_GEMM=openblas).
//
// It is a package of its own because Go assembly cannot live in a package
// that uses cgo (package blas links OpenBLAS). Why it exists at all: the
// conv layers spend two thirds of their time in GEMM, and OpenBLAS picks
// its kernels at load time from the CPU or from OPENBLAS_CORETYPE, which
// the development machine's environment pins to the AVX2 "Haswell" set.
// On the conv shapes (docs/BENCHMARKS.md) these kernels run at 221–247
// GFLOPS on one core, OpenBLAS's Haswell kernels at 104–123 and its
// AVX-512 (SkylakeX) ones at 129–208.
package sgemm
