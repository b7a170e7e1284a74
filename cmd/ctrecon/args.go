package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/internal/atomicfile"
	"github.com/ctrecon/ctrecon/volume"
)

// parseTheta parses a comma-separated list of angles in degrees.
func parseTheta(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, usagef("--theta: %q is not an angle in degrees", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, usagef("--theta: no angles given")
	}
	return out, nil
}

// equalDegrees returns k angles equally spaced in [0°, 180°).
func equalDegrees(k int) []float64 {
	out := make([]float64, k)
	for i := range out {
		out[i] = 180 * float64(i) / float64(k)
	}
	return out
}

// anglesFromFlags resolves --angles K / --theta LIST (exactly one may be set).
func anglesFromFlags(k int, theta string, kSet, thetaSet bool) ([]float64, error) {
	switch {
	case kSet && thetaSet:
		return nil, usagef("give either --angles or --theta, not both")
	case thetaSet:
		return parseTheta(theta)
	case k < 1:
		return nil, usagef("--angles must be ≥ 1 (got %d)", k)
	}
	return equalDegrees(k), nil
}

// checkOutput refuses an output path that is missing or that names one of
// the inputs (a command never modifies its input file).
func checkOutput(out string, inputs ...string) error {
	if out == "" {
		return usagef("an output file is required: -o FILE")
	}
	ao, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		ai, _ := filepath.Abs(in)
		if ai == ao {
			return usagef("output %s is the input file; ctrecon never overwrites its input", out)
		}
		if si, err1 := os.Stat(in); err1 == nil {
			if so, err2 := os.Stat(out); err2 == nil && os.SameFile(si, so) {
				return usagef("output %s is the input file; ctrecon never overwrites its input", out)
			}
		}
	}
	return nil
}

// parseSlices parses a --slices range "a:b" (half-open) or "k" into [from,
// to) of n slices (volume.ParseRange, as a usage error).
func parseSlices(s string, n int) (int, int, error) {
	r, err := volume.ParseRange(s, n)
	if err != nil {
		return 0, 0, usagef("--slices: %v", err)
	}
	return r.Lo, r.Hi, nil
}

func fmtDur(d float64) string { return fmt.Sprintf("%.2fs", d) }

// b2i records a flag as an HDF5 attribute (0 or 1).
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseInts parses a comma-separated list of integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder and a rename, so an interrupted write leaves no partial file; the
// file gets the usual 0666 less the umask.
func writeFileAtomic(path string, b []byte) error { return atomicfile.WriteBytes(path, b) }

// acceptInputArg lets a command that reads its input with -i FILE take the
// file as its one positional argument instead (ctrecon plot scan.h5, as for
// ctrecon info scan.h5). Giving both is accepted when they name the same file.
func acceptInputArg(c *cobra.Command) {
	c.Use += " [FILE]"
	c.Args = func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return nil
		case len(args) > 1:
			return usagef("%s takes one input file, as -i FILE or as its argument (got %q); see --help", cmd.CommandPath(), args)
		}
		in := cmd.Flags().Lookup("in")
		if in.Changed && !sameFile(in.Value.String(), args[0]) {
			return usagef("%s: input given twice, -i %s and %s; give one", cmd.CommandPath(), in.Value, args[0])
		}
		return cmd.Flags().Set("in", args[0])
	}
}

// sameFile reports whether two paths name the same file (by name, or by
// identity when both exist).
func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
