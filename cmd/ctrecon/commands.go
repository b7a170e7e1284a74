package main

import "github.com/spf13/cobra"

func commands() []*cobra.Command {
	return []*cobra.Command{phantomCmd(), simulateCmd(), fbpCmd(), tvCmd(), sirtCmd(), dipCmd(), uncertaintyCmd(), mergeCmd(), studyCmd(), evaluateCmd(), planCmd(), designCmd(), infoCmd(), plotCmd(), demoCmd(), figuresCmd()}
}
