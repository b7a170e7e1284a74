package main

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/paperfigs"
)

// figuresPreset, when set (by tests), replaces --quick's settings.
var figuresPreset *paperfigs.Settings

type figuresOpts struct {
	out         string
	quick, full bool
	only        string
	designFrom  string
	print       bool
}

func figuresCmd() *cobra.Command {
	var o figuresOpts
	cmd := &cobra.Command{
		Use:   "figures",
		Short: "Make the papers' figures (PNG, captions, tables) from ctrecon's own runs, cached in the output folder",
		Long: `Runs the ctrecon subcommands behind six figures and draws them into DIR:

  recon        truth | FBP | TV | DIP and their errors, on head-CT slice 54
               (real data) and a Shepp–Logan phantom; PSNR/SSIM in the titles
  uncertainty  DIP | |error| | std | calibration (RMS error against σ by bin)
               on the head-CT slice
  loglik       test log-likelihood against the number of angles for the
               linearised DIP (lin, linmap = TV-PredCP MAP), MC dropout,
               N(x̂, δ) and the constant-σ oracle (ctrecon study on MNIST
               digits, in place of the papers' KMNIST)
  patchll      patch-wise test LL against patch size (ctrecon evaluate on
               uncertainty files with posterior samples)
  design       PSNR against the number of angles per strategy (ctrecon
               design) and one strategy's chosen angles over the image
  volume       three orthogonal planes of a head-CT DIP volume and its std

Each figure NAME gets NAME.png, NAME.txt (caption: the exact command lines
and settings) and, for tables, NAME.md. Every intermediate file is kept in
DIR; a step whose output exists is skipped (the subcommands write their
outputs atomically, so an existing file is complete), so a rerun redoes only
what is missing, and an interrupted --full run continues (dip, uncertainty
and design resume their own partial work).

--quick (the default) uses 32² images, capped DIP iterations and MLL steps
and one image per point: a few minutes on 2 cores, numbers not to be quoted.
--full uses docs/RESULTS.md's settings: hours. A design study run on its own
(spread over processes with design --images and joined by --report --merge)
can be drawn with --design-from DIR instead of being run again.

--print-commands runs nothing and prints the command lines not yet done, in
order and each once, as a shell script (done ones as comments): run them on
other machines (each output is written atomically and dip, uncertainty and
design resume), then rerun figures in the same folder to draw.`,
		Example: `  ctrecon figures -o figs
  ctrecon figures -o figs --only recon,design
  ctrecon figures --full -o figs-full     # hours; rerun to continue
  ctrecon figures --full -o figs-full --only loglik --print-commands > steps.sh
  ctrecon figures --full -o figs-full --design-from rect64-all`,
		RunE: func(cmd *cobra.Command, args []string) error { return runFigures(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "out", "o", "", "output folder (created if missing; holds the cache)")
	f.BoolVar(&o.quick, "quick", false, "small sizes and few images, minutes (the default)")
	f.BoolVar(&o.full, "full", false, "docs/RESULTS.md's settings, hours (resumable)")
	f.StringVar(&o.only, "only", "", "comma-separated figures to make: "+strings.Join(paperfigs.Names, ", ")+" (default all)")
	f.BoolVar(&o.print, "print-commands", false, "run nothing: print the command lines still to run, in order, as a shell script (to spread the steps over machines; rerun figures afterwards to draw)")
	f.StringVar(&o.designFrom, "design-from", "", "draw the design figure from this finished (or --report/--merge) ctrecon design folder instead of running a study; its full scan must lie in it or beside it")
	return cmd
}

func runFigures(cmd *cobra.Command, o figuresOpts) error {
	if o.out == "" {
		return usagef("an output folder is required: -o DIR")
	}
	if o.quick && o.full {
		return usagef("--quick and --full exclude each other")
	}
	set := paperfigs.Quick
	if o.full {
		set = paperfigs.Full
	} else if figuresPreset != nil {
		set = *figuresPreset
	}
	names := paperfigs.Names
	if o.only != "" {
		names = nil
		for _, n := range strings.Split(o.only, ",") {
			names = append(names, strings.TrimSpace(n))
		}
		if err := paperfigs.CheckNames(names); err != nil {
			return usagef("--only %q: %v", o.only, err)
		}
	}
	m := &paperfigs.Maker{Dir: o.out, Settings: set, Seed: g.seed, Threads: g.threads, DesignFrom: o.designFrom,
		Exec: runInProcess, Logf: logf, Debugf: debugf}
	if o.print {
		m.PrintCommands = cmd.OutOrStdout()
		return m.Make(cmd.Context(), names)
	}
	start := time.Now()
	if err := m.Make(cmd.Context(), names); err != nil {
		return err
	}
	logf("figures: %d step(s) run, %.1fs", m.Ran(), time.Since(start).Seconds())
	return nil
}

// runInProcess runs one ctrecon command line through a fresh command tree,
// with this process's global flags (a fresh tree would otherwise reset
// them to their defaults), and restores them afterwards.
func runInProcess(ctx context.Context, args []string, stdout io.Writer) error {
	global := []string{"--seed", strconv.FormatUint(g.seed, 10), "--threads", strconv.Itoa(g.threads),
		"--memory", strconv.FormatFloat(g.memory, 'g', -1, 64), "--device", g.device}
	if g.quiet {
		global = append(global, "-q")
	}
	if g.verbose {
		global = append(global, "-v")
	}
	saved := g
	defer func() { g = saved }()
	root := newRoot()
	root.SetArgs(append(global, args...))
	root.SetOut(stdout)
	return root.ExecuteContext(ctx)
}
