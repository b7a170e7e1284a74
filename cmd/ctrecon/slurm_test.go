package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSlurmVolumeScript runs scripts/slurm-volume.sh as Slurm would, with
// the array index set by hand: two tasks of a 3-slice volume, then the
// merge; the merged DIP and uncertainty equal a one-process run. A rerun
// of a finished task skips it, and submit asks sbatch for the array and a
// merge that depends on it (a stand-in sbatch records the calls).
func TestSlurmVolumeScript(t *testing.T) {
	script, err := filepath.Abs("../../scripts/slurm-volume.sh")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	// ctrecon for the script: this test binary, re-executed as main.
	wrapper := p("ctrecon")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nCTRECON_RUN_MAIN=1 exec "+os.Args[0]+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "simulate", "--phantom", "ellipses", "--count", "3", "--size", "12", "--angles", "6", "-o", p("vol.h5"))
	dipFlags := []string{"--stop", "max", "--iters", "20", "--checkpoint-every", "10"}
	uqFlags := []string{"--mll-steps", "5"}
	env := append(os.Environ(), "CTRECON="+wrapper, "THREADS=1",
		"DIP_FLAGS="+strings.Join(dipFlags, " "), "UQ_FLAGS="+strings.Join(uqFlags, " "))
	sh := func(extraEnv []string, args ...string) string {
		t.Helper()
		c := exec.Command("bash", append([]string{script}, args...)...)
		c.Env = append(append([]string(nil), env...), extraEnv...)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("slurm-volume.sh %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := p("run")
	for _, id := range []string{"1", "0"} {
		sh([]string{"SLURM_ARRAY_TASK_ID=" + id}, "task", p("vol.h5"), out, "3", "2")
	}
	if got := sh([]string{"SLURM_ARRAY_TASK_ID=0"}, "task", p("vol.h5"), out, "3", "2"); !strings.Contains(got, "exists, skipped") {
		t.Errorf("a rerun of a finished task did not skip it:\n%s", got)
	}
	sh(nil, "merge", p("vol.h5"), out, "3", "2")

	mustRun(t, append(append([]string{"--threads", "1", "dip", "-i", p("vol.h5")}, dipFlags...), "-o", p("dip.h5"))...)
	mustRun(t, append(append([]string{"--threads", "1", "uncertainty", "-i", p("vol.h5"), "--recon", p("dip.h5")}, uqFlags...), "-o", p("uq.h5"))...)
	sameRecon(t, "Slurm DIP", filepath.Join(out, "dip.h5"), p("dip.h5"))
	sameRecon(t, "Slurm uncertainty", filepath.Join(out, "uq.h5"), p("uq.h5"))

	// submit: a stand-in sbatch on PATH records its arguments.
	bin := p("bin")
	os.Mkdir(bin, 0o755)
	log := p("sbatch.log")
	fake := "#!/bin/sh\necho \"$@\" >> " + log + "\necho '4242;cluster'\n"
	if err := os.WriteFile(filepath.Join(bin, "sbatch"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	sh([]string{"PATH=" + bin + ":" + os.Getenv("PATH"), "SBATCH_FLAGS=--partition=cpu"}, "submit", p("vol.h5"), p("sub"), "108", "12")
	calls, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(calls)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "--array=0-11") || !strings.Contains(lines[0], "--partition=cpu") ||
		!strings.Contains(lines[0], " task ") || !strings.Contains(lines[1], "--dependency=afterok:4242") || !strings.Contains(lines[1], " merge ") {
		t.Fatalf("sbatch calls:\n%s", calls)
	}
	// Bad arguments are refused before anything runs.
	c := exec.Command("bash", script, "task", p("vol.h5"), out, "3", "5")
	c.Env = append(env, "SLURM_ARRAY_TASK_ID=0")
	if b, err := c.CombinedOutput(); err == nil || !strings.Contains(string(b), "TASKS ≤ SLICES") {
		t.Errorf("5 tasks for 3 slices: %v %s", err, b)
	}
}
