package main

import (
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/pipeline"
	"github.com/ctrecon/ctrecon/radon"
)

type simulateOpts struct {
	in, phantom string
	size, count int
	angles      int
	theta       string
	noise       float64
	analytic    bool
	ndet        int
	oversample  int
	detSpacing  float64
	geometry    string
	sourceDist  float64
	detDist     float64
	detector    string
	center      float64
	photons     float64
	attenuation float64
	flats       int
	out         string
}

func simulateCmd() *cobra.Command {
	var o simulateOpts
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Project an image into a noisy sparse-view scan file",
		Long: `Simulates a scan y = A x + ε of an image file (-i) or a built-in phantom
(--phantom), and writes it in the DXchange layout (/exchange/data
[angles][slices][NDet], /exchange/theta in degrees) with the image as
/exchange/ground_truth.

Geometry: parallel beam (default; --angles over [0°, 180°)) or --geometry fan:
a point source --source-distance D pixels from the rotation centre and a flat
(or --detector arc) detector --detector-distance E beyond it, --angles over
[0°, 360°). A fan's default detector sees the whole image with bins of one
pixel at the rotation centre (width (D+E)/D at the detector). --center OFF
puts the rotation axis OFF bins from the detector's centre (either beam).
The geometry is stored as attributes of /exchange/data (geometry,
source_distance, detector_distance, detector, det_spacing, center_offset),
and every command reads it from there.

Photon counts: --photons I0 simulates a raw scan instead: each bin counts a
Poisson number of photons with mean I0·exp(−a·p) (Beer–Lambert), p the line
integral of the image and a = --attenuation (0: chosen so that the densest
ray keeps exp(−2) ≈ 14% of its photons; image value 1 then attenuates a per
pixel), and the file holds the counts as /exchange/data with --flats flat
fields (Poisson(I0)) as /exchange/data_white and one dark field of zeros as
/exchange/data_dark, DXchange's layout for raw data. Every command then
reconstructs −log((data − dark)/(white − dark)), so the ground truth is
stored as a·image; noise_std is the Poisson level √mean(1/count) of those
line integrals (their noise is not uniform: a dense ray is noisier), and
--noise does not apply.

Noise: ε ~ N(0, σ²) with σ = η·mean|A x| (η = --noise, relative white noise),
seeded by --seed; σ is stored as the noise_std attribute.

--analytic (built-in phantoms only) computes the exact line integrals of the
phantom's ellipses/rectangles averaged over each detector bin, instead of
projecting the pixel image: simulated data without the "inverse crime".
For image files, --oversample K projects the image on a K× finer grid (each
pixel a constant square) for the same reason.`,
		Example: `  ctrecon simulate -i sl.h5 --angles 30 --noise 0.05 -o scan.h5
  ctrecon simulate --phantom shepp-logan --size 128 --analytic --angles 30 -o scan.h5
  ctrecon simulate --phantom rectangles --count 20 --theta 0,12.5,40 -o scan.h5
  ctrecon simulate --phantom shepp-logan --size 128 --analytic --photons 1e4 --angles 60 -o raw.h5
  ctrecon simulate --phantom shepp-logan --size 128 --analytic --geometry fan \
      --source-distance 300 --detector-distance 200 --angles 60 -o fan.h5`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSimulate(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.in, "in", "i", "", "image file to project (/image)")
	f.StringVar(&o.phantom, "phantom", "", "built-in phantom instead of -i: shepp-logan, ellipses or rectangles")
	f.IntVar(&o.size, "size", 128, "with --phantom: image size N")
	f.IntVar(&o.count, "count", 1, "with --phantom: number of slices (independent random draws)")
	f.IntVar(&o.angles, "angles", 30, "number of angles, equally spaced in [0°, 180°) (fan beam: [0°, 360°))")
	f.StringVar(&o.theta, "theta", "", "explicit angles in degrees, comma separated (instead of --angles)")
	f.Float64Var(&o.noise, "noise", 0.05, "relative noise level η (0 = noise free)")
	f.BoolVar(&o.analytic, "analytic", false, "exact line integrals of the built-in phantom (needs --phantom)")
	f.IntVar(&o.oversample, "oversample", 1, "with -i: project on a grid this many times finer (pixels as constant squares), to avoid the inverse crime")
	f.IntVar(&o.ndet, "ndet", 0, "detector bins (0 = as many as see the whole image: 2·ceil(√2·N/2)+1 in parallel beam)")
	f.Float64Var(&o.detSpacing, "det-spacing", 0, "detector bin width in pixels, at the detector (0 = 1 in parallel beam, the magnification in fan beam)")
	f.StringVar(&o.geometry, "geometry", "parallel", "beam geometry: parallel or fan")
	f.Float64Var(&o.sourceDist, "source-distance", 0, "fan beam: source to rotation centre, pixels (beyond the image's half diagonal N/√2)")
	f.Float64Var(&o.detDist, "detector-distance", 0, "fan beam: rotation centre to detector, pixels")
	f.StringVar(&o.detector, "detector", "flat", "fan beam: detector shape, flat or arc")
	f.Float64Var(&o.center, "center", 0, "rotation-axis offset from the detector's centre, in bins")
	f.Float64Var(&o.photons, "photons", 0, "simulate raw photon counts with this many incident photons per bin (0: line integrals with --noise)")
	f.Float64Var(&o.attenuation, "attenuation", 0, "with --photons: attenuation per pixel of image value 1 (0: the densest ray keeps 14% of its photons)")
	f.IntVar(&o.flats, "flats", 4, "with --photons: number of flat-field frames")
	f.StringVarP(&o.out, "out", "o", "", "output scan file (.h5)")
	return cmd
}

