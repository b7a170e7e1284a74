package pipeline

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

// TestSimulation: noise of relative level η has σ = η·mean|A x|, the same
// seed gives the same scan and another seed other noise; the analytic
// sinogram needs a phantom; photon counts set the noise level from the
// counts and keep the raw data.
func TestSimulation(t *testing.T) {
	const n = 24
	p, err := phantoms.Builtin("ellipses", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	img := h5io.NewVolume(1, n)
	copy(img.Data, p.Image(n, 4))
	geo := radon.NewGeometry(n, radon.EqualAngles(15))
	run := func(s Simulation) *h5io.Scan {
		t.Helper()
		s.Image, s.Geometry = h5io.Volume{Slices: 1, N: n, Data: slices.Clone(img.Data)}, geo
		scan, err := s.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return scan
	}
	clean := run(Simulation{Seed: 1})
	var mean float64
	for _, v := range clean.Data {
		mean += math.Abs(float64(v))
	}
	mean /= float64(len(clean.Data))
	a, b, c := run(Simulation{Noise: 0.05, Seed: 1}), run(Simulation{Noise: 0.05, Seed: 1}), run(Simulation{Noise: 0.05, Seed: 2})
	if math.Abs(a.NoiseStd-0.05*mean) > 1e-6*mean || a.NoiseRel != 0.05 {
		t.Errorf("σ %g, want η·mean|Ax| = %g", a.NoiseStd, 0.05*mean)
	}
	if !slices.Equal(a.Data, b.Data) || slices.Equal(a.Data, c.Data) {
		t.Error("not reproducible from the seed, or the same for another seed")
	}
	if _, err := (&Simulation{Image: img, Geometry: geo, Analytic: true}).Run(context.Background()); err == nil {
		t.Error("an analytic sinogram without a phantom")
	}
	counts := run(Simulation{Photons: 1e4, Flats: 2, Seed: 1})
	if counts.Raw == nil || !(counts.NoiseStd > 0) || counts.NoiseRel != 0 {
		t.Errorf("photon counts: raw %v, σ %g", counts.Raw != nil, counts.NoiseStd)
	}
}
