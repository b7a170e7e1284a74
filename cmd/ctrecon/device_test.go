package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/cuda"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/internal/fakecuda"
	"github.com/ctrecon/ctrecon/radon"
)

// TestDeviceFlag: --device cpu and auto always work (auto falls back to
// the CPU without a GPU); --device gpu without one is a runtime error
// (exit 1) that names the reason and writes nothing; a bad value is a
// usage error. Every run leaves radon's backend as the flag says.
func TestDeviceFlag(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "phantom", "--size", "16", "-o", p("img.h5"))
	mustRun(t, "--device", "auto", "simulate", "-i", p("img.h5"), "--angles", "8", "-o", p("s.h5"))
	mustRun(t, "--device", "auto", "fbp", "-i", p("s.h5"), "-o", p("fbp-auto.h5"))
	_, gpuErr := cuda.Open(0)
	_, err := run(t, context.Background(), "--device", "gpu", "fbp", "-i", p("s.h5"), "-o", p("fbp-gpu.h5"))
	if gpuErr != nil {
		if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "--device gpu") || !errors.Is(err, cuda.ErrNoDevice) {
			t.Errorf("--device gpu without a GPU: err %v (exit %d), want exit 1 naming --device gpu and the reason", err, exitCode(errOrNil(err)))
		}
		if _, err := os.Stat(p("fbp-gpu.h5")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("--device gpu without a GPU wrote its output")
		}
		if radon.BackendName() != "cpu" {
			t.Errorf("backend %q after a failed --device gpu, want cpu", radon.BackendName())
		}
	} else if err != nil {
		t.Errorf("--device gpu with %v: %v", radon.BackendName(), err)
	}
	if _, err := run(t, context.Background(), "--device", "tpu", "fbp", "-i", p("s.h5"), "-o", p("x.h5")); err == nil || exitCode(err) != 2 {
		t.Errorf("--device tpu: err %v, want a usage error (exit 2)", err)
	}
	mustRun(t, "--device", "cpu", "fbp", "-i", p("s.h5"), "-o", p("fbp-cpu.h5"))
	if radon.BackendName() != "cpu" {
		t.Errorf("backend %q after --device cpu", radon.BackendName())
	}
}

// TestDeviceGPUWithFakeDriver runs the CLI with --device gpu on the fake
// CUDA driver (internal/fakecuda: the real kernels run on the host inside
// it) in a child process, and checks that fbp, tv, sirt and dip write the
// same images bit for bit as with --device cpu, having launched kernels
// with gpu and none with cpu: the whole path from the flag through
// radon.NewOperator (and FBP's backend) to the kernels and back.
func TestDeviceGPUWithFakeDriver(t *testing.T) {
	if os.Getenv("CTRECON_FAKE_CLI_CHILD") != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	if err := fakecuda.Build(dir, cuda.KernelSource); errors.Is(err, fakecuda.ErrNoCompiler) {
		t.Skip("no g++ to build the fake driver with")
	} else if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestDeviceGPUChild$", "-test.v")
	cmd.Env = append(os.Environ(), cuda.LibDirEnv+"="+dir, "CTRECON_FAKE_CLI_CHILD="+t.TempDir(), "FAKE_CUDA_LOG="+filepath.Join(dir, "launches.log"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	} else {
		t.Logf("child:\n%s", out)
	}
}

// TestDeviceGPUChild is TestDeviceGPUWithFakeDriver's child.
func TestDeviceGPUChild(t *testing.T) {
	d := os.Getenv("CTRECON_FAKE_CLI_CHILD")
	if d == "" {
		t.Skip("runs as TestDeviceGPUWithFakeDriver's child")
	}
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "phantom", "--size", "24", "-o", p("img.h5"))
	mustRun(t, "simulate", "-i", p("img.h5"), "--angles", "12", "-o", p("s.h5"))
	launches := func() int { // kernels the fake driver has run so far
		b, _ := os.ReadFile(os.Getenv("FAKE_CUDA_LOG"))
		return strings.Count(string(b), "\n")
	}
	for _, dev := range []string{"cpu", "gpu"} {
		for _, args := range [][]string{
			{"fbp", "-i", p("s.h5"), "-o", p("fbp-" + dev + ".h5")},
			{"tv", "-i", p("s.h5"), "--iters", "40", "-o", p("tv-" + dev + ".h5")},
			{"sirt", "-i", p("s.h5"), "--iters", "20", "-o", p("sirt-" + dev + ".h5")},
			{"dip", "-i", p("s.h5"), "--iters", "15", "-o", p("dip-" + dev + ".h5")},
		} {
			before := launches()
			mustRun(t, append([]string{"--device", dev}, args...)...)
			if n := launches() - before; (dev == "gpu") != (n > 0) {
				t.Errorf("--device %s %s: %d kernel launches", dev, args[0], n)
			}
		}
		if want := map[string]string{"cpu": "cpu", "gpu": "gpu Fake GPU"}[dev]; !strings.HasPrefix(radon.BackendName(), want) {
			t.Fatalf("--device %s: backend %q", dev, radon.BackendName())
		}
	}
	for _, m := range []string{"fbp", "tv", "sirt", "dip"} {
		a, err := h5io.ReadRecon(p(m + "-cpu.h5"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := h5io.ReadRecon(p(m + "-gpu.h5"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range a.Image.Data {
			if a.Image.Data[i] != b.Image.Data[i] {
				t.Fatalf("%s: pixel %d: --device gpu %g, cpu %g", m, i, b.Image.Data[i], a.Image.Data[i])
			}
		}
	}
}
