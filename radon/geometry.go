package radon

import (
	"errors"
	"fmt"
	"math"
)

// Geometry is a 2D parallel-beam scan of an N×N image (DESIGN.md §2).
//
// Pixel (i, j) has centre x = j + 0.5 − N/2, y = N/2 − i − 0.5 (pixel size 1).
// Detector bin k has centre s_k = (k + 0.5 − NDet/2)·DetSpacing. The ray of
// angle θ and bin k is the line x cos θ + y sin θ = s_k. A sinogram is stored
// row-major [angle][bin], so it has len(Angles)·NDet values.
//
// A Geometry is a value; Subset shares nothing with its parent that either
// may later change.
type Geometry struct {
	N          int       // the image is N×N pixels
	Angles     []float64 // projection angles in radians
	NDet       int       // number of detector bins
	DetSpacing float64   // bin width, in pixels
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