func runSimulate(cmd *cobra.Command, o simulateOpts) error {
	if err := checkOutput(o.out, o.in); err != nil {
		return err
	}
	if (o.in == "") == (o.phantom == "") {
		return usagef("give exactly one of -i IMAGE and --phantom KIND")
	}
	if o.analytic && o.phantom == "" {
		return usagef("--analytic needs --phantom (an image file has no analytic description)")
	}
	if o.oversample < 1 {
		return usagef("--oversample must be ≥ 1")
	}
	if !(o.noise >= 0) {
		return usagef("--noise must be ≥ 0")
	}
	if o.photons != 0 {
		if !(o.photons > 0) || math.IsInf(o.photons, 0) {
			return usagef("--photons must be a positive number of photons per bin")
		}
		if cmd.Flags().Changed("noise") {
			return usagef("--noise does not apply with --photons: the photon statistics are the noise")
		}
		if o.flats < 1 {
			return usagef("--flats must be ≥ 1")
		}
		if !(o.attenuation >= 0) || math.IsInf(o.attenuation, 0) {
			return usagef("--attenuation must be ≥ 0")
		}
	} else {
		for _, name := range []string{"attenuation", "flats"} {
			if cmd.Flags().Changed(name) {
				return usagef("--%s is for raw counts: add --photons I0", name)
			}
		}
	}
	beam, err := radon.ParseBeam(o.geometry)
	if err != nil {
		return usageError{err}
	}
	det, err := radon.ParseDetector(o.detector)
	if err != nil {
		return usageError{err}
	}
	if beam != radon.Fan {
		for _, name := range []string{"source-distance", "detector-distance", "detector"} {
			if cmd.Flags().Changed(name) {
				return usagef("--%s is for fan beam: add --geometry fan", name)
			}
		}
	} else if !cmd.Flags().Changed("source-distance") {
		return usagef("--geometry fan needs --source-distance D (pixels from the source to the rotation centre; e.g. 2·N)")
	}
	deg, err := anglesFromFlags(o.angles, o.theta, cmd.Flags().Changed("angles"), cmd.Flags().Changed("theta"))
	if err != nil {
		return err
	}
	if beam == radon.Fan && !cmd.Flags().Changed("theta") {
		for i := range deg {
			deg[i] *= 2 // [0°, 360°)
		}
	}
	var img h5io.Volume
	if o.in != "" {
		f, err := h5io.ReadImage(o.in)
		if err != nil {
			return err
		}
		img = f.Image
	} else {
		if !isBuiltin(o.phantom) {
			_, err := builtinPhantom(o.phantom, 0, 0)
			return err
		}
		img, _, err = makePhantom(phantomOpts{kind: o.phantom, size: o.size, count: o.count, supersample: 4}, true)
		if err != nil {
			return err
		}
	}
	geo := radon.NewGeometry(img.N, radon.Radians(deg))
	if beam == radon.Fan {
		if !(o.sourceDist > float64(img.N)/math.Sqrt2) {
			return usagef("--source-distance %g must exceed the image's half diagonal %.4g pixels (the source outside the image)", o.sourceDist, float64(img.N)/math.Sqrt2)
		}
		geo = radon.NewFanGeometry(img.N, radon.Radians(deg), o.sourceDist, o.detDist)
		geo.Detector = det
	}
	if o.detSpacing != 0 {
		geo.DetSpacing = o.detSpacing
	}
	geo.CenterOffset = o.center
	geo.NDet = geo.CoveringNDet() + 2*int(math.Ceil(math.Abs(o.center)))
	if o.ndet != 0 {
		geo.NDet = o.ndet
	}
	if err := geo.Validate(); err != nil {
		return usageError{err}
	}
	start := time.Now()
	sim := &pipeline.Simulation{Image: img, Geometry: geo, Degrees: deg, Phantom: o.phantom, Analytic: o.analytic,
		Oversample: o.oversample, Noise: o.noise, Photons: o.photons, Attenuation: o.attenuation, Flats: o.flats,
		Seed: g.seed, Hooks: cliHooks()}
	scan, err := sim.Run(cmd.Context())
	if err != nil {
		return err
	}
	if err := h5io.WriteScan(o.out, scan); err != nil {
		return err
	}
	logf("wrote %s: %d angles × %d slice(s) × %d bins, σ = %.4g (%s)", o.out, len(deg), img.Slices, geo.NDet,
		scan.NoiseStd, fmtDur(time.Since(start).Seconds()))
	return nil
}
