package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/h5io"
)

func infoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "info FILE...",
		Short: "Show the datasets, shapes, attributes and value ranges of HDF5 files",
		Example: `  ctrecon info scan.h5
  ctrecon info demo-out/*.h5`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("info needs at least one file")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			for _, path := range args {
				r, err := h5io.Open(path)
				if err != nil {
					return err
				}
				entries, err := r.Walk()
				r.Close()
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s\n", path)
				for _, e := range entries {
					indent := strings.Repeat("  ", strings.Count(strings.Trim(e.Path, "/"), "/")+1)
					if e.IsGroup {
						fmt.Fprintf(out, "%s%s\n", indent, strings.TrimSuffix(e.Path, "/")+"/")
					} else {
						fmt.Fprintf(out, "%s%s  %s %v", indent, e.Path, e.Type, e.Shape)
						if e.Type != "string" && e.Type != "other" {
							fmt.Fprintf(out, "  min %.4g  max %.4g  mean %.4g", e.Min, e.Max, e.Mean)
							if e.NaNs > 0 {
								fmt.Fprintf(out, "  NaN ×%d", e.NaNs)
							}
						}
						fmt.Fprintln(out)
					}
					for _, a := range e.Attrs {
						fmt.Fprintf(out, "%s    @%s = %s\n", indent, a.Name, a.Value)
					}
				}
			}
			return nil
		},
	}
}
