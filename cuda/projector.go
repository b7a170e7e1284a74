package cuda

import (
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/radon"
)

// Projector is radon's Joseph projector run on a GPU: A and its exact
// transpose, the same numbers as radon.Projector's (the kernels follow the
// CPU references bit for bit; compiled without fused multiply-add). It
// implements linop.Operator and linop.BatchOperator; a batch is many
// slices (a volume, the DIP's samples, the design's candidates).
//
// linop's methods cannot return errors. If the device fails (a kernel
// fault, memory exhausted) the projector computes that call and every later
// one on the CPU projector instead, so results stay right; Err reports the
// first failure, and Forward and Back return it directly.
type Projector struct {
	dev *Device
	cpu *radon.Projector
	tab radon.RayTable
	m   int // rays
	n   int // pixels

	mu    sync.Mutex
	err   error
	table []buffer // q, g, r0, r1, w, col, runOff, runLo, runHi, runCol, run hints, run directions
	img   buffer   // images, grown to the largest batch seen
	imgT  buffer   // their transposes (for rays nearer horizontal)
	img2  buffer   // pair images of both (forwardPairs)
	imgT2 buffer
	sino  buffer
	// Timing of the last call, for benchmarks: host→device, kernel,
	// device→host.
	LastCopyIn, LastKernel, LastCopyOut time.Duration
}

var (
	_ linop.Operator      = (*Projector)(nil)
	_ linop.BatchOperator = (*Projector)(nil)
)

// NewProjector uploads g's ray table to the device.
func (d *Device) NewProjector(g radon.Geometry) (*Projector, error) {
	cpu, err := radon.NewProjectorChecked(g)
	if err != nil {
		return nil, err
	}
	t := cpu.RayTable()
	m, n := cpu.Dims()
	p := &Projector{dev: d, cpu: cpu, tab: t, m: m, n: n}
	nr, nruns := uintptr(len(t.Q)), uintptr(len(t.RunLo))
	hint, dir := runHints(t)
	for _, a := range []hostArray{
		{unsafe.Pointer(&t.Q[0]), 8 * nr}, {unsafe.Pointer(&t.G[0]), 8 * nr},
		{unsafe.Pointer(&t.R0[0]), 4 * nr}, {unsafe.Pointer(&t.R1[0]), 4 * nr},
		{unsafe.Pointer(&t.W[0]), 4 * nr}, {unsafe.Pointer(&t.Col[0]), nr},
		{unsafe.Pointer(&t.RunOff[0]), 4 * uintptr(len(t.RunOff))},
		{unsafe.Pointer(&t.RunLo[0]), 4 * nruns}, {unsafe.Pointer(&t.RunHi[0]), 4 * nruns},
		{unsafe.Pointer(&t.RunCol[0]), nruns},
		{unsafe.Pointer(&hint[0]), 16 * nruns}, {unsafe.Pointer(&dir[0]), nruns},
	} {
		if _, err := d.allocCopy(&p.table, a.ptr, a.bytes); err != nil {
			p.Close()
			return nil, err
		}
	}
	keep(t, hint, dir)
	// Projectors made through radon.NewOperator are not closed by their
	// users (they are linop.Operators); free their memory with them.
	runtime.SetFinalizer(p, (*Projector).Close)
	return p, nil
}

var _ radon.Backend = (*Device)(nil)

// Name says which GPU runs the projectors (radon.Backend).
func (d *Device) Name() string { return "gpu " + d.String() }

// NewOperator is NewProjector as a radon.Backend.
func (d *Device) NewOperator(g radon.Geometry) (linop.BatchOperator, error) {
	return d.NewProjector(g)
}

// Close frees the projector's device memory.
func (p *Projector) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.table {
		p.dev.free(b)
	}
	p.dev.free(p.img)
	p.dev.free(p.imgT)
	p.dev.free(p.sino)
	p.dev.free(p.img2)
	p.dev.free(p.imgT2)
	p.table, p.img, p.imgT, p.sino, p.img2, p.imgT2 = nil, buffer{}, buffer{}, buffer{}, buffer{}, buffer{}
}

// Dims returns (rays, pixels) as radon.Projector's.
func (p *Projector) Dims() (int, int) { return p.m, p.n }

