package pipeline

import (
	"math"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/radon"
)

// ScanGeometry is the reconstruction geometry of a scan file: parallel or
// fan beam as its attributes say, with its rotation-axis offset.
func ScanGeometry(s *h5io.Scan) (radon.Geometry, error) {
	geo := radon.Geometry{N: s.ImageSize, Angles: radon.Radians(s.ThetaDeg), NDet: s.NDet, DetSpacing: s.DetSpacing,
		CenterOffset: s.CenterOffset}
	if s.Geometry == "fan" {
		det, err := radon.ParseDetector(s.Detector)
		if err != nil {
			return geo, err
		}
		geo.Beam, geo.SourceDistance, geo.DetectorDistance, geo.Detector = radon.Fan, s.SourceDistance, s.DetectorDistance, det
	}
	return geo, geo.Validate()
}

// SetScanGeometry records geo's beam geometry in the scan's attributes (the
// inverse of ScanGeometry).
func SetScanGeometry(s *h5io.Scan, geo radon.Geometry) {
	s.Geometry = geo.Beam.String()
	s.CenterOffset = geo.CenterOffset
	if geo.Beam == radon.Fan {
		s.SourceDistance, s.DetectorDistance, s.Detector = geo.SourceDistance, geo.DetectorDistance, geo.Detector.String()
	}
}

// ScanNoiseRel is the scan's relative noise η (noise std over the mean
// |line integral|): its noise_rel when simulated, else its noise_std over
// the data's mean magnitude, else 0 (unknown).
func ScanNoiseRel(s *h5io.Scan) float64 {
	if s.NoiseRel > 0 {
		return s.NoiseRel
	}
	if !(s.NoiseStd > 0) || len(s.Data) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s.Data {
		sum += math.Abs(float64(v))
	}
	if sum == 0 {
		return 0
	}
	return s.NoiseStd / (sum / float64(len(s.Data)))
}
