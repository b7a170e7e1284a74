package main

import (
	"fmt"

	"github.com/ctrecon/ctrecon/cuda"
	"github.com/ctrecon/ctrecon/radon"
)

// deviceHelp is --device's help text.
const deviceHelp = "where projections run: cpu, gpu (an NVIDIA GPU through the CUDA driver and NVRTC, loaded at run time; an error if there is none) or auto (the GPU when one is found, else the CPU; -v says which). The GPU gives the CPU's numbers bit for bit (checked on an H200 by scripts/gpu-check.sh)"

// selectDevice sets the ray transform's backend (radon.NewOperator) from
// --device.
func selectDevice(mode string) error {
	switch mode {
	case "cpu":
		radon.SetBackend(nil)
		return nil
	case "auto", "gpu":
		d, err := cuda.Open(0)
		if err != nil {
			radon.SetBackend(nil)
			if mode == "gpu" {
				return fmt.Errorf("--device gpu: %w", err)
			}
			debugf("--device auto: projections on the CPU (%v)", err)
			return nil
		}
		radon.SetBackend(d)
		debugf("--device %s: projections on %v", mode, d)
		return nil
	}
	return usagef("--device %q: want cpu, gpu or auto", mode)
}

// backendTag is appended to resume fingerprints: empty on the CPU, so
// that runs started before the GPU backend still resume.
func backendTag() string {
	if b := radon.BackendName(); b != "cpu" {
		return " backend=" + b
	}
	return ""
}
