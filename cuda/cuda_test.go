package cuda

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/radon"
)

// device opens GPU 0 or skips with the reason; with CTRECON_REQUIRE_GPU=1
// a missing GPU fails the test instead (a GPU machine's check run).
func device(t testing.TB) *Device {
	t.Helper()
	d, err := Open(0)
	if err != nil {
		if os.Getenv("CTRECON_REQUIRE_GPU") == "1" {
			t.Fatalf("CTRECON_REQUIRE_GPU=1 but: %v", err)
		}
		t.Skipf("no GPU: %v", err)
	}
	t.Logf("device: %v", d)
	return d
}

// TestOpenWithoutDeviceIsAnError runs everywhere: on a machine without
// CUDA, Open must return an error wrapping ErrNoDevice, not crash.
func TestOpenWithoutDeviceIsAnError(t *testing.T) {
	d, err := Open(0)
	if err != nil {
		if !errors.Is(err, ErrNoDevice) {
			t.Fatalf("Open failed with an error that does not wrap ErrNoDevice: %v", err)
		}
		t.Logf("no device here: %v", err)
		return
	}
	if _, err := Open(-1); !errors.Is(err, ErrNoDevice) {
		t.Errorf("Open(-1) on a machine with %v: %v, want ErrNoDevice", d, err)
	}
}

// geometries draws parallel and fan geometries with random sizes,
// detectors, spacings and offsets (as radon's adjoint suite does).
func geometries(rng *rand.Rand, count int) []radon.Geometry {
	var gs []radon.Geometry
	for len(gs) < count {
		n := 1 + rng.IntN(80)
		na := 1 + rng.IntN(40)
		as := make([]float64, na)
		for i := range as {
			as[i] = rng.Float64() * 2 * math.Pi
		}
		var g radon.Geometry
		if rng.IntN(2) == 0 {
			g = radon.NewGeometry(n, as)
		} else {
			g = radon.NewFanGeometry(n, as, float64(n)*(0.75+3*rng.Float64()), float64(n)*2*rng.Float64())
			g.Detector = radon.Detector(rng.IntN(2))
		}
		g.NDet = 1 + rng.IntN(2*n+4)
		g.DetSpacing *= 0.5 + rng.Float64()
		g.CenterOffset = 4 * (rng.Float64() - 0.5)
		gs = append(gs, g)
	}
	return gs
}

