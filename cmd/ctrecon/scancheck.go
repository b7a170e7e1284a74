package main

import (
	"fmt"
	"io"

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

// warnTruncated prints a warning when the scan's detector does not see every
// ray through its image disc (radon.Geometry.Covers, one bin of slack at each
// end; the default detectors always do): the projections are truncated and
// the whole image is not determined by them. It warns even with -q: it is
// about the result, not progress. An invalid geometry is left to the
// command, which reports it.
func warnTruncated(w io.Writer, path string, s *h5io.Scan) {
	geo, err := scanGeometry(s)
	if err != nil || geo.Covers() {
		return
	}
	fmt.Fprintf(w, "ctrecon: warning: %s: the detector (%d bins of width %g) does not cover the %d×%d image "+
		"(that takes %d bins): the projections are truncated; expect a bright rim and cupping across the reconstruction\n",
		path, geo.NDet, geo.DetSpacing, geo.N, geo.N, geo.CoveringNDet())
}
