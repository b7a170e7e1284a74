// Package blas plugs OpenBLAS (through cgo and gonum.org/v1/netlib) into
// gonum's blas32 interface and gives ctrecon one GEMM entry point, Sgemm.
// On CPUs with AVX-512 Sgemm runs ctrecon's own kernels (package
// internal/sgemm) for every layout but Aᵀ·Bᵀ, and OpenBLAS otherwise; the
// environment variable CTRECON_GEMM=openblas forces OpenBLAS.
//
// # Threads
//
// Parallelism comes from par.For, never from OpenBLAS: importing this
// package pins OpenBLAS to one thread, and callers (the conv layers of
// package nn) split a GEMM into column or row chunks, one single-threaded
// Sgemm per par.For worker. One knob, par.SetThreads (the CLI's --threads),
// then governs every parallel loop, and OpenBLAS's pthreads never compete
// with Go's workers for the same cores (measured on the 2-core development
// machine, two thread pools on two cores make small GEMMs erratic, and
// OpenBLAS's spinning threads stall when other processes share the cores:
// package linearised measured 4× slower).
//
// Linking needs libopenblas (Debian: libopenblas-dev).
//
// Example:
//
//	// C (2×2) = A (2×3) · B (3×2)
//	blas.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
package blas
