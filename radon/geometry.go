package radon

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Geometry is a 2D scan of an N×N image (DESIGN.md §2): parallel beam (the
// zero value of Beam) or fan beam.
//
// Pixel (i, j) has centre x = j + 0.5 − N/2, y = N/2 − i − 0.5 (pixel size 1).
// Detector bin k has centre u_k = (k + 0.5 − NDet/2 − CenterOffset)·DetSpacing
// along the detector (BinCenter). In parallel beam the ray of angle θ and bin k
// is the line x cos θ + y sin θ = u_k. In fan beam the source sits at
// SourceDistance from the rotation centre, opposite the detector, whose centre
// is DetectorDistance beyond it; at angle θ the central ray runs along
// d = (−sin θ, cos θ) and the detector axis is e = (cos θ, sin θ), so θ = 0
// matches parallel beam's detector orientation. Ray describes every ray, of
// either beam, as a line; the projector, the analytic sinograms and the tests
// take their rays from it and nothing else. A sinogram is stored row-major
// [angle][bin], so it has len(Angles)·NDet values.
//
// A Geometry is a value; Subset shares nothing with its parent that either
// may later change.
type Geometry struct {
	N          int       // the image is N×N pixels
	Angles     []float64 // projection angles in radians
	NDet       int       // number of detector bins
	DetSpacing float64   // bin width, in pixels (at the detector, for fan beam)
	// CenterOffset is where the rotation axis projects onto the detector, in
	// bins from the detector's centre (0: the centre, DESIGN.md's default).
	CenterOffset float64

	Beam             Beam     // Parallel (the zero value) or Fan
	SourceDistance   float64  // fan beam: source to rotation centre, pixels
	DetectorDistance float64  // fan beam: rotation centre to detector, pixels
	Detector         Detector // fan beam: Flat (the zero value) or Arc
}

// Beam is the shape of the X-ray beam.
type Beam int

const (
	Parallel Beam = iota // parallel rays, angles over 180°
	Fan                  // rays from a point source, angles over 360°
)

func (b Beam) String() string {
	switch b {
	case Parallel:
		return "parallel"
	case Fan:
		return "fan"
	}
	return fmt.Sprintf("Beam(%d)", int(b))
}

// ParseBeam returns the beam named "parallel" or "fan".
func ParseBeam(name string) (Beam, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "parallel", "":
		return Parallel, nil
	case "fan", "fanflat", "fan-beam":
		return Fan, nil
	}
	return 0, fmt.Errorf("radon: unknown beam geometry %q (want parallel or fan)", name)
}

// Detector is the shape of a fan-beam detector.
type Detector int

const (
	Flat Detector = iota // a line perpendicular to the central ray; bins equally spaced along it
	Arc                  // an arc centred on the source; bins equally spaced in angle (arc length DetSpacing)
)

func (d Detector) String() string {
	switch d {
	case Flat:
		return "flat"
	case Arc:
		return "arc"
	}
	return fmt.Sprintf("Detector(%d)", int(d))
}

// ParseDetector returns the detector named "flat" or "arc".
func ParseDetector(name string) (Detector, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "flat", "":
		return Flat, nil
	case "arc", "curved", "equiangular":
		return Arc, nil
	}
	return 0, fmt.Errorf("radon: unknown detector shape %q (want flat or arc)", name)
}

// BinCenter returns u_k, the centre of bin k along the detector measured
// from where the rotation axis projects: (k + 0.5 − NDet/2 − CenterOffset)·
// DetSpacing. It is the one place this convention is written.
func (g Geometry) BinCenter(k int) float64 {
	return (float64(k) + 0.5 - float64(g.NDet)/2 - g.CenterOffset) * g.DetSpacing
}

// Ray returns ray (a, k), the one through bin k at angle index a, as the line
// x cos φ + y sin φ = t. For parallel beam φ = θ and t = u_k. For fan beam
// the ray leaves the source at fan angle γ from the central ray, tan γ =
// u_k/(SourceDistance + DetectorDistance) on a flat detector, γ = u_k/(that
// sum) on an arc; then φ = θ − γ and t = SourceDistance·sin γ. A fan-beam
// ray is a half line from the source, but the source lies outside the image
// disc (Validate), so the whole line meets the image where the ray does.
func (g Geometry) Ray(a, k int) (phi, t float64) {
	th, u := g.Angles[a], g.BinCenter(k)
	if g.Beam != Fan {
		return th, u
	}
	gam := g.FanAngle(u)
	return th - gam, g.SourceDistance * math.Sin(gam)
}

