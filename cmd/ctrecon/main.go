// Command ctrecon reconstructs sparse-view CT scans with a deep image prior,
// attaches a pixelwise uncertainty and plans the next angles to measure.
// Run `ctrecon --help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/datasets"
	"github.com/ctrecon/ctrecon/internal/par"
)

// usageError marks a mistake in how the command was called (exit status 2).
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// globals holds the flags every command shares.
type globals struct {
	seed    uint64
	threads int
	verbose bool
	quiet   bool
	data    string
	memory  float64
	// cpuProfile, when set, receives a pprof CPU profile of the command
	// (hidden flag: for finding where a long run spends its time).
	cpuProfile string
	device     string
}

var g globals

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "ctrecon",
		Short: "Sparse-view CT: reconstruction, uncertainty and angle planning",
		Long: `ctrecon reconstructs CT slices and volumes (parallel or fan beam) from a handful
of projections, says how uncertain each pixel is, and plans which angles to measure next.

  phantom    make a test image (Shepp–Logan, ellipses, rectangles, real CT, digits)
  simulate   project an image into a noisy scan file (DXchange layout)
  fbp, tv, sirt  classical reconstructions
  dip        deep-image-prior reconstruction (slices or a whole volume)
  uncertainty  pixelwise std map of a DIP reconstruction (linearised Laplace)
  plan       the next angles to measure, by expected information gain
  design     simulated adaptive acquisition: compare angle-choice strategies
  merge      join slice-range files of one volume
  evaluate   score a reconstruction and its std map against a ground truth
  study      accuracy and calibration tables over many images
  figures    the papers' figures from ctrecon's own runs
  info       what an HDF5 file holds
  plot       PNG of an image, sinogram or std map (--volume: three planes)
  demo       the whole pipeline on a built-in phantom

Files are HDF5: images /image, scans /exchange/data + /exchange/theta (degrees),
reconstructions /recon/image (+ /recon/std). Angles are in degrees on the command
line and in files. Outputs are written atomically: an interrupted or failed run
leaves no partial file.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.threads < 0 {
				return usagef("--threads must be ≥ 0 (0 = all CPUs)")
			}
			if !(g.memory >= 0) || math.IsInf(g.memory, 0) {
				return usagef("--memory must be a number of GiB ≥ 0 (0 = what is available)")
			}
			par.SetThreads(g.threads)
			if err := selectDevice(g.device); err != nil {
				return err
			}
			findDataDir()
			return startCPUProfile(g.cpuProfile)
		},
	}
	pf := root.PersistentFlags()
	pf.Uint64Var(&g.seed, "seed", 1, "seed for every random choice (phantoms, noise, network initialisation)")
	pf.IntVar(&g.threads, "threads", 0, "worker threads (0 = all CPUs)")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "more detail on stderr")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "no progress bars")
	pf.Float64Var(&g.memory, "memory", 0, "GiB this process may plan for (0: what is available, capped by a cgroup limit); give each of several processes on one machine its share")
	pf.StringVar(&g.data, "data", "", "folder of the fetched data sets (default: $CTRECON_DATA, ./data, or data/ beside bin/)")
	pf.StringVar(&g.device, "device", "auto", deviceHelp)
	pf.StringVar(&g.cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the run to this file")
	pf.MarkHidden("cpuprofile")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(commands()...)
	for _, c := range root.Commands() {
		switch {
		case c.Args != nil:
		case c.Flags().Lookup("in") != nil:
			acceptInputArg(c)
		default:
			c.Args = noArgs
		}
	}
	return root
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments (got %q); see --help", cmd.CommandPath(), args)
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	interrupted = func() bool { return ctx.Err() != nil }
	root := newRoot()
	err := root.ExecuteContext(ctx)
	pprof.StopCPUProfile()
	if err == nil {
		return
	}
	stopBars()
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "ctrecon: interrupted; no output file was written")
	} else {
		fmt.Fprintln(os.Stderr, "ctrecon:", err)
	}
	os.Exit(exitCode(err))
}

// findDataDir points the datasets package at the data folder: --data, then
// $CTRECON_DATA, then the repository's data/ (found from the working
// directory), then data/ beside the folder holding the binary (bin/ctrecon).
func findDataDir() {
	if g.data != "" {
		os.Setenv("CTRECON_DATA", g.data)
		return
	}
	if os.Getenv("CTRECON_DATA") != "" {
		return
	}
	if st, err := os.Stat(datasets.DefaultDir()); err == nil && st.IsDir() {
		return
	}
	if exe, err := os.Executable(); err == nil {
		d := filepath.Join(filepath.Dir(filepath.Dir(exe)), "data")
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			os.Setenv("CTRECON_DATA", d)
		}
	}
}

// exitCode is 2 for a mistake in how ctrecon was called, 1 for any other
// error.
func exitCode(err error) int {
	var ue usageError
	msg := err.Error()
	if errors.As(err, &ue) || strings.HasPrefix(msg, "unknown command") ||
		strings.HasPrefix(msg, "unknown flag") || strings.HasPrefix(msg, "unknown shorthand flag") ||
		strings.Contains(msg, "required flag") {
		return 2
	}
	return 1
}

// startCPUProfile starts a CPU profile into path ("" does nothing); main
// stops it when the command returns.
func startCPUProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	return pprof.StartCPUProfile(f)
}
