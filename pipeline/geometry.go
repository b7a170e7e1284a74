package pipeline

import (
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
