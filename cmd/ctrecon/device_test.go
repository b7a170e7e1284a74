package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/cuda"
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
