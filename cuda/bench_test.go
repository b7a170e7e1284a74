package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"

	"github.com/ctrecon/ctrecon/radon"
)

// The target geometry: 512², 720 angles, 725 bins; per-slice times
// for a batch of 128 and for one slice (launch included), kernel time and
// copies reported separately (ns/slice metrics).
func benchGPU(b *testing.B, forward bool, k int) {
	d := device(b)
	g := radon.NewGeometry(512, radon.EqualAngles(720))
	g.NDet = 725
	p, err := d.NewProjector(g)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	m, n := p.Dims()
	rng := rand.New(rand.NewPCG(1, 1))
	in, out := randVec(k*n, rng), make([]float32, k*m)
	if !forward {
		in, out = randVec(k*m, rng), make([]float32, k*n)
	}
	run := func() error {
		if forward {
			return p.Forward(out, in, k)
		}
		return p.Back(out, in, k)
	}
	if err := run(); err != nil { // compile, allocate, warm up
		b.Fatal(err)
	}
	var kern, copies time.Duration
	b.ResetTimer()
	for b.Loop() {
		if err := run(); err != nil {
			b.Fatal(err)
		}
		kern += p.LastKernel
		copies += p.LastCopyIn + p.LastCopyOut
	}
	b.ReportMetric(float64(kern.Nanoseconds())/float64(b.N*k), "kernel-ns/slice")
	b.ReportMetric(float64(copies.Nanoseconds())/float64(b.N*k), "copy-ns/slice")
}

func BenchmarkGPUForward512Batch128(b *testing.B) { benchGPU(b, true, 128) }
func BenchmarkGPUBack512Batch128(b *testing.B)    { benchGPU(b, false, 128) }

// BenchmarkGPUBlocks times other thread-block shapes than the projector's
// (bins × angles forward, columns × rows backward), for tuning on a device.
func BenchmarkGPUBlocks(b *testing.B) {
	fwd, back := forwardBlock, backBlock
	defer func() { forwardBlock, backBlock = fwd, back }()
	for _, s := range [][3]uint32{{8, 32, 1}, {4, 64, 1}, {8, 16, 1}, {4, 32, 1}, {8, 64, 1}, {2, 128, 1}, {16, 16, 1}} {
		forwardBlock = s
		b.Run(fmt.Sprintf("forward%dx%d", s[0], s[1]), func(b *testing.B) { benchGPU(b, true, 128) })
	}
	forwardBlock = fwd
	for _, s := range [][3]uint32{{32, 8, 1}, {16, 16, 1}, {32, 4, 1}} {
		backBlock = s
		b.Run(fmt.Sprintf("back%dx%d", s[0], s[1]), func(b *testing.B) { benchGPU(b, false, 128) })
	}
}
func BenchmarkGPUForward512Single(b *testing.B) { benchGPU(b, true, 1) }
func BenchmarkGPUBack512Single(b *testing.B)    { benchGPU(b, false, 1) }

// BenchmarkGPUForwardPairs512Batch128 is the forward projection reading
// pair images (forwardPairs), for comparison with the default.
func BenchmarkGPUForwardPairs512Batch128(b *testing.B) {
	forwardPairs = true
	defer func() { forwardPairs = false }()
	benchGPU(b, true, 128)
}

// benchCPU is the same geometry on radon's CPU projector (all cores), for
// the GPU/CPU ratio in the same run; batch 8.
func benchCPU(b *testing.B, forward bool) {
	g := radon.NewGeometry(512, radon.EqualAngles(720))
	g.NDet = 725
	p := radon.NewProjector(g)
	m, n := p.Dims()
	const k = 8
	rng := rand.New(rand.NewPCG(1, 1))
	in, out := randVec(k*n, rng), make([]float32, k*m)
	if !forward {
		in, out = randVec(k*m, rng), make([]float32, k*n)
	}
	b.ResetTimer()
	for b.Loop() {
		if forward {
			p.ApplyBatch(out, in, k)
		} else {
			p.AdjointBatch(out, in, k)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/slice")
}

func BenchmarkCPUForward512Batch8(b *testing.B) { benchCPU(b, true) }
func BenchmarkCPUBack512Batch8(b *testing.B)    { benchCPU(b, false) }

// fanBench is a 512² flat-detector fan beam over 720 angles of the full
// circle and its rows for FBP.
func fanBench(b *testing.B) (radon.Geometry, []float32, *radon.FanFBPRows) {
	g := radon.NewFanGeometry(512, radon.FullAngles(720), 1000, 500)
	y := randVec(g.SinoLen(), rand.New(rand.NewPCG(1, 2)))
	r, err := radon.NewFanFBPRows(y, g, radon.FBPSettings{Filter: radon.Hann})
	if err != nil {
		b.Fatal(err)
	}
	return g, y, r
}

// BenchmarkGPUFanFBPBackproject512: fan-beam FBP's back-projection on the
// GPU (copies included; the filtering is the CPU's in both).
func BenchmarkGPUFanFBPBackproject512(b *testing.B) {
	d := device(b)
	g, _, r := fanBench(b)
	dst := make([]float32, g.ImageLen())
	for b.Loop() {
		if err := d.BackprojectFanFBP(dst, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCPUFanFBP512: the whole fan-beam FBP on the CPU (all cores), for
// the ratio.
func BenchmarkCPUFanFBP512(b *testing.B) {
	g, y, _ := fanBench(b)
	dst := make([]float32, g.ImageLen())
	for b.Loop() {
		if err := radon.FBP(dst, y, g, radon.FBPSettings{Filter: radon.Hann}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGPUCopies measures host↔device bandwidth for a batch of 128
// 512² images (128 MiB) from ordinary (pageable) Go memory, as the
// projector copies today, and from page-locked memory (cuMemHostAlloc): if
// the second is much faster, staging the copies through it pays.
func BenchmarkGPUCopies(b *testing.B) {
	d := device(b)
	const n = 128 * 512 * 512 * 4
	dev, err := d.alloc(n)
	if err != nil {
		b.Fatal(err)
	}
	defer d.free(dev)
	pageable := make([]byte, n)
	pinned, err := d.hostAlloc(n)
	if err != nil {
		b.Fatal(err)
	}
	defer d.hostFree(pinned)
	for _, c := range []struct {
		name string
		host unsafe.Pointer
	}{{"pageable", unsafe.Pointer(&pageable[0])}, {"pinned", pinned}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(2 * n)
			for b.Loop() {
				if err := d.upload(dev, c.host, n); err != nil {
					b.Fatal(err)
				}
				if err := d.download(c.host, dev, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