// FanAngle returns the angle γ between the central ray and the fan-beam ray
// that meets the detector at u (detector units from the axis's projection).
func (g Geometry) FanAngle(u float64) float64 {
	l := g.SourceDistance + g.DetectorDistance
	if g.Detector == Arc {
		return u / l
	}
	return math.Atan(u / l)
}

// Magnification is (SourceDistance + DetectorDistance)/SourceDistance for fan
// beam (how much larger an object near the rotation centre appears on the
// detector), 1 for parallel beam.
func (g Geometry) Magnification() float64 {
	if g.Beam != Fan {
		return 1
	}
	return (g.SourceDistance + g.DetectorDistance) / g.SourceDistance
}

// NewFanGeometry returns the fan-beam geometry of an n×n image with a flat
// detector: the source at sourceDist and the detector detectorDist beyond
// the rotation centre (pixels), bins of width Magnification() at the detector
// (one pixel at the rotation centre), as many as see the whole image disc
// (an odd number, as DefaultNDet). The angles (radians, usually over 2π) are
// copied. sourceDist must exceed the image's half diagonal n/√2.
func NewFanGeometry(n int, angles []float64, sourceDist, detectorDist float64) Geometry {
	g := Geometry{
		N: n, Angles: append([]float64(nil), angles...),
		Beam: Fan, SourceDistance: sourceDist, DetectorDistance: detectorDist,
	}
	g.DetSpacing = g.Magnification()
	g.NDet = g.CoveringNDet()
	return g
}

// CoveringNDet is the smallest odd number of bins of g's spacing (and shape)
// that sees every ray through the image disc of radius N/√2, centred on the
// axis. For parallel beam with unit bins it is DefaultNDet.
func (g Geometry) CoveringNDet() int {
	r := float64(g.N) / math.Sqrt2
	if g.Beam != Fan {
		return 2*int(math.Ceil(r/g.DetSpacing)) + 1
	}
	if !(g.SourceDistance > r) {
		return 0
	}
	gam := math.Asin(r / g.SourceDistance) // the disc's half fan angle
	l := g.SourceDistance + g.DetectorDistance
	half := l * math.Tan(gam)
	if g.Detector == Arc {
		half = l * gam
	}
	return 2*int(math.Ceil(half/g.DetSpacing-1e-9)) + 1
}

// Covers reports whether the detector sees every ray through the image disc
// (allowing one bin of slack at each end): false means truncated projections.
func (g Geometry) Covers() bool {
	need := g.CoveringNDet()
	if need == 0 {
		return false
	}
	lo, hi := -float64(g.NDet)/2-g.CenterOffset, float64(g.NDet)/2-g.CenterOffset // detector ends, in bins
	return lo <= -float64(need)/2+1 && hi >= float64(need)/2-1
}

// DefaultNDet is the detector size that sees every ray through an N×N image:
// 2·ceil(√2·N/2) + 1 (41 for N = 28, 183 for N = 128).
func DefaultNDet(n int) int {
	return 2*int(math.Ceil(math.Sqrt2*float64(n)/2)) + 1
}

// NewGeometry returns the geometry of an n×n image scanned at the given angles
// (radians) with DefaultNDet(n) bins of width 1. The angles are copied.
func NewGeometry(n int, angles []float64) Geometry {
	return Geometry{
		N:          n,
		Angles:     append([]float64(nil), angles...),
		NDet:       DefaultNDet(n),
		DetSpacing: 1,
	}
}

