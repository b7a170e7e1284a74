package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/h5io"
)

func mergeCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "merge -o VOLUME PART...",
		Short: "Join slice-range reconstruction files of one scan into one volume",
		Long: `Joins the outputs of dip or uncertainty runs on slice ranges of the same scan
(--slices a:b, e.g. one per task of a Slurm array or a Kubernetes Indexed Job:
docs/cluster.md) into one file: images, stds, samples, the trained models and
fitted hyperparameters, and the per-slice table (/slices), in slice order
whatever the order of the arguments.

It refuses, with a message naming the files, parts that leave a gap or
overlap, parts from different scans (scan_hash) or settings, parts of
different methods or image sizes, and parts holding different datasets.
/recon attributes equal in every part are kept, seconds is summed, and
summaries such as psnr are recomputed from the per-slice table. The result
records the range it covers, so merged parts can be merged again. The parts
are not modified; the output is written atomically.`,
		Example: `  ctrecon dip -i head.h5 --slices 0:54 -o part1.h5
  ctrecon dip -i head.h5 --slices 54:108 -o part2.h5
  ctrecon merge -o dip.h5 part1.h5 part2.h5`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("merge needs the part files to join: ctrecon merge -o VOLUME PART...")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out, args...); err != nil {
				return err
			}
			parts := make([]*h5io.Recon, len(args))
			for i, a := range args {
				rc, err := h5io.ReadRecon(a)
				if err != nil {
					return err
				}
				parts[i] = rc
			}
			m, err := h5io.MergeRecon(parts, args)
			if err != nil {
				return err
			}
			if err := h5io.WriteRecon(out, m); err != nil {
				return err
			}
			start, total := m.SliceRange()
			note := ""
			if start != 0 || m.Image.Slices != total {
				note = fmt.Sprintf(" (part of the scan's %d)", total)
			}
			logf("wrote %s: %s, slices %d:%d%s from %d file(s)", out, m.Method, start, start+m.Image.Slices, note, len(args))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output file")
	return cmd
}
