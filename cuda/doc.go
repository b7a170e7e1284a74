// Package cuda runs ctrecon's projector on an NVIDIA GPU, loaded at run
// time so that one binary runs with or without one.
//
// The driver library (libcuda.so.1) and NVRTC (libnvrtc.so.13, .12, then
// the unversioned name) are opened with purego, without cgo: the package
// builds and its tests run (skipping the GPU ones) on machines with no
// CUDA at all, and `CGO_ENABLED=0 go test -c ./cuda` gives a static test
// binary to carry to a GPU machine. Open fails with an error wrapping
// ErrNoDevice when there is no driver, no device or no NVRTC; callers fall
// back to radon's CPU projector.
//
// Open retains the device's primary context and runs every driver call on
// one goroutine locked to its OS thread (a CUDA context is current per
// thread). The kernels (kernels.go) are CUDA C compiled by NVRTC to a CUBIN
// for the device's own architecture, once per process, with --fmad=false.
// They are written line by line from radon's CPU references
// (RayTable.applyRays, the ray-driven forward; adjointGather, the
// pixel-driven transpose, with no atomics), which equal radon.Projector
// bit for bit; so the GPU projector is the same exact matched pair A, Aᵀ,
// deterministic run to run. The transpose finds each pixel's first ray by a
// guess from host-computed run hints and an exact walk (the ray bisection
// would find); FBP's back-projections (parallel and fan beam) run here too.
// On an H200 every GPU test gave the CPU's numbers bit for bit
// (docs/BENCHMARKS.md has the timings).
//
// What is tested without a GPU: the kernels run on the host (g++, no FMA)
// equal radon bit for bit, and a fake libcuda/NVRTC built by the tests
// (device memory in host memory, launches run the host-compiled kernels)
// takes the whole Go side through Open, compilation, copies and launches
// with the same result, and through a faulting launch. What needs a GPU
// (TestGPU*, the benchmarks; scripts/gpu-check.sh runs them): CUDA itself.
// CTRECON_CUDA_LIBDIR (LibDirEnv) names a folder searched first for the
// libraries.
//
// A kernel fault is an error, never a crash: a sticky fault (illegal
// address, launch failure) disables the device for the rest of the
// process, and Projector's linop methods, which cannot return errors, then
// compute on the CPU and keep the first error for Err.
//
// It is its own package because it is the only code that talks to a
// device; radon stays pure Go and knows nothing of GPUs.
package cuda
