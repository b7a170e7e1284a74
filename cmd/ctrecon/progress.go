package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// newBar returns a progress bar on stderr for n steps, or a silent one with
// --quiet. It works when stderr is not a terminal (CI logs get periodic lines).
func newBar(n int, what string) *progressbar.ProgressBar {
	var w io.Writer = os.Stderr
	if g.quiet {
		w = io.Discard
	}
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// logf prints a line on stderr unless --quiet.
func logf(format string, a ...any) {
	if !g.quiet {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
	}
}

// debugf prints with -v only.
func debugf(format string, a ...any) {
	if g.verbose && !g.quiet {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
	}
}