func randVec(n int, rng *rand.Rand) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestGPU checks, on 120 random geometries: the adjoint identity (≤ 1e-5
// relative), GPU = CPU (≤ 1e-5 relative; the kernels follow the CPU
// references bit for bit, so the log says how many results were identical),
// a batch of 3 equal to three single slices, and identical results run to
// run.
func TestGPU(t *testing.T) {
	d := device(t)
	rng := rand.New(rand.NewPCG(14, 1))
	var worstAdj, worstCPU float64
	identical, total := 0, 0
	for gi, g := range geometries(rng, 120) {
		p, err := d.NewProjector(g)
		if err != nil {
			t.Fatal(err)
		}
		cpu := radon.NewProjector(g)
		m, n := p.Dims()
		if e := linop.AdjointError(p, rng); !(e <= 1e-5) {
			t.Errorf("geometry %d (%v, N=%d): adjoint error %.3g", gi, g.Beam, g.N, e)
		} else {
			worstAdj = math.Max(worstAdj, e)
		}
		const k = 3
		x, y := randVec(k*n, rng), randVec(k*m, rng)
		for _, dir := range []struct {
			name     string
			in       []float32
			out, ref int
			gpu, cpu func(dst, src []float32, k int)
		}{
			{"forward", x, m, n, p.ApplyBatch, cpu.ApplyBatch},
			{"back", y, n, m, p.AdjointBatch, cpu.AdjointBatch},
		} {
			got, want := make([]float32, k*dir.out), make([]float32, k*dir.out)
			dir.gpu(got, dir.in, k)
			dir.cpu(want, dir.in, k)
			if err := p.Err(); err != nil {
				t.Fatalf("geometry %d %s: %v", gi, dir.name, err)
			}
			var dd, ss float64
			same := true
			for i := range got {
				e := float64(got[i] - want[i])
				dd += e * e
				ss += float64(want[i]) * float64(want[i])
				same = same && got[i] == want[i]
			}
			if e := math.Sqrt(dd / math.Max(ss, 1e-30)); !(e <= 1e-5) {
				t.Errorf("geometry %d (%v, N=%d) %s: GPU differs from CPU by %.3g", gi, g.Beam, g.N, dir.name, e)
			} else {
				worstCPU = math.Max(worstCPU, e)
			}
			total++
			if same {
				identical++
			}
			// Batched equals single slices, and a rerun is identical.
			for b := 0; b < k; b++ {
				one := make([]float32, dir.out)
				dir.gpu(one, dir.in[b*dir.ref:(b+1)*dir.ref], 1)
				for i := range one {
					if one[i] != got[b*dir.out+i] {
						t.Fatalf("geometry %d %s: slice %d of a batch differs from the single-slice result at %d", gi, dir.name, b, i)
					}
				}
			}
			again := make([]float32, k*dir.out)
			dir.gpu(again, dir.in, k)
			for i := range again {
				if again[i] != got[i] {
					t.Fatalf("geometry %d %s: a second run differs at %d", gi, dir.name, i)
				}
			}
		}
		p.Close()
	}
	t.Logf("worst adjoint error %.2g, worst GPU−CPU difference %.2g, %d of %d results identical to the CPU's bit for bit", worstAdj, worstCPU, identical, total)
}

// TestGPUBatchOfManySlices covers more slices than one thread of the
// back-projection handles (8), with a remainder.
func TestGPUBatchOfManySlices(t *testing.T) {
	d := device(t)
	rng := rand.New(rand.NewPCG(14, 2))
	g := radon.NewGeometry(33, radon.EqualAngles(17))
	p, err := d.NewProjector(g)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cpu := radon.NewProjector(g)
	m, n := p.Dims()
	const k = 19
	y := randVec(k*m, rng)
	got, want := make([]float32, k*n), make([]float32, k*n)
	if err := p.Back(got, y, k); err != nil {
		t.Fatal(err)
	}
	cpu.AdjointBatch(want, y, k)
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5*(1+math.Abs(float64(want[i])))) {
			t.Fatalf("slice %d pixel %d: GPU %g, CPU %g", i/n, i%n, got[i], want[i])
		}
	}
}

