package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctrecon/ctrecon/datasets"
	"github.com/ctrecon/ctrecon/paperfigs"
)

// figuresTiny keeps `ctrecon figures` to well under a minute on a loaded
// 2-core machine: 16² images, a few DIP iterations and MLL steps.
var figuresTiny = paperfigs.Settings{
	Name: "tiny", Size: 16, Angles: 10, DIPIters: 40, MLLSteps: 10, Samples: 32, PatchLL: "1,2,4",
	StudyImages: 1, StudyChunk: 1, StudySize: 16, StudyDIPIters: 30, StudyMLL: 10, MCSamples: 2, StudyAngles: []int{5, 10},
	DesignSize: 16, DesignCount: 1, DesignStart: 3, DesignBudget: 6, DesignDIPIters: 40, DesignSamples: 16,
	DesignStrategies: "eig,equal", DesignEval: "3,6", DesignSeeds: "0",
	VolSlices: "53:56", VolSize: 16, VolAngles: 10, VolDIPIters: 40,
}

// figureSpec is what a figure's PNG and caption must hold: its size in
// inches at 96 dpi (panels of 3.6 × 3.2 in unless the figure sets them) and
// pieces of the command lines that made it.
var figureSpecs = map[string]struct {
	w, h     float64
	commands []string
}{
	"recon":       {4 * 3.6, 4 * 3.2, []string{"phantom --kind ct --slice 54", "simulate --phantom shepp-logan", "fbp -i ct/scan.h5", "tv -i sl/scan.h5", "dip -i ct/scan.h5"}},
	"uncertainty": {4 * 3.6, 3.2, []string{"dip -i ct/scan.h5", "uncertainty -i ct/scan.h5 --recon ct/dip.h5 --samples 32"}},
	"loglik":      {2 * 5.4, 4.2, []string{"study --images digits:1 --first 0", "--angles 5", "--angles 10", "--methods lin,linmap,det,const,mcdrop", "study --merge"}},
	"patchll":     {2 * 5, 4, []string{"uncertainty -i sl/scan.h5", "evaluate -i ct/uq.h5 --truth ct/scan.h5 --patch-ll 1,2,4"}},
	"design":      {3 * 5, 4.2, []string{"simulate --phantom rectangles --size 16 --count 1 --angles 200", "design --full design/full.h5 --start 3 --budget 6"}}, // scores, paired differences to equal, angles
	"volume":      {3 * 3.6, 2 * 3.2, []string{"phantom --kind ct --slices 53:56", "dip -i volume/scan.h5 --warm-start", "uncertainty -i volume/scan.h5", "plot -i volume/uq.h5 --volume"}},
}

func haveRealData() bool {
	for _, f := range []string{datasets.CraniumFile, datasets.MNISTTestImages} {
		if _, err := datasets.Locate(f); err != nil {
			return false
		}
	}
	return true
}

// checkFigurePNG decodes path and checks its size and that it is far from
// blank: a PNG encoder squeezes a plain white canvas of the same size to a
// few kB, while axes, text and images take 18–40× that here, so the
// file must be at least 10× a blank canvas's encoding (and 10 kB).
func checkFigurePNG(t *testing.T, path string, wIn, hIn float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s: not a PNG: %v", path, err)
		return
	}
	w, h := im.Bounds().Dx(), im.Bounds().Dy()
	if math.Abs(float64(w)-wIn*96) > 2 || math.Abs(float64(h)-hIn*96) > 2 {
		t.Errorf("%s is %d×%d px, want about %.0f×%.0f", path, w, h, wIn*96, hIn*96)
	}
	blank := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(blank, blank.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	var bb bytes.Buffer
	if err := png.Encode(&bb, blank); err != nil {
		t.Fatal(err)
	}
	if floor := max(10*bb.Len(), 10<<10); len(b) < floor {
		t.Errorf("%s: %d bytes, want at least %d (a blank canvas: %d)", path, len(b), floor, bb.Len())
	}
}

