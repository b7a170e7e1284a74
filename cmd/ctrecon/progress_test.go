package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// The time left is the elapsed time per step done times the steps left:
// steps of unequal cost (1, 1, 1, 4 minutes) give the rate of their mean,
// 4 steps in 7 minutes, not the mean of their rates.
func TestTimeLeftIsElapsedPerStepTimesStepsLeft(t *testing.T) {
	left, ok := timeLeft(7*time.Minute, 4, 8)
	if !ok || left != 14*time.Minute {
		t.Errorf("4 steps in 7 min, 8 left: got %v (ok %v), want 14m", left, ok)
	}
	if _, ok := timeLeft(time.Hour, 0, 5); ok {
		t.Error("an estimate before any step was done")
	}
	if _, ok := timeLeft(time.Hour, 3, -1); ok {
		t.Error("an estimate with an unknown total")
	}
	if _, ok := timeLeft(time.Hour, 3, 0); ok {
		t.Error("an estimate when nothing is left")
	}
}

// A resumed run's earlier steps fill the bar but not the rate: 85 of 140
// runs done before, 2 done by this process in an hour, 53 left take 26.5 h,
// not the 53/87 h that counting the resumed ones would say.
func TestBarSkippedStepsDoNotSpeedUpTheEstimate(t *testing.T) {
	b := newBar(140, "design")
	g.quiet = true // no output, and the bar's text is still composed
	defer func() { g.quiet = false }()
	b.Skip(85)
	b.start = time.Now().Add(-time.Hour)
	b.Add(2)
	if b.done != 87 {
		t.Fatalf("bar at %d steps, want 87", b.done)
	}
	got := b.describe()
	if want := "design (26h30m left)"; got != want {
		t.Errorf("describe() = %q, want %q", got, want)
	}
	fresh := newBar(10, "fit")
	if s := fresh.describe(); strings.Contains(s, "left") {
		t.Errorf("an estimate before any step: %q", s)
	}
}

func TestFormatLeftKeepsTheEstimatesPrecision(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{42 * time.Second, "42s"},
		{59*time.Minute + 10*time.Second, "59m"},
		{3*time.Hour + 5*time.Minute + 40*time.Second, "3h06m"},
		{26*time.Hour + 30*time.Minute, "26h30m"},
	} {
		if got := formatLeft(c.d); got != c.want {
			t.Errorf("formatLeft(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// A bar whose first step is long appears when its text changes after the
// first second, not only when a step ends.
func TestBarDescribeShowsALongFirstStep(t *testing.T) {
	b := newBar(1, "design")
	b.Describe("pilot fit")
	if b.pb != nil {
		t.Fatal("the bar appeared within the first second")
	}
	b.start = time.Now().Add(-2 * time.Second)
	b.Describe("linearising")
	if b.pb == nil || b.done != 0 {
		t.Fatalf("after 2 s of the first step: bar shown %v, steps %d", b.pb != nil, b.done)
	}
	b.Finish()
}

// After an interrupt a shown bar stays where the work stopped; otherwise
// Finish fills it.
func TestBarFinishAfterInterruptKeepsTheCount(t *testing.T) {
	defer func(f func() bool) { interrupted = f }(interrupted)
	for _, stopped := range []bool{true, false} {
		interrupted = func() bool { return stopped }
		b := newBar(10, "fit")
		b.start = time.Now().Add(-2 * time.Second)
		b.Add(3)
		if b.pb == nil {
			t.Fatal("the bar did not appear after 2 s")
		}
		b.Finish()
		want := int64(10)
		if stopped {
			want = 3
		}
		if got := b.pb.State().CurrentNum; got != want {
			t.Errorf("interrupted %v: the bar shows %d of 10 after Finish, want %d", stopped, got, want)
		}
	}
}

// A command that fails returns without finishing its bar; main's stopBars
// ends it where the work stopped, on a line of its own, so the error
// message does not follow the bar. A finished bar is left alone.
func TestStopBarsEndsTheBarsOfAFailedCommand(t *testing.T) {
	defer func(f func() bool) { interrupted = f }(interrupted)
	interrupted = func() bool { return false }
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer func(f *os.File) { os.Stderr = f }(os.Stderr)
	os.Stderr = w
	failed, finished := newBar(10, "fit"), newBar(4, "fbp")
	for _, b := range []*bar{failed, finished} {
		b.start = time.Now().Add(-2 * time.Second)
		b.Add(3)
	}
	finished.Add(1)
	finished.Finish()
	stopBars()
	stopBars() // a second call finds nothing open
	w.Close()
	out, _ := io.ReadAll(r)
	if got := failed.pb.State().CurrentNum; got != 3 {
		t.Errorf("the failed command's bar shows %d of 10, want 3", got)
	}
	if got := finished.pb.State().CurrentNum; got != 4 {
		t.Errorf("the finished bar shows %d of 4, want 4", got)
	}
	if n := strings.Count(string(out), "stopped"); n != 1 || !strings.Contains(string(out), "\nfit: stopped at 3 of 10\n") {
		t.Errorf("stderr says %q: want one line of its own \"fit: stopped at 3 of 10\"", out)
	}
	if len(openBars.bars) != 0 {
		t.Errorf("%d bars still open", len(openBars.bars))
	}
}
