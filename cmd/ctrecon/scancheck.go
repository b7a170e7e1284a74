package main

import (
	"fmt"
	"io"
	"math"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/pipeline"
)

// loadScan reads a scan file for a command that reconstructs from it, and
// warns on the command's stderr about what would otherwise go unnoticed (see
// warnTruncated).
func loadScan(cmd *cobra.Command, path string) (*h5io.Scan, error) {
	s, err := h5io.ReadScan(path)
	if err != nil {
		return nil, err
	}
	if f := cmd.Flags().Lookup("center"); f != nil && f.Changed {
		c, err := cmd.Flags().GetFloat64("center")
		if err != nil || math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, usagef("--center must be a finite number of bins")
		}
		s.CenterOffset = c
	}
	warnTruncated(cmd.ErrOrStderr(), path, s)
	warnRaw(cmd.ErrOrStderr(), path, s)
	return s, nil
}

// addCenterFlag gives a command that reconstructs from a scan the --center
// flag, which loadScan applies: the rotation axis's offset from the
// detector's centre, for measured data whose file does not record it (or
// records it wrongly).
func addCenterFlag(cmd *cobra.Command) {
	cmd.Flags().Float64("center", 0, "rotation-axis offset from the detector's centre, in bins (overrides the scan's center_offset)")
}

// warnRaw says how a raw scan (counts with flat and dark fields) was turned
// into line integrals: how many counts at or below the dark field were
// clipped, and where the noise level came from when the file gave none.
func warnRaw(w io.Writer, path string, s *h5io.Scan) {
	if s.Raw == nil {
		return
	}
	if s.ClippedCounts > 0 {
		fmt.Fprintf(w, "ctrecon: warning: %s: %d of %d counts are at or below the dark field; clipped to %g count above it "+
			"(their line integrals are lower bounds)\n", path, s.ClippedCounts, len(s.Raw.Data), h5io.MinCountAboveDark)
	}
	if s.NoiseFromCounts {
		fmt.Fprintf(w, "ctrecon: %s: no noise_std in the file; taking the counts for photon counts, the Poisson noise level of the line integrals is √mean(1/count) = %.4g\n",
			path, s.NoiseStd)
	}
}

// warnTruncated prints a warning when the scan's detector does not see every
// ray through its image disc (radon.Geometry.Covers, one bin of slack at each
// end; the default detectors always do): the projections are truncated and
// the whole image is not determined by them. It warns even with -q: it is
// about the result, not progress. An invalid geometry is left to the
// command, which reports it.
func warnTruncated(w io.Writer, path string, s *h5io.Scan) {
	geo, err := pipeline.ScanGeometry(s)
	if err != nil || geo.Covers() {
		return
	}
	fmt.Fprintf(w, "ctrecon: warning: %s: the detector (%d bins of width %g) does not cover the %d×%d image "+
		"(that takes %d bins): the projections are truncated; expect a bright rim and cupping across the reconstruction\n",
		path, geo.NDet, geo.DetSpacing, geo.N, geo.N, geo.CoveringNDet())
}
