package paperfigs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctrecon/ctrecon/datasets"
	"github.com/ctrecon/ctrecon/internal/atomicfile"
)

// Step is one ctrecon command line. It is skipped when Output exists;
// when one of Resume exists (a partial run's checkpoint), --resume is
// added. With Stdout set, the command's standard output is saved there.
type Step struct {
	Name   string
	Args   []string
	Output string
	Resume []string
	Stdout string
}

// Maker makes figures in Dir.
type Maker struct {
	Dir      string
	Settings Settings
	// Seed and Threads are the global flags every step runs with; they
	// appear in the captions' command lines (Threads when not 0).
	Seed    uint64
	Threads int
	// Exec runs one ctrecon command line (the subcommand and its flags;
	// Exec adds the global ones) and writes its standard output to stdout.
	Exec func(ctx context.Context, args []string, stdout io.Writer) error
	// DesignFrom, when set, is a finished ctrecon design folder to draw the
	// design figure from instead of running a study.
	DesignFrom string
	// Logf reports progress (each step, cached or run); Debugf timings.
	// Either may be nil.
	Logf, Debugf func(format string, a ...any)
	// PrintCommands, when set, makes Make run and draw nothing: it writes
	// the command lines still to run, in order and each once, as a shell
	// script (cached steps as comments), so that the steps can be spread
	// over machines; a later Make finds their outputs and draws.
	PrintCommands io.Writer

	ran            []string        // outputs made by this Maker
	printed        map[string]bool // outputs whose command PrintCommands wrote
	designSettings string          // DesignFrom's recorded settings
}

// errPrinted ends a figure after its steps were printed (PrintCommands).
var errPrinted = errors.New("paperfigs: commands printed")

// Ran is the number of steps run (not found cached) so far.
func (m *Maker) Ran() int { return len(m.ran) }

func (m *Maker) logf(format string, a ...any) {
	if m.Logf != nil {
		m.Logf(format, a...)
	}
}

func (m *Maker) debugf(format string, a ...any) {
	if m.Debugf != nil {
		m.Debugf(format, a...)
	}
}

func (m *Maker) p(parts ...string) string {
	return filepath.Join(append([]string{m.Dir}, parts...)...)
}

// CheckNames returns an error naming the first of names that is not a figure.
func CheckNames(names []string) error {
	for _, n := range names {
		if !slices.Contains(Names, n) {
			return fmt.Errorf("unknown figure %q; want some of %s", n, strings.Join(Names, ", "))
		}
	}
	return nil
}

// Make makes the named figures (in the order of Names). The data sets they
// need are looked for first, so a missing one fails before hours of work.
func (m *Maker) Make(ctx context.Context, names []string) error {
	if err := CheckNames(names); err != nil {
		return err
	}
	want := func(n string) bool { return slices.Contains(names, n) }
	if want("recon") || want("uncertainty") || want("patchll") || want("volume") {
		if _, err := datasets.Locate(datasets.CraniumFile); err != nil {
			return fmt.Errorf("figures need the head CT: %w", err)
		}
	}
	if want("loglik") {
		if _, err := datasets.Locate(datasets.MNISTTestImages); err != nil {
			return fmt.Errorf("figures need MNIST: %w", err)
		}
	}
	if m.PrintCommands == nil {
		if err := os.MkdirAll(m.Dir, 0o755); err != nil {
			return err
		}
	}
	byName := map[string]func(context.Context) error{
		"recon": m.recon, "uncertainty": m.uncertainty, "loglik": m.loglik,
		"patchll": m.patchLL, "design": m.design, "volume": m.volume,
	}
	for _, name := range Names {
		if !want(name) {
			continue
		}
		if m.PrintCommands != nil {
			fmt.Fprintf(m.PrintCommands, "# figure %s\n", name)
			if name == "design" && m.DesignFrom != "" {
				fmt.Fprintf(m.PrintCommands, "# drawn from the study in %s: nothing to run\n", m.DesignFrom)
				continue
			}
		} else {
			m.logf("figure %s", name)
		}
		err := byName[name](ctx)
		if errors.Is(err, errPrinted) {
			continue
		}
		if err != nil {
			return err
		}
		m.logf("wrote %s (%s)", m.p(name+".png"), m.p(name+".txt"))
	}
	return nil
}

