package cuda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// ErrNoDevice is wrapped by every error that means "no usable GPU here":
// no driver library, no device, a driver too old. Callers that may fall
// back to the CPU test for it with errors.Is.
var ErrNoDevice = errors.New("no CUDA device")

// ErrDevice is wrapped by errors from a device that was working: a failed
// launch, a kernel fault. After a sticky fault (an illegal address, a
// launch failure) the context is unusable and every later call returns it.
var ErrDevice = errors.New("CUDA device error")

// The CUDA driver API functions ctrecon uses (cuda.h; the _v2 entry points
// are the current ABI of the unsuffixed names). CUresult is an int32.
type driverAPI struct {
	cuInit                    func(flags uint32) int32
	cuDriverGetVersion        func(v *int32) int32
	cuDeviceGetCount          func(n *int32) int32
	cuDeviceGet               func(dev *int32, ordinal int32) int32
	cuDeviceGetName           func(name *byte, n int32, dev int32) int32
	cuDeviceGetAttribute      func(v *int32, attr int32, dev int32) int32
	cuDevicePrimaryCtxRetain  func(ctx *uintptr, dev int32) int32
	cuDevicePrimaryCtxRelease func(dev int32) int32
	cuCtxSetCurrent           func(ctx uintptr) int32
	cuCtxSynchronize          func() int32
	cuModuleLoadData          func(mod *uintptr, image unsafe.Pointer) int32
	cuModuleGetFunction       func(fn *uintptr, mod uintptr, name string) int32
	cuMemAlloc                func(p *uintptr, size uintptr) int32
	cuMemFree                 func(p uintptr) int32
	cuMemcpyHtoD              func(dst uintptr, src unsafe.Pointer, size uintptr) int32
	cuMemcpyDtoH              func(dst unsafe.Pointer, src uintptr, size uintptr) int32
	cuMemsetD32               func(dst uintptr, v uint32, n uintptr) int32
	cuMemHostAlloc            func(p *unsafe.Pointer, size uintptr, flags uint32) int32
	cuMemFreeHost             func(p unsafe.Pointer) int32
	cuLaunchKernel            func(fn uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params unsafe.Pointer, extra unsafe.Pointer) int32
	cuGetErrorName            func(res int32, s **byte) int32
}

const (
	attrComputeMajor = 75 // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
	attrComputeMinor = 76
	attrSMCount      = 16 // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
)

// sticky CUresults leave the context unusable (cuda.h).
var sticky = map[int32]bool{
	700: true, // CUDA_ERROR_ILLEGAL_ADDRESS
	702: true, // CUDA_ERROR_LAUNCH_TIMEOUT
	714: true, // CUDA_ERROR_HARDWARE_STACK_ERROR
	715: true, // CUDA_ERROR_ILLEGAL_INSTRUCTION
	716: true, // CUDA_ERROR_MISALIGNED_ADDRESS
	717: true, // CUDA_ERROR_INVALID_ADDRESS_SPACE
	718: true, // CUDA_ERROR_INVALID_PC
	719: true, // CUDA_ERROR_LAUNCH_FAILED
}

var (
	loadOnce sync.Once
	drv      *driverAPI
	loadErr  error
)

// loadDriver opens libcuda.so.1 once per process and binds the functions.
func loadDriver() (*driverAPI, error) {
	loadOnce.Do(func() {
		h, err := purego.Dlopen(libPath("libcuda.so.1"), purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			loadErr = fmt.Errorf("%w: cannot load the driver library libcuda.so.1 (%v)", ErrNoDevice, err)
			return
		}
		d := &driverAPI{}
		bind := []struct {
			fn   any
			name string
		}{
			{&d.cuInit, "cuInit"}, {&d.cuDriverGetVersion, "cuDriverGetVersion"},
			{&d.cuDeviceGetCount, "cuDeviceGetCount"}, {&d.cuDeviceGet, "cuDeviceGet"},
			{&d.cuDeviceGetName, "cuDeviceGetName"}, {&d.cuDeviceGetAttribute, "cuDeviceGetAttribute"},
			{&d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"},
			{&d.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"},
			{&d.cuCtxSetCurrent, "cuCtxSetCurrent"}, {&d.cuCtxSynchronize, "cuCtxSynchronize"},
			{&d.cuModuleLoadData, "cuModuleLoadData"}, {&d.cuModuleGetFunction, "cuModuleGetFunction"},
			{&d.cuMemAlloc, "cuMemAlloc_v2"}, {&d.cuMemFree, "cuMemFree_v2"},
			{&d.cuMemcpyHtoD, "cuMemcpyHtoD_v2"}, {&d.cuMemcpyDtoH, "cuMemcpyDtoH_v2"},
			{&d.cuMemsetD32, "cuMemsetD32_v2"}, {&d.cuLaunchKernel, "cuLaunchKernel"},
			{&d.cuGetErrorName, "cuGetErrorName"},
			{&d.cuMemHostAlloc, "cuMemHostAlloc"}, {&d.cuMemFreeHost, "cuMemFreeHost"},
		}
		for _, b := range bind {
			if _, err := purego.Dlsym(h, b.name); err != nil {
				loadErr = fmt.Errorf("%w: libcuda.so.1 has no %s (driver too old?)", ErrNoDevice, b.name)
				return
			}
			purego.RegisterLibFunc(b.fn, h, b.name)
		}
		drv = d
	})
	return drv, loadErr
}

// LibDirEnv names an environment variable: a folder searched before the
// loader's path for libcuda.so.1 and NVRTC (a driver or toolkit installed
// outside it; the tests' fake driver).
const LibDirEnv = "CTRECON_CUDA_LIBDIR"

// libPath is name inside $CTRECON_CUDA_LIBDIR when it is there, else name
// (for the loader to find).
func libPath(name string) string {
	if d := os.Getenv(LibDirEnv); d != "" {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	return name
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// check turns a CUresult into an error naming the call.
func (d *driverAPI) check(what string, res int32) error {
	if res == 0 {
		return nil
	}
	name := fmt.Sprintf("CUresult %d", res)
	var s *byte
	if d.cuGetErrorName(res, &s) == 0 && s != nil {
		name = goString(s)
	}
	if res == 100 { // CUDA_ERROR_NO_DEVICE
		return fmt.Errorf("%w: %s: %s", ErrNoDevice, what, name)
	}
	return fmt.Errorf("%w: %s: %s", ErrDevice, what, name)
}

// goString copies a NUL-terminated C string.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	var b []byte
	for q := unsafe.Pointer(p); *(*byte)(q) != 0; q = unsafe.Add(q, 1) {
		b = append(b, *(*byte)(q))
	}
	return string(b)
}

// executor runs every driver call of one device on one goroutine locked to
// its OS thread, where the primary context is current: the driver binds a
// context to a thread, and Go moves goroutines between threads.
type executor struct {
	calls chan func()
}

func newExecutor() *executor {
	e := &executor{calls: make(chan func())}
	go func() {
		runtime.LockOSThread()
		for f := range e.calls {
			f()
		}
	}()
	return e
}

// do runs f on the executor's thread and returns its error.
func (e *executor) do(f func() error) error {
	done := make(chan error, 1)
	e.calls <- func() { done <- f() }
	return <-done
}