// Validate reports why g cannot be scanned, or nil.
func (g Geometry) Validate() error {
	var errs []error
	if g.N <= 0 {
		errs = append(errs, fmt.Errorf("image size N = %d, must be positive", g.N))
	}
	if g.NDet <= 0 {
		errs = append(errs, fmt.Errorf("detector size NDet = %d, must be positive", g.NDet))
	}
	if !(g.DetSpacing > 0) || math.IsInf(g.DetSpacing, 0) {
		errs = append(errs, fmt.Errorf("detector spacing %g, must be positive and finite", g.DetSpacing))
	}
	if len(g.Angles) == 0 {
		errs = append(errs, errors.New("no projection angles"))
	}
	for i, a := range g.Angles {
		if math.IsNaN(a) || math.IsInf(a, 0) {
			errs = append(errs, fmt.Errorf("angle %d is %g, must be finite", i, a))
			break
		}
	}
	if math.IsNaN(g.CenterOffset) || math.IsInf(g.CenterOffset, 0) {
		errs = append(errs, fmt.Errorf("centre offset %g, must be finite", g.CenterOffset))
	}
	switch g.Beam {
	case Parallel:
	case Fan:
		if r := float64(g.N) / math.Sqrt2; !(g.SourceDistance > r) || math.IsInf(g.SourceDistance, 0) {
			errs = append(errs, fmt.Errorf("fan beam: source distance %g, must be finite and beyond the image's half diagonal %.4g (the source outside the image)", g.SourceDistance, r))
		}
		if !(g.DetectorDistance >= 0) || math.IsInf(g.DetectorDistance, 0) {
			errs = append(errs, fmt.Errorf("fan beam: detector distance %g, must be finite and ≥ 0", g.DetectorDistance))
		}
		if g.Detector != Flat && g.Detector != Arc {
			errs = append(errs, fmt.Errorf("fan beam: unknown detector shape %d", int(g.Detector)))
		} else if g.SourceDistance > 0 && g.NDet > 0 {
			// Every bin must see the source side of the detector: |γ| < 90°.
			lim := math.Pi / 2
			if edge := math.Abs(g.FanAngle(g.BinCenter(0))); edge >= lim || math.Abs(g.FanAngle(g.BinCenter(g.NDet-1))) >= lim {
				errs = append(errs, fmt.Errorf("fan beam: the arc detector spans more than 180°"))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("unknown beam %d", int(g.Beam)))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("radon: invalid geometry: %w", errors.Join(errs...))
}

// NumAngles returns len(g.Angles).
func (g Geometry) NumAngles() int { return len(g.Angles) }

// SinoLen returns the length of a sinogram of g: len(Angles)·NDet.
func (g Geometry) SinoLen() int { return len(g.Angles) * g.NDet }

// ImageLen returns the length of an image of g: N².
func (g Geometry) ImageLen() int { return g.N * g.N }

// Subset returns g restricted to the angles g.Angles[idx[0]], g.Angles[idx[1]], …
// in that order. It copies len(idx) angles and nothing else, so a projector for
// one candidate angle costs next to nothing to make. An index out of range is a
// programmer mistake and panics.
func (g Geometry) Subset(idx []int) Geometry {
	s := g
	s.Angles = make([]float64, len(idx))
	for i, k := range idx {
		s.Angles[i] = g.Angles[k]
	}
	return s
}

// EqualAngles returns k angles equally spaced in [0, π): iπ/k, i = 0…k−1.
func EqualAngles(k int) []float64 {
	a := make([]float64, k)
	for i := range a {
		a[i] = float64(i) * math.Pi / float64(k)
	}
	return a
}

// FullAngles returns k angles equally spaced over the full circle [0, 2π):
// 2iπ/k, i = 0…k−1 (a fan-beam scan).
func FullAngles(k int) []float64 {
	a := make([]float64, k)
	for i := range a {
		a[i] = 2 * float64(i) * math.Pi / float64(k)
	}
	return a
}

// Degrees converts radians to degrees, into a new slice.
func Degrees(rad []float64) []float64 {
	d := make([]float64, len(rad))
	for i, r := range rad {
		d[i] = r * 180 / math.Pi
	}
	return d
}

// Radians converts degrees to radians, into a new slice.
func Radians(deg []float64) []float64 {
	r := make([]float64, len(deg))
	for i, d := range deg {
		r[i] = d * math.Pi / 180
	}
	return r
}