// commandLine is the step as a user would type it (arguments quoted for
// a POSIX shell where they need it).
func (m *Maker) commandLine(args []string) string {
	global := "ctrecon --seed " + strconv.FormatUint(m.Seed, 10)
	if m.Threads != 0 {
		global += " --threads " + strconv.Itoa(m.Threads)
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	return global + " " + strings.Join(quoted, " ")
}

// shellQuote returns a unchanged when a POSIX shell reads it as one word
// as it is, else in single quotes.
func shellQuote(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,+@%-") == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

// run runs the steps in order, skipping those whose output exists; with
// PrintCommands it prints them instead and returns errPrinted.
func (m *Maker) run(ctx context.Context, steps []Step) error {
	if m.PrintCommands != nil {
		return m.print(steps)
	}
	for _, s := range steps {
		if _, err := os.Stat(s.Output); err == nil {
			m.logf("── %s: cached (%s)", s.Name, s.Output)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(s.Output), 0o755); err != nil {
			return err
		}
		args := m.withResume(s)
		m.logf("── %s: %s", s.Name, m.commandLine(args))
		var out bytes.Buffer
		w := io.Writer(io.Discard)
		if s.Stdout != "" {
			w = &out
		}
		start := time.Now()
		if err := m.Exec(ctx, args, w); err != nil {
			return fmt.Errorf("figures step %s (%s): %w", s.Name, m.commandLine(s.Args), err)
		}
		if s.Stdout != "" {
			if err := atomicfile.WriteBytes(s.Stdout, out.Bytes()); err != nil {
				return err
			}
		}
		m.debugf("   %s: %.1fs", s.Name, time.Since(start).Seconds())
		m.ran = append(m.ran, s.Output)
	}
	return nil
}

// print writes the steps' command lines (with --resume where a partial
// run's checkpoint exists), each output's once, cached ones as comments.
func (m *Maker) print(steps []Step) error {
	if m.printed == nil {
		m.printed = map[string]bool{}
	}
	for _, s := range steps {
		if m.printed[s.Output] {
			continue
		}
		m.printed[s.Output] = true
		if _, err := os.Stat(s.Output); err == nil {
			fmt.Fprintf(m.PrintCommands, "# cached: %s (%s)\n", s.Name, s.Output)
			continue
		}
		line := m.commandLine(m.withResume(s))
		if s.Stdout != "" {
			line += " > " + s.Stdout
		}
		fmt.Fprintln(m.PrintCommands, line)
	}
	return errPrinted
}

// withResume is the step's arguments, with --resume when one of its
// checkpoints exists.
func (m *Maker) withResume(s Step) []string {
	for _, r := range s.Resume {
		if _, err := os.Stat(r); err == nil {
			return append(slices.Clone(s.Args), "--resume")
		}
	}
	return s.Args
}

// caption writes NAME.txt: the text, the settings and every step's command.
func (m *Maker) caption(name, text string, steps []Step) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.png — %s\n\n", name, text)
	line := m.Settings.line(name)
	if name == "design" && m.DesignFrom != "" {
		line = fmt.Sprintf("drawn from the existing study in %s (ctrecon figures --design-from), whose settings are: %s", m.DesignFrom, m.designSettings)
	}
	fmt.Fprintf(&b, "Made by `ctrecon figures --%s` (seed %d); %s\n", m.Settings.Name, m.Seed, line)
	if len(steps) > 0 { // none when the figure is drawn from an existing study
		fmt.Fprintf(&b, "\nCommands (run in this order; paths relative to the figures folder):\n")
	}
	for _, s := range steps {
		fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(m.commandLine(s.Args), m.Dir+string(filepath.Separator), ""))
	}
	return atomicfile.WriteBytes(m.p(name+".txt"), []byte(b.String()))
}

func itoa(v int) string { return strconv.Itoa(v) }

// withIters appends "--flag v" unless v is 0 (the subcommand's default).
func withIters(args []string, flag string, v int) []string {
	if v > 0 {
		return append(args, flag, itoa(v))
	}
	return args
}