// TestShapeErrors: wrong lengths are errors from Forward/Back and panics
// from the linop methods, never a device call.
func TestShapeErrors(t *testing.T) {
	d := device(t)
	p, err := d.NewProjector(radon.NewGeometry(8, radon.EqualAngles(4)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m, n := p.Dims()
	if err := p.Forward(make([]float32, m), make([]float32, n+1), 1); !errors.Is(err, linop.ErrShape) {
		t.Errorf("Forward with a wrong image length: %v", err)
	}
	if err := p.Back(make([]float32, n), make([]float32, 2*m), 1); !errors.Is(err, linop.ErrShape) {
		t.Errorf("Back with a wrong sinogram length: %v", err)
	}
	if p.Err() != nil {
		t.Errorf("a shape error was recorded as a device failure: %v", p.Err())
	}
}

// TestGPUFBP: FBP's back-projection on the GPU equals radon.FBP (≤ 1e-5
// relative; bit for bit expected), and radon.FBP with the device as its
// backend gives the same image.
func TestGPUFBP(t *testing.T) {
	d := device(t)
	rng := rand.New(rand.NewPCG(14, 5))
	g := radon.NewGeometry(64, radon.EqualAngles(45))
	y := randVec(g.SinoLen(), rng)
	s := radon.FBPSettings{Filter: radon.Hann}
	want := make([]float32, g.ImageLen())
	if err := radon.FBP(want, y, g, s); err != nil {
		t.Fatal(err)
	}
	r, err := radon.NewFBPRows(y, g, s)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, g.ImageLen())
	if err := d.BackprojectFBP(got, r); err != nil {
		t.Fatal(err)
	}
	radon.SetBackend(d)
	defer radon.SetBackend(nil)
	viaBackend := make([]float32, g.ImageLen())
	if err := radon.FBP(viaBackend, y, g, s); err != nil {
		t.Fatal(err)
	}
	sameFBP(t, "parallel", got, want, viaBackend)
}

// sameFBP checks a GPU back-projection against the CPU's FBP (≤ 1e-5
// relative) and radon.FBP through the device as backend against the
// direct call (equal), and logs how many pixels are bit-identical.
func sameFBP(t *testing.T, what string, got, want, viaBackend []float32) {
	t.Helper()
	same := 0
	for i := range want {
		if e := math.Abs(float64(got[i] - want[i])); !(e <= 1e-5*(1+math.Abs(float64(want[i])))) {
			t.Fatalf("%s: pixel %d: GPU %g, CPU %g", what, i, got[i], want[i])
		}
		if viaBackend[i] != got[i] {
			t.Fatalf("%s: pixel %d: radon.FBP through the backend %g, direct %g", what, i, viaBackend[i], got[i])
		}
		if got[i] == want[i] {
			same++
		}
	}
	t.Logf("%s: %d of %d pixels identical to the CPU's", what, same, len(want))
}

// TestGPUFanFBP: fan-beam FBP with the device as backend equals the CPU's
// within 1e-5 (flat detectors bit for bit expected; arc up to atan2's last
// bit), and the backend call equals the direct one.
func TestGPUFanFBP(t *testing.T) {
	d := device(t)
	rng := rand.New(rand.NewPCG(14, 7))
	for _, g := range fanGeometries() {
		y := randVec(g.SinoLen(), rng)
		s := radon.FBPSettings{Filter: radon.Hann}
		want := make([]float32, g.ImageLen())
		if err := radon.FBP(want, y, g, s); err != nil {
			t.Fatal(err)
		}
		r, err := radon.NewFanFBPRows(y, g, s)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, g.ImageLen())
		if err := d.BackprojectFanFBP(got, r); err != nil {
			t.Fatal(err)
		}
		radon.SetBackend(d)
		viaBackend := make([]float32, g.ImageLen())
		err = radon.FBP(viaBackend, y, g, s)
		radon.SetBackend(nil)
		if err != nil {
			t.Fatal(err)
		}
		sameFBP(t, g.Detector.String()+" detector", got, want, viaBackend)
	}
}

// TestGPUForwardPairs: the pair-image forward (forwardPairs) gives the
// default kernel's numbers, the CPU's, bit for bit.
func TestGPUForwardPairs(t *testing.T) {
	d := device(t)
	forwardPairs = true
	defer func() { forwardPairs = false }()
	rng := rand.New(rand.NewPCG(14, 8))
	for _, g := range geometries(rng, 20) {
		forwardMatchesCPU(t, d, g, rng, "pair-image forward")
	}
}

// forwardMatchesCPU checks the device's forward projection of 3 random
// images in g against radon's projector, bit for bit.
func forwardMatchesCPU(t *testing.T, d *Device, g radon.Geometry, rng *rand.Rand, what string) {
	t.Helper()
	p, err := d.NewProjector(g)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m, n := p.Dims()
	const k = 3
	x := randVec(k*n, rng)
	got, want := make([]float32, k*m), make([]float32, k*m)
	if err := p.Forward(got, x, k); err != nil {
		t.Fatal(err)
	}
	radon.NewProjector(g).ApplyBatch(want, x, k)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%v N=%d %s, value %d: %g, radon %g", g.Beam, g.N, what, i, got[i], want[i])
		}
	}
}
