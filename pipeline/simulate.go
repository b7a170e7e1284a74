package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

// Simulation is a simulated scan of a volume: each slice projected in
// Geometry (by the projector, on a finer grid with Oversample > 1, or
// exactly from the built-in Phantom's analytic description with
// Analytic), then Gaussian noise of relative level Noise, or with Photons
// > 0 raw photon counts with flat and dark fields. Seeded: the same
// settings give the same scan.
type Simulation struct {
	Image    h5io.Volume // the ground truth
	Geometry radon.Geometry
	// Degrees are the angles as the scan file records them (Geometry.Angles
	// are their radians); nil: converted from Geometry.
	Degrees    []float64
	Phantom    string // the built-in kind Image was drawn from ("" for an image file)
	Analytic   bool   // the phantom's exact bin-averaged line integrals
	Oversample int    // > 1: pixel images projected on a grid this much finer
	Noise      float64
	// Raw counts: photons per bin of the unattenuated beam, the attenuation
	// per pixel of value 1 (0: chosen so the most attenuated ray keeps
	// e^-2 of the beam) and the number of flat fields.
	Photons     float64
	Attenuation float64
	Flats       int
	Seed        uint64

	Hooks
}

// Run projects and adds the noise, and returns the scan file's contents.
func (s *Simulation) Run(ctx context.Context) (*h5io.Scan, error) {
	geo, img := s.Geometry, s.Image
	if img.N != geo.N {
		return nil, fmt.Errorf("simulate: a %d² image in a geometry for %d²", img.N, geo.N)
	}
	if s.Analytic && s.Phantom == "" {
		return nil, fmt.Errorf("simulate: analytic sinograms need a built-in phantom")
	}
	deg := s.Degrees
	if deg == nil {
		deg = make([]float64, len(geo.Angles))
		for i, a := range geo.Angles {
			deg[i] = a * 180 / math.Pi
		}
	} else if len(deg) != len(geo.Angles) {
		return nil, fmt.Errorf("simulate: %d angles in degrees for a geometry of %d", len(deg), len(geo.Angles))
	}
	proj := radon.NewProjector(geo)
	scan := &h5io.Scan{ThetaDeg: deg, Slices: img.Slices, NDet: geo.NDet, ImageSize: img.N,
		DetSpacing: geo.DetSpacing, GroundTruth: &img,
		Data: make([]float32, len(deg)*img.Slices*geo.NDet)}
	SetScanGeometry(scan, geo)
	sino := make([]float32, geo.SinoLen())
	bar := s.bar(img.Slices, "projecting")
	for k := 0; k < img.Slices; k++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		switch {
		case s.Analytic:
			p, err := phantoms.Builtin(s.Phantom, s.Seed, k)
			if err != nil {
				return nil, err
			}
			sino = p.BinSinogram(geo)
		case s.Oversample > 1:
			if sino, err = radon.ProjectOversampled(img.Slice(k), geo, s.Oversample); err != nil {
				return nil, err
			}
		default:
			proj.Apply(sino, img.Slice(k))
		}
		scan.SetSinogram(k, sino)
		bar.Add(1)
	}
	bar.Finish()
	scan.Attrs = []h5io.Attr{{Name: "seed", Value: int(s.Seed)}}
	if s.Phantom != "" {
		scan.Attrs = append(scan.Attrs, h5io.Attr{Name: "phantom", Value: s.Phantom})
	}
	if s.Analytic {
		scan.Attrs = append(scan.Attrs, h5io.Attr{Name: "analytic", Value: 1})
	}
	if s.Oversample > 1 {
		scan.Attrs = append(scan.Attrs, h5io.Attr{Name: "oversample", Value: s.Oversample})
	}
	if s.Photons > 0 {
		if err := s.counts(scan); err != nil {
			return nil, err
		}
	} else if s.Noise > 0 {
		// One σ for the whole scan (mean |A x| over every slice), seeded.
		rng := rand.New(rand.NewPCG(s.Seed, 0x6e6f697365))
		scan.NoiseStd = radon.AddNoise(scan.Data, scan.Data, s.Noise, rng)
		scan.NoiseRel = s.Noise
	}
	return scan, nil
}

// counts turns scan's line integrals into raw photon counts with flat and
// dark fields: it scales the line integrals and the ground truth by the
// attenuation, draws the counts and flats (seeded), and sets the noise
// level from the counts.
func (s *Simulation) counts(scan *h5io.Scan) error {
	if s.Flats < 1 {
		return fmt.Errorf("simulate: %d flat fields: want at least 1", s.Flats)
	}
	a := s.Attenuation
	if a == 0 {
		var peak float64
		for _, v := range scan.Data {
			peak = math.Max(peak, float64(v))
		}
		if !(peak > 0) {
			return fmt.Errorf("the image projects to zero everywhere: nothing attenuates the beam, so --attenuation cannot be chosen; give it")
		}
		a = 2 / peak
	}
	li := make([]float32, len(scan.Data))
	for i, v := range scan.Data {
		li[i] = float32(a * float64(v))
	}
	for i, v := range scan.GroundTruth.Data {
		scan.GroundTruth.Data[i] = float32(a * float64(v))
	}
	per := scan.Slices * scan.NDet
	src := rand.NewPCG(s.Seed, 0x70686f746f6e) // "photon"
	raw := &h5io.RawCounts{Data: make([]float32, len(li)), White: make([]float32, s.Flats*per), NWhite: s.Flats,
		Dark: make([]float32, per), NDark: 1}
	radon.PoissonCounts(raw.Data, li, s.Photons, src)
	radon.PoissonCounts(raw.White, make([]float32, len(raw.White)), s.Photons, src)
	_, clipped, inv, err := raw.Normalize(scan.Angles(), scan.Slices, scan.NDet)
	if err != nil {
		return err
	}
	scan.Raw = raw
	scan.NoiseStd, scan.NoiseRel = math.Sqrt(inv), 0
	scan.Attrs = append(scan.Attrs, h5io.Attr{Name: "photons", Value: s.Photons}, h5io.Attr{Name: "attenuation_scale", Value: a},
		h5io.Attr{Name: "noise_model", Value: "poisson"})
	s.logf("photon counts: %.4g photons per bin, attenuation %.4g per pixel of value 1 (ground truth scaled by it), %d flat fields; "+
		"%d zero counts; Poisson noise level √mean(1/count) = %.4g", s.Photons, a, s.Flats, clipped, scan.NoiseStd)
	return nil
}
