package paperfigs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeExec records the command lines it is given and writes each one's
// output file (the argument after -o or --values), or fails on a command
// named in fail.
type fakeExec struct {
	calls [][]string
	fail  string
}

func (f *fakeExec) exec(ctx context.Context, args []string, stdout io.Writer) error {
	f.calls = append(f.calls, args)
	if args[0] == f.fail {
		return errors.New("boom")
	}
	for i, a := range args[:len(args)-1] {
		if a == "-o" || a == "--values" {
			return os.WriteFile(args[i+1], []byte("x"), 0o644)
		}
	}
	fmt.Fprint(stdout, "printed by "+args[0])
	return nil
}

func TestRunSkipsFinishedStepsAndResumesPartialOnes(t *testing.T) {
	d := t.TempDir()
	f := &fakeExec{}
	m := &Maker{Dir: d, Settings: Quick, Seed: 7, Threads: 2, Exec: f.exec}
	p := func(s string) string { return filepath.Join(d, s) }
	steps := []Step{
		{Name: "a", Args: []string{"simulate", "-o", p("a.h5")}, Output: p("a.h5")},
		{Name: "b", Args: []string{"dip", "-i", p("a.h5"), "-o", p("b.h5")}, Output: p("b.h5"), Resume: []string{p("b.h5.ckpt")}},
		{Name: "c", Args: []string{"info", p("b.h5")}, Output: p("c.txt"), Stdout: p("c.txt")},
	}
	// b was interrupted: its checkpoint exists, its output does not.
	if err := os.WriteFile(p("b.h5.ckpt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.run(t.Context(), steps); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 3 || !slices.Contains(f.calls[1], "--resume") || slices.Contains(f.calls[0], "--resume") {
		t.Fatalf("calls %q: want three, --resume on b only", f.calls)
	}
	if b, err := os.ReadFile(p("c.txt")); err != nil || string(b) != "printed by info" {
		t.Fatalf("stdout of c: %q, %v", b, err)
	}
	if m.Ran() != 3 {
		t.Fatalf("Ran() = %d, want 3", m.Ran())
	}
	// A rerun runs nothing.
	f.calls = nil
	if err := m.run(t.Context(), steps); err != nil || len(f.calls) != 0 {
		t.Fatalf("rerun ran %q (%v)", f.calls, err)
	}
	// A failing step stops the list and names its command line.
	os.Remove(p("b.h5"))
	os.Remove(p("c.txt"))
	f.fail = "dip"
	f.calls = nil
	err := m.run(t.Context(), steps)
	if err == nil || !strings.Contains(err.Error(), "ctrecon --seed 7 --threads 2 dip -i") || len(f.calls) != 1 {
		t.Fatalf("failing step: err %v, calls %q", err, f.calls)
	}
	if _, err := os.Stat(p("c.txt")); err == nil {
		t.Fatal("the step after a failure ran")
	}
}

func TestCaptionListsCommandsRelativeToTheFolder(t *testing.T) {
	d := t.TempDir()
	m := &Maker{Dir: d, Settings: Full, Seed: 3}
	steps := []Step{{Name: "x", Args: []string{"fbp", "-i", filepath.Join(d, "ct", "scan.h5"), "-o", filepath.Join(d, "ct", "fbp.h5")}}}
	if err := m.caption("recon", "Some text.", steps); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(d, "recon.txt"))
	if err != nil {
		t.Fatal(err)
	}
	c := string(b)
	for _, want := range []string{"recon.png — Some text.", "ctrecon figures --full", "128² images, 30 angles", "ctrecon --seed 3 fbp -i ct/scan.h5 -o ct/fbp.h5"} {
		if !strings.Contains(c, want) {
			t.Errorf("caption lacks %q:\n%s", want, c)
		}
	}
	if strings.Contains(c, d) {
		t.Errorf("caption holds the absolute folder %s:\n%s", d, c)
	}
}

