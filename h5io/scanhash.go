package h5io

import (
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
)

// ScanHash identifies a scan's data and angles, so that a DIP model is only
// ever linearised against the measurement it was fitted to (resume
// fingerprints and the scan_hash attribute of reconstructions).
func ScanHash(s *Scan) string {
	h := fnv.New64a()
	var b [8]byte
	for _, v := range s.Data {
		u := math.Float32bits(v)
		b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		h.Write(b[:4])
	}
	for _, t := range s.ThetaDeg {
		u := math.Float64bits(t)
		for i := range b {
			b[i] = byte(u >> (8 * i))
		}
		h.Write(b[:])
	}
	fmt.Fprintf(h, "%d/%g/%d", s.NDet, s.DetSpacing, s.ImageSize)
	if s.Geometry == "fan" || s.CenterOffset != 0 { // parallel scans keep their earlier hashes
		fmt.Fprintf(h, "/%s/%g/%g/%s/%g", s.Geometry, s.SourceDistance, s.DetectorDistance, s.Detector, s.CenterOffset)
	}
	return strconv.FormatUint(h.Sum64(), 16)
}
