package main

import (
	"fmt"
	"io"
	"math"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/h5io"
)

// loadScan reads a scan file for a command that reconstructs from it, and
// warns on the command's stderr about what would otherwise go unnoticed (see
// warnTruncated).
func loadScan(cmd *cobra.Command, path string) (*h5io.Scan, error) {
	s, err := h5io.ReadScan(path)
	if err != nil {
		return nil, err
	}
	warnTruncated(cmd.ErrOrStderr(), path, s)
	return s, nil
}

// detectorCovers reports whether a centred detector of ndet bins of width
// spacing sees every ray through an n×n image: its width must reach the
// image diagonal √2·n, less one bin of tolerance (DESIGN.md's default
// detector, 2·ceil(√2·n/2)+1 unit bins, always does).
func detectorCovers(n, ndet int, spacing float64) bool {
	return float64(ndet)*spacing >= math.Sqrt2*float64(n)-spacing
}

// warnTruncated prints a warning when the scan's detector is narrower than
// its image: the projections are truncated and a reconstruction of the
// whole image is not determined by them. It warns even with -q: it is about the result, not progress.
func warnTruncated(w io.Writer, path string, s *h5io.Scan) {
	if detectorCovers(s.ImageSize, s.NDet, s.DetSpacing) {
		return
	}
	fmt.Fprintf(w, "ctrecon: warning: %s: the detector (%d bins × %g = %.4g) does not cover the %d×%d image (diagonal %.4g): "+
		"the projections are truncated; expect a bright rim and cupping across the reconstruction\n",
		path, s.NDet, s.DetSpacing, float64(s.NDet)*s.DetSpacing, s.ImageSize, s.ImageSize, math.Sqrt2*float64(s.ImageSize))
}