// Err returns the first device failure (nil while the GPU works).
func (p *Projector) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// forwardPairs switches the forward projection to pair images (each step
// reads a pixel and its neighbour with one 8-byte load; the same numbers).
// An experiment for the device's benchmarks: the forward kernel is bound
// by L1 transactions, and whether halving its loads pays is for a GPU run
// to say (BenchmarkGPUForwardPairs).
var forwardPairs = false

// ensurePairs grows the pair-image buffers to k slices.
func (p *Projector) ensurePairs(k int) error {
	need := uintptr(8 * k * p.tab.N * (p.tab.N + 1))
	if err := p.grow(&p.img2, need); err != nil {
		return err
	}
	return p.grow(&p.imgT2, need)
}

// ensure grows the image and sinogram buffers to k slices.
func (p *Projector) ensure(k int) error {
	for _, b := range []struct {
		buf  *buffer
		need uintptr
	}{{&p.img, uintptr(4 * k * p.n)}, {&p.imgT, uintptr(4 * k * p.n)}, {&p.sino, uintptr(4 * k * p.m)}} {
		if err := p.grow(b.buf, b.need); err != nil {
			return err
		}
	}
	return nil
}

// grow makes b at least need bytes: a smaller buffer is freed and
// replaced (its contents are not kept).
func (p *Projector) grow(b *buffer, need uintptr) error {
	if b.size >= need {
		return nil
	}
	p.dev.free(*b)
	*b = buffer{}
	nb, err := p.dev.alloc(need)
	if err != nil {
		return err
	}
	*b = nb
	return nil
}

// Forward sets dst = A x for k images stored back to back, on the GPU.
func (p *Projector) Forward(dst, x []float32, k int) error {
	if len(dst) != k*p.m || len(x) != k*p.n {
		return fmt.Errorf("%w: cuda.Forward: %d and %d values for %d slices of %d rays and %d pixels", linop.ErrShape, len(dst), len(x), k, p.m, p.n)
	}
	return p.call(dst, x, k, true, func() error {
		n, pad := int32(p.tab.N), int32(p.tab.Pad)
		tiles := uint32((p.tab.N + 31) / 32)
		if err := p.dev.launch3(p.dev.tr, "transpose", [3]uint32{tiles, tiles, uint32(k)}, [3]uint32{32, 8, 1},
			unsafe.Pointer(&p.img.ptr), unsafe.Pointer(&p.imgT.ptr), unsafe.Pointer(&n)); err != nil {
			return err
		}
		ndet, na := int32(p.tab.NDet), int32(p.tab.NAngles)
		tb := p.table
		fn, name, img, imgT := p.dev.fwd, "joseph_forward", &p.img.ptr, &p.imgT.ptr
		if forwardPairs {
			if err := p.ensurePairs(k); err != nil {
				return err
			}
			pg := grid(forwardBlock, p.tab.N+1, p.tab.N, k)
			for _, c := range [][2]*uintptr{{&p.img.ptr, &p.img2.ptr}, {&p.imgT.ptr, &p.imgT2.ptr}} {
				if err := p.dev.launch3(p.dev.pairs, "make_pairs", pg, forwardBlock,
					unsafe.Pointer(c[0]), unsafe.Pointer(c[1]), unsafe.Pointer(&n)); err != nil {
					return err
				}
			}
			fn, name, img, imgT = p.dev.fwdPair, "joseph_forward_pairs", &p.img2.ptr, &p.imgT2.ptr
		}
		return p.dev.launch3(fn, name, grid(forwardBlock, p.tab.NDet, p.tab.NAngles, k), forwardBlock,
			unsafe.Pointer(img), unsafe.Pointer(imgT), unsafe.Pointer(&p.sino.ptr),
			unsafe.Pointer(&tb[0].ptr), unsafe.Pointer(&tb[1].ptr), unsafe.Pointer(&tb[2].ptr), unsafe.Pointer(&tb[3].ptr),
			unsafe.Pointer(&tb[4].ptr), unsafe.Pointer(&tb[5].ptr),
			unsafe.Pointer(&n), unsafe.Pointer(&ndet), unsafe.Pointer(&na), unsafe.Pointer(&pad))
	})
}

// backSlices is the kernel's chunk of slices per thread (SLICES).
const backSlices = 8

// Thread blocks: forward, bins × angles; backward, columns × rows (see the
// kernels for why two-dimensional).
var (
	forwardBlock = [3]uint32{4, 32, 1}
	backBlock    = [3]uint32{32, 8, 1}
)