func TestMakeRefusesUnknownNamesAndMissingData(t *testing.T) {
	d := filepath.Join(t.TempDir(), "out")
	m := &Maker{Dir: d, Settings: Quick, Exec: (&fakeExec{}).exec}
	if err := m.Make(t.Context(), []string{"recon", "polar"}); err == nil || !strings.Contains(err.Error(), `"polar"`) {
		t.Fatalf("unknown figure: %v", err)
	}
	t.Setenv("CTRECON_DATA", t.TempDir())
	if err := m.Make(t.Context(), []string{"loglik"}); err == nil || !strings.Contains(err.Error(), "MNIST") {
		t.Fatalf("no MNIST: %v", err)
	}
	if _, err := os.Stat(d); err == nil {
		t.Fatal("the folder was made before the data check")
	}
}

func TestMeanSE(t *testing.T) {
	m, se := meanSE([]float64{1, 2, 3, 4})
	// s² = 5/3, s.e. = sqrt(5/3/4)
	if m != 2.5 || abs(se-0.6454972243679028) > 1e-15 {
		t.Fatalf("meanSE = %g, %g", m, se)
	}
	if m, se := meanSE([]float64{5}); m != 5 || se != 0 {
		t.Fatalf("one value: %g ± %g", m, se)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestPrintCommandsRunsNothing: with PrintCommands the steps are printed
// in order as shell lines, each output's once across figures, done ones as
// comments and interrupted ones with --resume; nothing runs and no folder
// is made.
func TestPrintCommandsRunsNothing(t *testing.T) {
	d := t.TempDir()
	out := filepath.Join(d, "figs")
	p := func(s string) string { return filepath.Join(out, s) }
	f := &fakeExec{}
	var b strings.Builder
	m := &Maker{Dir: out, Settings: Quick, Seed: 2, Exec: f.exec, PrintCommands: &b}
	first := []Step{
		{Name: "a", Args: []string{"simulate", "-o", p("a.h5")}, Output: p("a.h5")},
		{Name: "b", Args: []string{"dip", "-i", p("a.h5"), "-o", p("b.h5")}, Output: p("b.h5"), Resume: []string{p("b.h5.ckpt")}},
	}
	second := []Step{first[0], {Name: "c", Args: []string{"info", "my scan.h5"}, Output: p("c.txt"), Stdout: p("c.txt")}}
	if err := m.run(t.Context(), first); !errors.Is(err, errPrinted) {
		t.Fatalf("print: %v", err)
	}
	if err := m.run(t.Context(), second); !errors.Is(err, errPrinted) {
		t.Fatalf("print: %v", err)
	}
	want := "ctrecon --seed 2 simulate -o " + p("a.h5") + "\n" +
		"ctrecon --seed 2 dip -i " + p("a.h5") + " -o " + p("b.h5") + "\n" +
		"ctrecon --seed 2 info 'my scan.h5' > " + p("c.txt") + "\n"
	if b.String() != want {
		t.Fatalf("printed\n%s\nwant\n%s", b.String(), want)
	}
	if len(f.calls) != 0 {
		t.Fatalf("ran %q", f.calls)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("printing made the folder")
	}
	// Done steps become comments; a checkpoint adds --resume.
	os.MkdirAll(out, 0o755)
	os.WriteFile(p("a.h5"), nil, 0o644)
	os.WriteFile(p("b.h5.ckpt"), nil, 0o644)
	b.Reset()
	m.printed = nil
	m.run(t.Context(), first)
	if got := b.String(); !strings.HasPrefix(got, "# cached: a (") || !strings.Contains(got, "-o "+p("b.h5")+" --resume\n") {
		t.Fatalf("printed after a and an interrupted b:\n%s", got)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"digits:1": "digits:1", "/a/b-c_d.h5": "/a/b-c_d.h5", "lin,det": "lin,det",
		"my scan.h5": "'my scan.h5'", "it's": `'it'\''s'`, "": "''", "a$b": "'a$b'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
