package cuda

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ctrecon/ctrecon/radon"
)

// fakeDriver is a stand-in for libcuda.so.1 and NVRTC, built from C++ with
// g++: device memory is host memory, "compiling" checks the options and
// returns a token, and cuLaunchKernel runs the kernels of kernels.go
// (compiled into the library with the host stubs) over their grid,
// unpacking kernelParams by each kernel's signature. With it the whole Go
// side runs on a CPU: the purego bindings, the executor, NVRTC's option
// array, allocation, copies and the argument marshalling of every launch.
// FAKE_CUDA_FAULT=1 makes launches fail with CUDA_ERROR_ILLEGAL_ADDRESS.
const fakeDriver = `
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <string>
typedef int CUresult;
typedef unsigned long long dptr;
static std::string lastSource;
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
    const char* names[] = {"joseph_forward", "joseph_backward", "fbp_backproject", "transpose"};
    for (long i = 0; i < 4; i++) if (strcmp(name, names[i]) == 0) { *f = (void*)(i + 1); return 0; }
    return 500; // CUDA_ERROR_NOT_FOUND
}
CUresult cuMemAlloc_v2(dptr* p, size_t n) { *p = (dptr)malloc(n); return *p ? 0 : 2; }
CUresult cuMemFree_v2(dptr p) { free((void*)p); return 0; }
CUresult cuMemcpyHtoD_v2(dptr d, const void* s, size_t n) { memcpy((void*)d, s, n); return 0; }
CUresult cuMemcpyDtoH_v2(void* d, dptr s, size_t n) { memcpy(d, (const void*)s, n); return 0; }
CUresult cuMemsetD32_v2(dptr d, unsigned v, size_t n) { for (size_t i = 0; i < n; i++) ((unsigned*)d)[i] = v; return 0; }
CUresult cuGetErrorName(CUresult r, const char** s) { *s = r == 700 ? "CUDA_ERROR_ILLEGAL_ADDRESS" : "CUDA_ERROR_FAKE"; return 0; }
#define P(T, i) (*(T*)params[i])
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shm, void* stream, void** params, void** extra) {
    if (fault()) return 700;
    long id = (long)f;
    blockDim.x = bx; blockDim.y = by; blockDim.z = bz;
    for (unsigned z = 0; z < gz; z++) for (unsigned y = 0; y < gy; y++) for (unsigned x = 0; x < gx; x++) {
        blockIdx.x = x; blockIdx.y = y; blockIdx.z = z;
        for (phase = (id == 4 ? 0 : 1); phase < 2; phase++)
        for (unsigned tz = 0; tz < bz; tz++) for (unsigned ty = 0; ty < by; ty++) for (unsigned tx = 0; tx < bx; tx++) {
            threadIdx.x = tx; threadIdx.y = ty; threadIdx.z = tz;
            switch (id) {
            case 1: joseph_forward(P(const float*, 0), P(const float*, 1), P(float*, 2), P(const long long*, 3), P(const long long*, 4),
                        P(const int*, 5), P(const int*, 6), P(const float*, 7), P(const unsigned char*, 8), P(int, 9), P(int, 10), P(int, 11)); break;
            case 2: joseph_backward(P(const float*, 0), P(float*, 1), P(const long long*, 2), P(const long long*, 3), P(const float*, 4),
                        P(const int*, 5), P(const int*, 6), P(const int*, 7), P(const unsigned char*, 8),
                        P(int, 9), P(int, 10), P(int, 11), P(int, 12), P(int, 13)); break;
            case 3: fbp_backproject(P(const float*, 0), P(float*, 1), P(const long long*, 2), P(const long long*, 3), P(int, 4), P(int, 5), P(int, 6)); break;
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

// TestFakeDriver builds the fake driver and runs TestFakeDriverChild in a
// child process that finds it through CTRECON_CUDA_LIBDIR (the driver is
// opened once per process, so the child has its own), once working and
// once with every launch faulting.
func TestFakeDriver(t *testing.T) {
	if os.Getenv("CTRECON_FAKE_CHILD") != "" {
		t.Skip("in the child")
	}
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++ to build the fake driver with")
	}
	dir := t.TempDir()
	src, lib := filepath.Join(dir, "fake.cpp"), filepath.Join(dir, "libcuda.so.1")
	if err := os.WriteFile(src, []byte(cudaStubs+kernelSource+fakeDriver), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gxx, "-std=c++17", "-O1", "-ffp-contract=off", "-shared", "-fPIC", "-o", lib, src).CombinedOutput(); err != nil {
		t.Fatalf("g++: %v\n%s", err, out)
	}
	if err := os.Symlink(lib, filepath.Join(dir, "libnvrtc.so.12")); err != nil {
		t.Fatal(err)
	}
	for _, fault := range []string{"0", "1"} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestFakeDriverChild$", "-test.v")
		cmd.Env = append(os.Environ(), LibDirEnv+"="+dir, "CTRECON_FAKE_CHILD=1", "FAKE_CUDA_FAULT="+fault)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child (fault %s): %v\n%s", fault, err, out)
		}
		t.Logf("child (fault %s):\n%s", fault, out)
	}
}

// TestFakeDriverChild runs only as TestFakeDriver's child: Open through the
// fake driver, then the projector and FBP against radon, bit for bit; with
// FAKE_CUDA_FAULT=1 every launch fails with a sticky fault, which must be
// an error from Forward, a CPU fallback with the same numbers from the
// linop methods, and the device disabled afterwards.
func TestFakeDriverChild(t *testing.T) {
	if os.Getenv("CTRECON_FAKE_CHILD") == "" {
		t.Skip("runs as TestFakeDriver's child")
	}
	d, err := Open(0)
	if err != nil {
		t.Fatalf("Open through the fake driver: %v", err)
	}
	t.Logf("device: %v", d)
	faulting := os.Getenv("FAKE_CUDA_FAULT") == "1"
	rng := rand.New(rand.NewPCG(14, 6))
	fan := radon.NewFanGeometry(23, radon.FullAngles(17), 40, 20)
	for _, g := range []radon.Geometry{radon.NewGeometry(29, radon.EqualAngles(13)), fan} {
		p, err := d.NewProjector(g)
		if err != nil {
			t.Fatal(err)
		}
		cpu := radon.NewProjector(g)
		m, n := p.Dims()
		const k = 10
		x, y := randVec(k*n, rng), randVec(k*m, rng)
		gotF, wantF := make([]float32, k*m), make([]float32, k*m)
		gotB, wantB := make([]float32, k*n), make([]float32, k*n)
		errF := p.Forward(gotF, x, k)
		if faulting {
			if !errors.Is(errF, ErrDevice) {
				t.Fatalf("a faulting launch returned %v, want ErrDevice", errF)
			}
			p.ApplyBatch(gotF, x, k) // falls back to the CPU
			if p.Err() == nil {
				t.Fatal("the fallback did not record the device error")
			}
		} else if errF != nil {
			t.Fatal(errF)
		}
		p.AdjointBatch(gotB, y, k)
		cpu.ApplyBatch(wantF, x, k)
		cpu.AdjointBatch(wantB, y, k)
		for i := range wantF {
			if gotF[i] != wantF[i] {
				t.Fatalf("%v forward, value %d: %g, radon %g", g.Beam, i, gotF[i], wantF[i])
			}
		}
		for i := range wantB {
			if gotB[i] != wantB[i] {
				t.Fatalf("%v back, value %d: %g, radon %g", g.Beam, i, gotB[i], wantB[i])
			}
		}
		if !faulting && p.Err() != nil {
			t.Fatal(p.Err())
		}
		p.Close()
		if faulting {
			break // the device is disabled now
		}
	}
	if faulting {
		if _, err := d.NewProjector(radon.NewGeometry(8, radon.EqualAngles(3))); err == nil || !errors.Is(err, ErrDevice) {
			t.Errorf("after a sticky fault the device still accepted work (%v)", err)
		}
		return
	}
	g := radon.NewGeometry(31, radon.EqualAngles(21))
	sino := randVec(g.SinoLen(), rng)
	s := radon.FBPSettings{Filter: radon.Hann}
	want := make([]float32, g.ImageLen())
	if err := radon.FBP(want, sino, g, s); err != nil {
		t.Fatal(err)
	}
	radon.SetBackend(d)
	defer radon.SetBackend(nil)
	got := make([]float32, g.ImageLen())
	if err := radon.FBP(got, sino, g, s); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] || math.IsNaN(float64(got[i])) {
			t.Fatalf("FBP through the fake device, pixel %d: %g, CPU %g", i, got[i], want[i])
		}
	}
	op, err := radon.NewOperator(g)
	if _, ok := op.(*Projector); !ok || err != nil {
		t.Errorf("radon.NewOperator with the device as backend gave %T (%v)", op, err)
	}
}
