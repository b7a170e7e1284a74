package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// bar is a progress bar on stderr that appears only once the work has run
// for more than a second, so quick commands print just their result. It
// works when stderr is not a terminal (CI logs get periodic lines).
//
// The time left is ours, not the library's: progressbar averages the rates
// of its last ten updates, which overstates the rate when steps differ in
// cost (a design study's lin-DIP runs take four times its equal-spacing
// runs: the mean of the rates is not the rate of the mean) and counts the
// finished steps of a resumed run as done in its first second. We divide
// the time this process has run by the steps it has done.
type bar struct {
	n       int
	what    string
	start   time.Time
	done    int
	skipped int // steps done before this process (a resumed run)
	pb      *progressbar.ProgressBar
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
			progressbar.OptionSetDescription(b.describe()),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(throttle()),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }),
		)
		b.pb.Set(b.done)
		openBars.Lock()
		openBars.bars[b] = true
		openBars.Unlock()
		return
	}
	b.pb.Describe(b.describe())
	b.pb.Add(k)
}

// Skip counts k steps that were done before this process started (the
// finished part of a resumed run): they fill the bar but do not speed up
// the estimate of the time left.
func (b *bar) Skip(k int) {
	b.skipped += k
	b.Add(k)
}

// Describe changes the text shown before the bar (e.g. the current loss).
// It shows the bar once the work has run for a second, as Add does: a long
// first step (a design study's first run) reports what it is doing.
func (b *bar) Describe(s string) {
	b.what = s
	if b.pb == nil {
		b.Add(0)
		return
	}
	b.pb.Describe(b.describe())
}

// describe is the bar's text and, once this process has done a step, the
// time left at its rate so far.
func (b *bar) describe() string {
	left, ok := timeLeft(time.Since(b.start), b.done-b.skipped, b.n-b.done)
	if !ok {
		return b.what
	}
	return b.what + " (" + formatLeft(left) + " left)"
}

// timeLeft is the time the remaining steps take at the rate of the done
// ones in elapsed; ok is false until a step is done, once none remain, and
// when the total is unknown (remaining < 0).
func timeLeft(elapsed time.Duration, done, remaining int) (time.Duration, bool) {
	if done <= 0 || remaining <= 0 {
		return 0, false
	}
	return time.Duration(float64(elapsed) / float64(done) * float64(remaining)), true
}

// formatLeft writes a time left to the precision an estimate has: seconds
// under a minute, minutes under an hour, hours and minutes above.
func formatLeft(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	}
	m := int(d.Round(time.Minute) / time.Minute)
	return fmt.Sprintf("%dh%02dm", m/60, m%60)
}

// interrupted reports whether the command was interrupted (Ctrl-C,
// SIGTERM); main sets it from the command's context.
var interrupted = func() bool { return false }

// Finish completes the bar if it was shown. After an interrupt it leaves
// the bar where the work stopped and says where that was (the last line
// drawn may be older: drawing is throttled); a full bar above
// "interrupted" would say the step had finished.
func (b *bar) Finish() {
	switch {
	case b.pb == nil:
	case interrupted():
		b.stop()
	default:
		b.release()
		b.pb.Finish()
	}
}

// stop ends a shown bar where the work stopped, on a line of its own, and
// says where that was; a bar already ended is left as it is.
func (b *bar) stop() {
	if !b.release() {
		return
	}
	b.pb.Exit()
	if b.n >= 0 {
		fmt.Fprintf(os.Stderr, "%s: stopped at %d of %d\n", b.what, b.done, b.n)
	} else {
		fmt.Fprintf(os.Stderr, "%s: stopped after %d\n", b.what, b.done)
	}
}

// openBars holds the bars shown and not yet finished: a command that fails
// returns without finishing its bar, and main stops them (stopBars) before
// printing the error, which would otherwise follow the bar on its line.
var openBars = struct {
	sync.Mutex
	bars map[*bar]bool
}{bars: map[*bar]bool{}}

// release takes b off the open bars; false if it was not on them.
func (b *bar) release() bool {
	openBars.Lock()
	defer openBars.Unlock()
	if !openBars.bars[b] {
		return false
	}
	delete(openBars.bars, b)
	return true
}

// stopBars stops every bar still open.
func stopBars() {
	openBars.Lock()
	bars := make([]*bar, 0, len(openBars.bars))
	for b := range openBars.bars {
		bars = append(bars, b)
	}
	openBars.Unlock()
	for _, b := range bars {
		b.stop()
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
