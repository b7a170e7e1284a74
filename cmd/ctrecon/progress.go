package main

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// bar is a progress bar on stderr that appears only once the work has run
// for more than a second, so quick commands print just their result. It
// works when stderr is not a terminal (CI logs get periodic lines).
type bar struct {
	n     int
	what  string
	start time.Time
	done  int
	pb    *progressbar.ProgressBar
}

func newBar(n int, what string) *bar { return &bar{n: n, what: what, start: time.Now()} }

// Add advances the bar by k steps.
func (b *bar) Add(k int) {
	b.done += k
	if b.pb == nil {
		if g.quiet || time.Since(b.start) < time.Second {
			return
		}
		b.pb = progressbar.NewOptions(b.n,
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(b.what),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(throttle()),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }),
		)
		b.pb.Set(b.done)
		return
	}
	b.pb.Add(k)
}

// Describe changes the text shown before the bar (e.g. the current loss).
func (b *bar) Describe(s string) {
	b.what = s
	if b.pb != nil {
		b.pb.Describe(s)
	}
}

// Finish completes the bar if it was shown.
func (b *bar) Finish() {
	if b.pb != nil {
		b.pb.Finish()
	}
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

// throttle is how often the bar redraws: often on a terminal, every few
// seconds into a log file, where each redraw is kept.
func throttle() time.Duration {
	if term.IsTerminal(int(os.Stderr.Fd())) {
		return 200 * time.Millisecond
	}
	return 5 * time.Second
}
