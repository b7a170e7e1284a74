package cuda

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/ctrecon/ctrecon/radon"
)

// Device is one GPU with its primary context and the compiled kernels. It
// is safe for concurrent use: every driver call runs on the device's own
// executor thread, one at a time.
type Device struct {
	Model        string // e.g. "NVIDIA H200"
	Major, Minor int    // compute capability
	SMs          int
	Driver       int // driver API version, e.g. 12080
	NVRTC        string

	d       *driverAPI
	ex      *executor
	dev     int32
	ctx     uintptr
	mod     uintptr
	fwd     uintptr
	bwd     uintptr
	fbp     uintptr
	fanFBP  uintptr
	pairs   uintptr // make_pairs
	fwdPair uintptr // joseph_forward_pairs
	tr      uintptr
	mu      sync.Mutex
	fault   error // first sticky fault: the context is unusable after it
}

var (
	openMu  sync.Mutex
	devices = map[int]*Device{}
)

// Open returns device ordinal (0 is the first GPU), opened once per
// process: the driver library and NVRTC are loaded, the primary context
// retained and the kernels compiled for the device's own architecture.
// Every "no usable GPU" condition wraps ErrNoDevice.
func Open(ordinal int) (*Device, error) {
	openMu.Lock()
	defer openMu.Unlock()
	if d, ok := devices[ordinal]; ok {
		return d, nil
	}
	drv, err := loadDriver()
	if err != nil {
		return nil, err
	}
	d := &Device{d: drv, ex: newExecutor()}
	err = d.ex.do(func() error {
		if err := drv.check("cuInit", drv.cuInit(0)); err != nil {
			return fmt.Errorf("%w (%v)", ErrNoDevice, err)
		}
		var v, count int32
		if err := drv.check("cuDriverGetVersion", drv.cuDriverGetVersion(&v)); err != nil {
			return err
		}
		d.Driver = int(v)
		if err := drv.check("cuDeviceGetCount", drv.cuDeviceGetCount(&count)); err != nil {
			return err
		}
		if ordinal < 0 || ordinal >= int(count) {
			return fmt.Errorf("%w: device %d asked for, %d present", ErrNoDevice, ordinal, count)
		}
		if err := drv.check("cuDeviceGet", drv.cuDeviceGet(&d.dev, int32(ordinal))); err != nil {
			return err
		}
		name := make([]byte, 256)
		if err := drv.check("cuDeviceGetName", drv.cuDeviceGetName(&name[0], int32(len(name)), d.dev)); err != nil {
			return err
		}
		d.Model = goString(&name[0])
		var major, minor, sms int32
		for _, a := range []struct {
			v    *int32
			attr int32
		}{{&major, attrComputeMajor}, {&minor, attrComputeMinor}, {&sms, attrSMCount}} {
			if err := drv.check("cuDeviceGetAttribute", drv.cuDeviceGetAttribute(a.v, a.attr, d.dev)); err != nil {
				return err
			}
		}
		d.Major, d.Minor, d.SMs = int(major), int(minor), int(sms)
		if err := drv.check("cuDevicePrimaryCtxRetain", drv.cuDevicePrimaryCtxRetain(&d.ctx, d.dev)); err != nil {
			return err
		}
		return drv.check("cuCtxSetCurrent", drv.cuCtxSetCurrent(d.ctx))
	})
	if err != nil {
		return nil, err
	}
	nv, err := loadNVRTC()
	if err != nil {
		return nil, err
	}
	d.NVRTC = nv.libraryTag
	cubin, err := nv.compileCUBIN(KernelSource, "joseph.cu", d.Major, d.Minor, kernelOptions)
	if err != nil {
		return nil, err
	}
	err = d.ex.do(func() error {
		if err := drv.check("cuModuleLoadData", drv.cuModuleLoadData(&d.mod, unsafe.Pointer(&cubin[0]))); err != nil {
			return err
		}
		if err := drv.check("cuModuleGetFunction joseph_forward", drv.cuModuleGetFunction(&d.fwd, d.mod, "joseph_forward")); err != nil {
			return err
		}
		if err := drv.check("cuModuleGetFunction joseph_backward", drv.cuModuleGetFunction(&d.bwd, d.mod, "joseph_backward")); err != nil {
			return err
		}
		if err := drv.check("cuModuleGetFunction fbp_backproject", drv.cuModuleGetFunction(&d.fbp, d.mod, "fbp_backproject")); err != nil {
			return err
		}
		if err := drv.check("cuModuleGetFunction fan_backproject", drv.cuModuleGetFunction(&d.fanFBP, d.mod, "fan_backproject")); err != nil {
			return err
		}
		if err := drv.check("cuModuleGetFunction make_pairs", drv.cuModuleGetFunction(&d.pairs, d.mod, "make_pairs")); err != nil {
			return err
		}
		if err := drv.check("cuModuleGetFunction joseph_forward_pairs", drv.cuModuleGetFunction(&d.fwdPair, d.mod, "joseph_forward_pairs")); err != nil {
			return err
		}
		return drv.check("cuModuleGetFunction transpose", drv.cuModuleGetFunction(&d.tr, d.mod, "transpose"))
	})
	keep(cubin)
	if err != nil {
		return nil, err
	}
	devices[ordinal] = d
	return d, nil
}

