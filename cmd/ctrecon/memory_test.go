package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCgroupMemLeft reads a cgroup-v2 folder: limit minus usage; no limit
// ("max") or no files is 0 (unknown); usage at or over the limit leaves 1.
func TestCgroupMemLeft(t *testing.T) {
	d := t.TempDir()
	write := func(name, v string) {
		if err := os.WriteFile(filepath.Join(d, name), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := cgroupMemLeftIn(d); got != 0 {
		t.Errorf("no files: %d", got)
	}
	write("memory.max", "1000")
	write("memory.current", "300")
	if got := cgroupMemLeftIn(d); got != 700 {
		t.Errorf("limit 1000, used 300: %d", got)
	}
	write("memory.current", "1200")
	if got := cgroupMemLeftIn(d); got != 1 {
		t.Errorf("over the limit: %d", got)
	}
	write("memory.max", "max")
	if got := cgroupMemLeftIn(d); got != 0 {
		t.Errorf("no limit: %d", got)
	}
}

// TestMemoryFlagRefusesBeforeStarting: --memory caps what a process plans
// for (two uncertainty runs that each assumed all of MemAvailable were
// OOM-killed side by side); too small a share is refused with the flag
// named, and nothing is left behind to --resume.
func TestMemoryFlagRefusesBeforeStarting(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "ellipses", "--size", "16", "--angles", "6", "-o", p("s.h5"))
	mustRun(t, "dip", "-i", p("s.h5"), "--stop", "max", "--iters", "5", "-o", p("dip.h5"))
	for _, args := range [][]string{
		{"--memory", "0.0001", "dip", "-i", p("s.h5"), "--stop", "max", "--iters", "5", "-o", p("x.h5")},
		{"--memory", "0.0001", "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--mll-steps", "2", "-o", p("x.h5")},
	} {
		_, err := run(t, context.Background(), args...)
		if err == nil || !strings.Contains(err.Error(), "--memory") {
			t.Errorf("%s with 0.0001 GiB: %v", args[2], err)
		}
		for _, left := range []string{"x.h5", "x.h5.slices", "x.h5.ckpt"} {
			if _, err := os.Stat(p(left)); err == nil {
				t.Errorf("%s: %s left behind", args[2], left)
			}
		}
	}
	if _, err := run(t, context.Background(), "--memory", "-1", "info", p("s.h5")); err == nil {
		t.Error("--memory -1 accepted")
	}
	// A share that fits runs.
	mustRun(t, "--memory", "2", "uncertainty", "-i", p("s.h5"), "--recon", p("dip.h5"), "--mll-steps", "2", "-o", p("ok.h5"))
}
