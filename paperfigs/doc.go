// Package paperfigs reproduces the papers' figures from ctrecon's own runs:
// reconstructions, uncertainty and calibration, test log-likelihood against
// angles, patch-wise test LL, experimental design curves and a volume.
//
// Each figure is a list of ctrecon command lines (Step) run in order in one
// folder, followed by drawing from their output files. The command lines
// are the product as much as the PNG: every figure's caption (NAME.txt)
// lists them, so a reader can rerun any step by hand. A step whose output
// exists is skipped (the commands write atomically, so an existing output
// is complete), which makes a rerun redo only what is missing; a step with
// a partial checkpoint gets --resume.
//
// The package does not run the commands itself: Maker.Exec does, which the
// CLI supplies (it runs them in-process through its own command tree). This
// keeps the CLI to flag parsing while the figures' contents — which runs,
// which numbers, how they are drawn — live here, beside the plotting
// primitives of package figures and the file formats of h5io.
package paperfigs