func TestFiguresTinyAllThenCached(t *testing.T) {
	figuresPreset = &figuresTiny
	defer func() { figuresPreset = nil }()
	names := paperfigs.Names
	real := haveRealData()
	if !real {
		names = []string{"design"} // the only figure without real data
	}
	d := t.TempDir()
	start := time.Now()
	mustRun(t, "figures", "-o", d, "--only", strings.Join(names, ","))
	first := time.Since(start)
	for _, name := range names {
		spec := figureSpecs[name]
		checkFigurePNG(t, filepath.Join(d, name+".png"), spec.w, spec.h)
		c, err := os.ReadFile(filepath.Join(d, name+".txt"))
		if err != nil {
			t.Errorf("no caption: %v", err)
			continue
		}
		for _, want := range spec.commands {
			if !strings.Contains(string(c), want) {
				t.Errorf("%s.txt lacks %q:\n%s", name, want, c)
			}
		}
		if !strings.Contains(string(c), "ctrecon --seed 1 ") || strings.Contains(string(c), d) {
			t.Errorf("%s.txt: want command lines with the seed and paths relative to the folder:\n%s", name, c)
		}
	}
	for _, md := range []string{"recon.md", "loglik.md", "patchll.md", "design.md"} {
		if !real && md != "design.md" {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(d, md)); err != nil || !strings.Contains(string(b), "|") {
			t.Errorf("%s: no table (%v)", md, err)
		}
	}
	// The cache: every intermediate file (all but the drawn figures, their
	// captions and tables) keeps its modification time on a rerun.
	mtimes := map[string]time.Time{}
	filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && filepath.Dir(p) != d {
			info, _ := e.Info()
			mtimes[p] = info.ModTime()
		}
		return nil
	})
	if len(mtimes) < 5 {
		t.Fatalf("only %d intermediate files in %s", len(mtimes), d)
	}
	start = time.Now()
	mustRun(t, "figures", "-o", d, "--only", strings.Join(names, ","))
	again := time.Since(start)
	for p, m := range mtimes {
		info, err := os.Stat(p)
		if err != nil || !info.ModTime().Equal(m) {
			t.Errorf("%s was rewritten by the rerun (%v)", p, err)
		}
	}
	t.Logf("first run %.1fs, rerun from the cache %.1fs (%d intermediate files)", first.Seconds(), again.Seconds(), len(mtimes))
	if again > 20*time.Second {
		t.Errorf("the rerun took %v: it should only draw", again)
	}
	if !real {
		t.Skip("head CT or MNIST missing: only the design figure was checked; run `make data` for the others")
	}
}

func TestFiguresBadUsage(t *testing.T) {
	d := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"figures"}, "-o DIR"},
		{[]string{"figures", "-o", d, "--quick", "--full"}, "exclude"},
		{[]string{"figures", "-o", d, "--only", "recon,polar"}, `unknown figure "polar"`},
	} {
		_, err := run(t, t.Context(), c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != 2 {
			t.Errorf("ctrecon %s: got %v, want a usage error with %q", strings.Join(c.args, " "), err, c.want)
		}
	}
	// Missing data is said before anything runs.
	empty := t.TempDir()
	t.Setenv("CTRECON_DATA", empty)
	_, err := run(t, t.Context(), "--data", empty, "figures", "-o", filepath.Join(d, "x"), "--only", "loglik")
	if err == nil || !strings.Contains(err.Error(), "make data") {
		t.Errorf("without MNIST: got %v, want an error saying to run `make data`", err)
	}
	if _, err := os.Stat(filepath.Join(d, "x")); err == nil {
		t.Error("the output folder was made before the data check")
	}
}

// figures --design-from draws the design figure from a study run on its
// own (here two --images parts joined by --report --merge), runs no study
// of its own, says so in the caption, and refuses a study whose scan it
// cannot find.
func TestFiguresDesignFrom(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	mustRun(t, "simulate", "--phantom", "rectangles", "--size", "16", "--count", "2", "--angles", "24", "-o", p("rect-full.h5"))
	args := []string{"design", "--full", p("rect-full.h5"), "--start", "3", "--budget", "6", "--refit-every", "3", "--eval", "3,6",
		"--samples", "16", "--dip-iters", "20", "--strategies", "eig,equal"}
	mustRun(t, append(args, "--images", "0:1", "-o", p("a"))...)
	mustRun(t, append(args, "--images", "1:2", "-o", p("b"))...)
	mustRun(t, append(args, "--report", "--merge", p("a")+","+p("b"), "-o", p("all"))...)
	mustRun(t, "figures", "--only", "design", "--design-from", p("all"), "-o", p("figs"))
	spec := figureSpecs["design"]
	checkFigurePNG(t, p("figs/design.png"), spec.w, spec.h)
	if _, err := os.Stat(p("figs/design")); err == nil {
		t.Error("figures ran a study of its own")
	}
	c, err := os.ReadFile(p("figs/design.txt"))
	if err != nil || !strings.Contains(string(c), "--design-from") || !strings.Contains(string(c), "rect-full.h5#") {
		t.Errorf("caption does not name the study it drew (%v):\n%s", err, c)
	}
	if !strings.Contains(string(c), "paired mean") {
		t.Errorf("caption does not describe the paired-difference panel:\n%s", c)
	}
	if err := os.Rename(p("rect-full.h5"), p("moved.h5")); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, context.Background(), "figures", "--only", "design", "--design-from", p("all"), "-o", p("figs2")); err == nil || !strings.Contains(err.Error(), "rect-full.h5") {
		t.Fatalf("a study without its scan: err = %v", err)
	}
}

// figures --print-commands prints the design figure's two commands as a
// script and runs nothing.
func TestFiguresPrintCommands(t *testing.T) {
	d := filepath.Join(t.TempDir(), "figs")
	out := mustRun(t, "figures", "--only", "design", "--print-commands", "-o", d)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != "# figure design" || !strings.Contains(lines[1], "simulate --phantom rectangles") ||
		!strings.Contains(lines[2], " design --full "+filepath.Join(d, "design", "full.h5")) {
		t.Fatalf("printed:\n%s", out)
	}
	if _, err := os.Stat(d); err == nil {
		t.Fatal("--print-commands made the output folder")
	}
}
