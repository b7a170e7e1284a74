package cuda

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"

	"github.com/ctrecon/ctrecon/internal/fakecuda"
	"github.com/ctrecon/ctrecon/radon"
)

// TestFakeDriver builds the fake driver (internal/fakecuda) and runs TestFakeDriverChild in a
// child process that finds it through CTRECON_CUDA_LIBDIR (the driver is
// opened once per process, so the child has its own), once working and
// once with every launch faulting.
func TestFakeDriver(t *testing.T) {
	if os.Getenv("CTRECON_FAKE_CHILD") != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	if err := fakecuda.Build(dir, KernelSource); errors.Is(err, fakecuda.ErrNoCompiler) {
		t.Skip("no g++ to build the fake driver with")
	} else if err != nil {
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
	// The pair-image forward (forwardPairs), parallel and fan.
	forwardPairs = true
	for _, g := range []radon.Geometry{radon.NewGeometry(29, radon.EqualAngles(13)), fan} {
		forwardMatchesCPU(t, d, g, rng, "pair-image forward")
	}
	forwardPairs = false
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
	// Fan-beam FBP through the device (flat detector: bit for bit).
	g = radon.NewFanGeometry(27, radon.FullAngles(24), 50, 30)
	sino = randVec(g.SinoLen(), rng)
	want, got = make([]float32, g.ImageLen()), make([]float32, g.ImageLen())
	radon.SetBackend(nil)
	if err := radon.FBP(want, sino, g, s); err != nil {
		t.Fatal(err)
	}
	radon.SetBackend(d)
	if err := radon.FBP(got, sino, g, s); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] || math.IsNaN(float64(got[i])) {
			t.Fatalf("fan-beam FBP through the fake device, pixel %d: %g, CPU %g", i, got[i], want[i])
		}
	}
	op, err := radon.NewOperator(g)
	if _, ok := op.(*Projector); !ok || err != nil {
		t.Errorf("radon.NewOperator with the device as backend gave %T (%v)", op, err)
	}
}