// String describes the device for logs and benchmark records.
func (d *Device) String() string {
	return fmt.Sprintf("%s (sm_%d%d, %d SMs, driver %d.%d, %s)", d.Model, d.Major, d.Minor, d.SMs, d.Driver/1000, d.Driver%1000/10, d.NVRTC)
}

// call runs f on the executor unless a sticky fault has already disabled
// the device, and records a new sticky fault.
func (d *Device) call(f func() int32, what string) error {
	d.mu.Lock()
	if d.fault != nil {
		d.mu.Unlock()
		return d.fault
	}
	d.mu.Unlock()
	var res int32
	if err := d.ex.do(func() error { res = f(); return nil }); err != nil {
		return err
	}
	if res == 0 {
		return nil
	}
	err := d.d.check(what, res)
	if sticky[res] {
		d.mu.Lock()
		if d.fault == nil {
			d.fault = fmt.Errorf("%w (a sticky fault: the GPU context is unusable for the rest of this process)", err)
		}
		d.mu.Unlock()
	}
	return err
}

// buffer is device memory of a fixed size in bytes.
type buffer struct {
	ptr  uintptr
	size uintptr
}

func (d *Device) alloc(size uintptr) (buffer, error) {
	var p uintptr
	if err := d.call(func() int32 { return d.d.cuMemAlloc(&p, max(size, 4)) }, "cuMemAlloc"); err != nil {
		return buffer{}, err
	}
	return buffer{ptr: p, size: size}, nil
}

func (d *Device) free(b buffer) {
	if b.ptr != 0 {
		d.call(func() int32 { return d.d.cuMemFree(b.ptr) }, "cuMemFree")
	}
}

// allocCopy allocates n bytes, appends the buffer to *owned (whose owner
// frees it) and copies n bytes at src into it.
func (d *Device) allocCopy(owned *[]buffer, src unsafe.Pointer, n uintptr) (buffer, error) {
	b, err := d.alloc(n)
	if err != nil {
		return b, err
	}
	*owned = append(*owned, b)
	return b, d.upload(b, src, n)
}

// hostAlloc allocates n bytes of page-locked host memory, which the copy
// engines read and write directly (pageable memory goes through the
// driver's staging buffers). For measuring whether staging the projector's
// copies through it pays (BenchmarkGPUCopies); free it with hostFree.
func (d *Device) hostAlloc(n uintptr) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	err := d.call(func() int32 { return d.d.cuMemHostAlloc(&p, max(n, 4), 0) }, "cuMemHostAlloc")
	return p, err
}

func (d *Device) hostFree(p unsafe.Pointer) {
	if p != nil {
		d.call(func() int32 { return d.d.cuMemFreeHost(p) }, "cuMemFreeHost")
	}
}

// upload copies n bytes at src to b.
func (d *Device) upload(b buffer, src unsafe.Pointer, n uintptr) error {
	if n == 0 {
		return nil
	}
	return d.call(func() int32 { return d.d.cuMemcpyHtoD(b.ptr, src, n) }, "cuMemcpyHtoD")
}

// download copies n bytes of b to dst.
func (d *Device) download(dst unsafe.Pointer, b buffer, n uintptr) error {
	if n == 0 {
		return nil
	}
	return d.call(func() int32 { return d.d.cuMemcpyDtoH(dst, b.ptr, n) }, "cuMemcpyDtoH")
}

// launch runs kernel fn on a gx×gy grid of bx-thread blocks with the given
// arguments (each a pointer to the argument's value) and waits for it.
func (d *Device) launch(fn uintptr, name string, gx, gy, bx uint32, args ...unsafe.Pointer) error {
	return d.launch3(fn, name, [3]uint32{gx, gy, 1}, [3]uint32{bx, 1, 1}, args...)
}

