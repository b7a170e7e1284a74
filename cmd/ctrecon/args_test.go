package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInputAsArgument: every command that reads -i FILE also takes the file
// as its one positional argument; two inputs that differ, or two positionals,
// are usage errors; commands without -i still take no arguments.
func TestInputAsArgument(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "shepp-logan", "--size", "32", "--angles", "8", "-o", p("scan.h5"))
	mustRun(t, "plot", p("scan.h5"), "-o", p("sino.png"))
	mustRun(t, "fbp", p("scan.h5"), "-o", p("fbp.h5"))
	mustRun(t, "plot", p("fbp.h5"), "--truth", p("scan.h5"), "-o", p("fbp.png"))
	mustRun(t, "evaluate", p("fbp.h5"), "--truth", p("scan.h5"))
	// The same file both ways is fine (here through another spelling).
	mustRun(t, "fbp", "-i", p("scan.h5"), filepath.Join(d, ".", "scan.h5"), "-o", p("fbp2.h5"))
	for _, f := range []string{"sino.png", "fbp.h5", "fbp.png", "fbp2.h5"} {
		if _, err := os.Stat(p(f)); err != nil {
			t.Fatal(err)
		}
	}
	root := newRoot()
	var withIn int
	for _, c := range root.Commands() {
		if c.Flags().Lookup("in") == nil {
			continue
		}
		withIn++
		if !strings.Contains(c.UseLine(), "[FILE]") {
			t.Errorf("%s: usage line %q does not show the FILE argument", c.Name(), c.UseLine())
		}
	}
	if withIn < 8 {
		t.Fatalf("only %d commands have -i", withIn)
	}
	usage := []struct {
		args []string
		want string
	}{
		{[]string{"fbp", "-i", p("scan.h5"), p("fbp.h5"), "-o", p("x.h5")}, "input given twice"},
		{[]string{"plot", p("scan.h5"), p("fbp.h5"), "-o", p("x.png")}, "takes one input file"},
		{[]string{"phantom", p("x.h5")}, "takes no arguments"},
	}
	for _, c := range usage {
		_, err := run(t, context.Background(), c.args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(p("x.h5")); err == nil {
		t.Error("a refused command wrote its output")
	}
}
