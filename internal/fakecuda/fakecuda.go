// Package fakecuda builds a stand-in for libcuda.so.1 and NVRTC from C++
// with g++, for tests of the GPU path on machines without a GPU: device
// memory is host memory, "compiling" checks the options and returns a
// token, and cuLaunchKernel runs ctrecon's kernels (compiled into the
// library as host C++) over their grid, unpacking kernelParams by each
// kernel's signature. FAKE_CUDA_FAULT=1 in the environment makes every
// launch fail with CUDA_ERROR_ILLEGAL_ADDRESS; FAKE_CUDA_LOG=FILE appends
// each launched kernel's number to FILE (1 forward, 2 back-projection,
// 3 FBP, 4 transpose).
//
// It is its own (internal) package so that the tests of cuda and of the
// CLI build the same fake; no program imports it.
package fakecuda

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrNoCompiler is returned when g++ is missing (tests skip).
var ErrNoCompiler = errors.New("fakecuda: no g++")

// Build compiles the fake driver around kernels (the CUDA C of package
// cuda) into dir as libcuda.so.1, with libnvrtc.so.12 a link to it; point
// CTRECON_CUDA_LIBDIR at dir to use it.
func Build(dir, kernels string) error {
	gxx, err := exec.LookPath("g++")
	if err != nil {
		return ErrNoCompiler
	}
	src, lib := filepath.Join(dir, "fake.cpp"), filepath.Join(dir, "libcuda.so.1")
	if err := os.WriteFile(src, []byte(Stubs+kernels+driver), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(gxx, "-std=c++17", "-O1", "-ffp-contract=off", "-shared", "-fPIC", "-o", lib, src).CombinedOutput(); err != nil {
		return fmt.Errorf("fakecuda: g++: %v\n%s", err, out)
	}
	return os.Symlink(lib, filepath.Join(dir, "libnvrtc.so.12"))
}

// Stubs let a host C++ compiler take CUDA C: the qualifiers become nothing,
// the built-in indices plain structs, and a block barrier is emulated by
// running a block's threads twice (phase 0 returns at the barrier).
const Stubs = `
#include <cmath>
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
// Host emulation of a block barrier: a block's threads are run once with
// phase 0, returning at the barrier, then again with phase 1 (the first
// part rewrites the same values), so every write before the barrier
// happens before any read after it.
static int phase = 1;
#define __syncthreads() do { if (phase == 0) return; } while (0)
// The GPU's fast division (approximate there; used only for guesses).
static inline float __fdividef(float a, float b) { return a / b; }
struct dim3_ { unsigned x, y, z; };
static dim3_ blockIdx, blockDim, threadIdx;
`

const driver = `
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <string>
typedef int CUresult;
typedef unsigned long long dptr;
static bool fault() { const char* f = getenv("FAKE_CUDA_FAULT"); return f && f[0] == '1'; }
extern "C" {
CUresult cuInit(unsigned) { return 0; }
CUresult cuDriverGetVersion(int* v) { *v = 12080; return 0; }
CUresult cuDeviceGetCount(int* n) { *n = 1; return 0; }
CUresult cuDeviceGet(int* d, int o) { if (o != 0) return 101; *d = 0; return 0; }
CUresult cuDeviceGetName(char* name, int len, int) { snprintf(name, len, "Fake GPU"); return 0; }
CUresult cuDeviceGetAttribute(int* v, int attr, int) { *v = attr == 75 ? 9 : attr == 76 ? 0 : 132; return 0; }
CUresult cuDevicePrimaryCtxRetain(void** c, int) { *c = (void*)0x1; return 0; }
CUresult cuDevicePrimaryCtxRelease_v2(int) { return 0; }
CUresult cuCtxSetCurrent(void* c) { return c == (void*)0x1 ? 0 : 201; }
CUresult cuCtxSynchronize() { return 0; }
CUresult cuModuleLoadData(void** m, const void* image) {
    if (strcmp((const char*)image, "FAKECUBIN sm_90") != 0) return 200; // CUDA_ERROR_INVALID_IMAGE
    *m = (void*)0x2; return 0;
}
CUresult cuModuleGetFunction(void** f, void* m, const char* name) {
    if (m != (void*)0x2) return 400;
    const char* names[] = {"joseph_forward", "joseph_backward", "fbp_backproject", "transpose", "fan_backproject", "make_pairs", "joseph_forward_pairs"};
    for (long i = 0; i < 7; i++) if (strcmp(name, names[i]) == 0) { *f = (void*)(i + 1); return 0; }
    return 500; // CUDA_ERROR_NOT_FOUND
}
CUresult cuMemAlloc_v2(dptr* p, size_t n) { *p = (dptr)malloc(n); return *p ? 0 : 2; }
CUresult cuMemFree_v2(dptr p) { free((void*)p); return 0; }
CUresult cuMemHostAlloc(void** p, size_t n, unsigned flags) { *p = malloc(n); return *p ? 0 : 2; }
CUresult cuMemFreeHost(void* p) { free(p); return 0; }
CUresult cuMemcpyHtoD_v2(dptr d, const void* s, size_t n) { memcpy((void*)d, s, n); return 0; }
CUresult cuMemcpyDtoH_v2(void* d, dptr s, size_t n) { memcpy(d, (const void*)s, n); return 0; }
CUresult cuMemsetD32_v2(dptr d, unsigned v, size_t n) { for (size_t i = 0; i < n; i++) ((unsigned*)d)[i] = v; return 0; }
CUresult cuGetErrorName(CUresult r, const char** s) { *s = r == 700 ? "CUDA_ERROR_ILLEGAL_ADDRESS" : "CUDA_ERROR_FAKE"; return 0; }
#define P(T, i) (*(T*)params[i])
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shm, void* stream, void** params, void** extra) {
    if (fault()) return 700;
    long id = (long)f;
    if (const char* lf = getenv("FAKE_CUDA_LOG")) { FILE* o = fopen(lf, "a"); if (o) { fprintf(o, "%ld\n", id); fclose(o); } }
    blockDim.x = bx; blockDim.y = by; blockDim.z = bz;
    for (unsigned z = 0; z < gz; z++) for (unsigned y = 0; y < gy; y++) for (unsigned x = 0; x < gx; x++) {
        blockIdx.x = x; blockIdx.y = y; blockIdx.z = z;
        for (phase = (id == 4 ? 0 : 1); phase < 2; phase++)
        for (unsigned tz = 0; tz < bz; tz++) for (unsigned ty = 0; ty < by; ty++) for (unsigned tx = 0; tx < bx; tx++) {
            threadIdx.x = tx; threadIdx.y = ty; threadIdx.z = tz;
            switch (id) {
            case 1: joseph_forward(P(const float*, 0), P(const float*, 1), P(float*, 2), P(const long long*, 3), P(const long long*, 4),
                        P(const int*, 5), P(const int*, 6), P(const float*, 7), P(const unsigned char*, 8), P(int, 9), P(int, 10), P(int, 11), P(int, 12)); break;
            case 2: joseph_backward(P(const float*, 0), P(float*, 1), P(const long long*, 2), P(const long long*, 3), P(const float*, 4),
                        P(const int*, 5), P(const int*, 6), P(const int*, 7), P(const unsigned char*, 8),
                        P(const float*, 9), P(const unsigned char*, 10),
                        P(int, 11), P(int, 12), P(int, 13), P(int, 14), P(int, 15)); break;
            case 3: fbp_backproject(P(const float*, 0), P(float*, 1), P(const long long*, 2), P(const long long*, 3), P(int, 4), P(int, 5), P(int, 6)); break;
            case 5: fan_backproject(P(const float*, 0), P(float*, 1), P(const double*, 2), P(int, 3), P(int, 4), P(int, 5),
                        P(double, 6), P(double, 7), P(double, 8), P(double, 9), P(double, 10), P(int, 11)); break;
            case 6: make_pairs(P(const float*, 0), P(pair2*, 1), P(int, 2)); break;
            case 7: joseph_forward_pairs(P(const pair2*, 0), P(const pair2*, 1), P(float*, 2), P(const long long*, 3), P(const long long*, 4),
                        P(const int*, 5), P(const int*, 6), P(const float*, 7), P(const unsigned char*, 8), P(int, 9), P(int, 10), P(int, 11), P(int, 12)); break;
            case 4: transpose(P(const float*, 0), P(float*, 1), P(int, 2)); break;
            default: return 400;
            }
        }
        phase = 1;
    }
    return 0;
}
typedef int nvrtcResult;
struct prog { std::string src, log; bool ok; };
nvrtcResult nvrtcCreateProgram(prog** p, const char* src, const char* name, int, const char* const*, const char* const*) {
    *p = new prog{src, "", false}; return 0;
}
nvrtcResult nvrtcCompileProgram(prog* p, int n, const char* const* opts) {
    bool fmad = false, arch = false;
    for (int i = 0; i < n; i++) {
        if (strcmp(opts[i], "--fmad=false") == 0) fmad = true;
        if (strcmp(opts[i], "--gpu-architecture=sm_90") == 0) arch = true;
    }
    if (!fmad || !arch || p->src.find("joseph_backward") == std::string::npos) { p->log = "fake nvrtc: options or source wrong"; return 6; }
    p->ok = true; return 0;
}
nvrtcResult nvrtcGetCUBINSize(prog* p, size_t* n) { *n = 16; return p->ok ? 0 : 6; }
nvrtcResult nvrtcGetCUBIN(prog* p, char* out) { memcpy(out, "FAKECUBIN sm_90", 16); return 0; }
nvrtcResult nvrtcGetProgramLogSize(prog* p, size_t* n) { *n = p->log.size() + 1; return 0; }
nvrtcResult nvrtcGetProgramLog(prog* p, char* out) { memcpy(out, p->log.c_str(), p->log.size() + 1); return 0; }
nvrtcResult nvrtcDestroyProgram(prog** p) { delete *p; *p = 0; return 0; }
const char* nvrtcGetErrorString(nvrtcResult r) { return r ? "NVRTC_ERROR_FAKE" : "NVRTC_SUCCESS"; }
}
`