// launch3 is launch with three-dimensional grid and block sizes.
func (d *Device) launch3(fn uintptr, name string, grid, block [3]uint32, args ...unsafe.Pointer) error {
	params := make([]unsafe.Pointer, len(args))
	copy(params, args)
	err := d.call(func() int32 {
		return d.d.cuLaunchKernel(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], 0, 0, unsafe.Pointer(&params[0]), nil)
	}, "cuLaunchKernel "+name)
	if err == nil {
		err = d.call(func() int32 { return d.d.cuCtxSynchronize() }, "kernel "+name)
	}
	keep(params, args)
	return err
}

var _ radon.FBPBackend = (*Device)(nil)

// BackprojectFBP is FBP's back-projection of r on the GPU
// (radon.FBPBackend): the filtering stays on the CPU (FFTs of a few
// hundred bins), the N²·angles interpolations run here.
func (d *Device) BackprojectFBP(dst []float32, r *radon.FBPRows) error {
	in := []hostArray{{unsafe.Pointer(&r.Q[0]), uintptr(4 * len(r.Q))}, {unsafe.Pointer(&r.U0[0]), uintptr(8 * len(r.U0))},
		{unsafe.Pointer(&r.C[0]), uintptr(8 * len(r.C))}}
	err := d.backproject(dst, r.N, "BackprojectFBP", in, func(in []buffer, img buffer) error {
		n, na, stride := int32(r.N), int32(r.NAngles), int32(r.Stride)
		const block = 128
		return d.launch(d.fbp, "fbp_backproject", uint32((len(dst)+block-1)/block), 1, block,
			unsafe.Pointer(&in[0].ptr), unsafe.Pointer(&img.ptr), unsafe.Pointer(&in[1].ptr), unsafe.Pointer(&in[2].ptr),
			unsafe.Pointer(&n), unsafe.Pointer(&na), unsafe.Pointer(&stride))
	})
	keep(r)
	return err
}

// hostArray is host memory to upload: its address and length in bytes.
type hostArray struct {
	ptr   unsafe.Pointer
	bytes uintptr
}

// backproject runs one of FBP's back-projection kernels: it uploads in,
// allocates the n×n image on the device, calls launch with the inputs'
// buffers and the image's, downloads the image into dst and frees every
// buffer.
func (d *Device) backproject(dst []float32, n int, what string, in []hostArray, launch func(in []buffer, img buffer) error) error {
	if len(dst) != n*n {
		return fmt.Errorf("cuda: %s: %d values for a %d² image", what, len(dst), n)
	}
	var bufs []buffer
	defer func() {
		for _, b := range bufs {
			d.free(b)
		}
	}()
	ins := make([]buffer, len(in))
	for i, a := range in {
		b, err := d.allocCopy(&bufs, a.ptr, a.bytes)
		if err != nil {
			return err
		}
		ins[i] = b
	}
	img, err := d.alloc(uintptr(4 * len(dst)))
	if err != nil {
		return err
	}
	bufs = append(bufs, img)
	if err := launch(ins, img); err != nil {
		return err
	}
	return d.download(unsafe.Pointer(&dst[0]), img, uintptr(4*len(dst)))
}

var _ radon.FanFBPBackend = (*Device)(nil)

// BackprojectFanFBP is fan-beam FBP's back-projection of r on the GPU
// (radon.FanFBPBackend): weighting and filtering stay on the CPU, the
// N²·angles interpolations (in double, as on the CPU) run here.
func (d *Device) BackprojectFanFBP(dst []float32, r *radon.FanFBPRows) error {
	in := []hostArray{{unsafe.Pointer(&r.Q[0]), uintptr(4 * len(r.Q))}, {unsafe.Pointer(&r.Dir[0]), uintptr(8 * len(r.Dir))}}
	err := d.backproject(dst, r.N, "BackprojectFanFBP", in, func(in []buffer, img buffer) error {
		n, na, stride, arc := int32(r.N), int32(r.NAngles), int32(r.Stride), int32(0)
		if r.Arc {
			arc = 1
		}
		ds, spacing, off, up, last := r.SourceDistance, r.Spacing, r.Off, r.Up, r.Last
		block := [3]uint32{32, 8, 1}
		return d.launch3(d.fanFBP, "fan_backproject", grid(block, r.N, r.N, 1), block,
			unsafe.Pointer(&in[0].ptr), unsafe.Pointer(&img.ptr), unsafe.Pointer(&in[1].ptr),
			unsafe.Pointer(&n), unsafe.Pointer(&na), unsafe.Pointer(&stride),
			unsafe.Pointer(&ds), unsafe.Pointer(&spacing), unsafe.Pointer(&off), unsafe.Pointer(&up), unsafe.Pointer(&last),
			unsafe.Pointer(&arc))
	})
	keep(r)
	return err
}