// grid is the launch grid that covers nx × ny × nz threads in blocks of
// the given shape.
func grid(block [3]uint32, nx, ny, nz int) [3]uint32 {
	return [3]uint32{(uint32(nx) + block[0] - 1) / block[0], (uint32(ny) + block[1] - 1) / block[1], uint32(nz)}
}

// Back sets dst = Aᵀ y for k sinograms stored back to back, on the GPU.
func (p *Projector) Back(dst, y []float32, k int) error {
	if len(dst) != k*p.n || len(y) != k*p.m {
		return fmt.Errorf("%w: cuda.Back: %d and %d values for %d slices of %d pixels and %d rays", linop.ErrShape, len(dst), len(y), k, p.n, p.m)
	}
	return p.call(dst, y, k, false, func() error {
		n, ndet, na, pad, batch := int32(p.tab.N), int32(p.tab.NDet), int32(p.tab.NAngles), int32(p.tab.Pad), int32(k)
		tb := p.table
		return p.dev.launch3(p.dev.bwd, "joseph_backward", grid(backBlock, p.tab.N, p.tab.N, (k+backSlices-1)/backSlices), backBlock,
			unsafe.Pointer(&p.sino.ptr), unsafe.Pointer(&p.img.ptr),
			unsafe.Pointer(&tb[0].ptr), unsafe.Pointer(&tb[1].ptr), unsafe.Pointer(&tb[4].ptr),
			unsafe.Pointer(&tb[6].ptr), unsafe.Pointer(&tb[7].ptr), unsafe.Pointer(&tb[8].ptr), unsafe.Pointer(&tb[9].ptr),
			unsafe.Pointer(&tb[10].ptr), unsafe.Pointer(&tb[11].ptr),
			unsafe.Pointer(&n), unsafe.Pointer(&ndet), unsafe.Pointer(&na), unsafe.Pointer(&pad), unsafe.Pointer(&batch))
	})
}

// call runs one batched product of k slices: src into the image buffer
// (forward) or the sinogram buffer, the kernels, the other buffer into
// dst; each part timed for benchmarks.
func (p *Projector) call(dst, src []float32, k int, forward bool, kernels func() error) error {
	if k == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensure(k); err != nil {
		return err
	}
	in, out := &p.sino, &p.img
	if forward {
		in, out = &p.img, &p.sino
	}
	t0 := time.Now()
	if err := p.dev.upload(*in, unsafe.Pointer(&src[0]), uintptr(4*len(src))); err != nil {
		return err
	}
	t1 := time.Now()
	if err := kernels(); err != nil {
		return err
	}
	t2 := time.Now()
	if err := p.dev.download(unsafe.Pointer(&dst[0]), *out, uintptr(4*len(dst))); err != nil {
		return err
	}
	p.LastCopyIn, p.LastKernel, p.LastCopyOut = t1.Sub(t0), t2.Sub(t1), time.Since(t2)
	return nil
}

// fallback records err and reports whether the CPU must take over.
func (p *Projector) fallback(err error) bool {
	if err == nil {
		return false
	}
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
	return true
}

func (p *Projector) failed() bool { return p.Err() != nil }

// Apply sets dst = A x (linop.Operator).
func (p *Projector) Apply(dst, x []float32) { p.ApplyBatch(dst, x, 1) }

// Adjoint sets dst = Aᵀ y (linop.Operator).
func (p *Projector) Adjoint(dst, y []float32) { p.AdjointBatch(dst, y, 1) }

// ApplyBatch is Forward, or the CPU projector after a device failure.
// Wrong lengths panic, as radon's do.
func (p *Projector) ApplyBatch(dst, x []float32, k int) {
	if len(dst) != k*p.m || len(x) != k*p.n || p.failed() || p.fallback(p.Forward(dst, x, k)) {
		p.cpu.ApplyBatch(dst, x, k)
	}
}

// AdjointBatch is Back, or the CPU projector after a device failure.
func (p *Projector) AdjointBatch(dst, y []float32, k int) {
	if len(dst) != k*p.n || len(y) != k*p.m || p.failed() || p.fallback(p.Back(dst, y, k)) {
		p.cpu.AdjointBatch(dst, y, k)
	}
}
