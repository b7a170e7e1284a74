package pipeline_test

import (
	"context"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/pipeline"
	"github.com/ctrecon/ctrecon/radon"
	"github.com/ctrecon/ctrecon/volume"
)

// The three steps a user runs from the command line (dip, uncertainty,
// plan), from Go: a simulated scan of a 16² phantom, its DIP, the DIP's
// linearised uncertainty with 32 posterior samples, and the next 3 angles.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "ctrecon-example")
	defer os.RemoveAll(dir)
	const n = 16

	p, _ := phantoms.Builtin("ellipses", 1, 0)
	img := h5io.NewVolume(1, n)
	copy(img.Data, p.Image(n, 4))
	sim := &pipeline.Simulation{Image: img, Geometry: radon.NewGeometry(n, radon.EqualAngles(8)), Noise: 0.05, Seed: 1}
	scan, err := sim.Run(ctx)
	if err != nil {
		log.Fatal(err)
	}

	arch, _ := dip.Preset("small")
	fit := dip.DefaultFitSettings(n, scan.Angles(), 0.05)
	fit.MaxIter, fit.Seed = 100, 1
	dv := &pipeline.DIPVolume{Scan: scan, Out: filepath.Join(dir, "dip.h5"), Range: volume.Range{Lo: 0, Hi: 1},
		Preset: "small", Arch: arch, Fit: fit, Input: "fbp", Stop: "discrepancy", CheckpointEvery: 100}
	if err := dv.Run(ctx); err != nil {
		log.Fatal(err)
	}
	rc, _ := h5io.ReadRecon(dv.Out)
	model, _ := dip.ReadModel(dv.Out, rc)

	uq := &pipeline.UQVolume{Scan: scan, Recon: rc, ReconPath: dv.Out, Model: model, Out: filepath.Join(dir, "uq.h5"),
		Options: pipeline.UQOptions{Regime: "auto", Fit: "auto", Steps: 30, Samples: 32, Rank: 300, PriorMean: "init", GPriorProbes: 64, Seed: 1}}
	if err := uq.Run(ctx); err != nil {
		log.Fatal(err)
	}
	urc, _ := h5io.ReadRecon(uq.Out)

	plan := &pipeline.PlanJob{Scan: scan, ScanPath: "scan", Recon: urc, ReconPath: uq.Out, Criterion: design.EIG,
		Candidates: 200, Range: design.Interval{Lo: 0, Hi: math.Pi}, Next: 3, Samples: 32, Seed: 1}
	res, err := plan.Run(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.File.Selected), "angles chosen")
	// Output: 3 angles chosen
}
