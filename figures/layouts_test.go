package figures

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

func titles(ps []*Panel) []string {
	var t []string
	for _, p := range ps {
		t = append(t, p.Plot.Title.Text)
	}
	return t
}

func grey(t string) ImageOptions { return ImageOptions{Title: t, Map: Grey()} }

func TestReconPanelsLayout(t *testing.T) {
	const n = 8
	img, truth, std := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range img {
		truth[i] = float32(i%n) / n          // range [0, 7/8]
		img[i] = truth[i] + 0.3*float32(i%3) // range beyond the truth's
		std[i] = 0.1 + float32(i%5)/50
	}
	for _, c := range []struct {
		r    Recon
		want string
	}{
		{Recon{Title: "fbp", N: n, Image: img}, "fbp"},
		{Recon{Title: "fbp", N: n, Image: img, Truth: truth}, "ground truth|fbp|error"},
		{Recon{Title: "dip", N: n, Image: img, Std: std}, "dip|std"},
		{Recon{Title: "dip", N: n, Image: img, Truth: truth, Std: std, Calibration: true}, "ground truth|dip|error|std|calibration"},
	} {
		ps, err := ReconPanels(c.r, grey, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(titles(ps), "|"); got != c.want {
			t.Errorf("panels %q, want %q", got, c.want)
		}
	}
	// With a truth, truth and image share the truth's range unless the
	// caller's window is kept.
	ps, err := ReconPanels(Recon{Title: "dip", N: n, Image: img, Truth: truth}, grey, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps[:2] {
		if p.Bar.Y.Min != 0 || math.Abs(p.Bar.Y.Max-7.0/8) > 1e-6 {
			t.Errorf("%s: window [%g, %g], want the truth's [0, 0.875]", p.Plot.Title.Text, p.Bar.Y.Min, p.Bar.Y.Max)
		}
	}
	fixed := func(t string) ImageOptions { o := grey(t); o.Window = Fixed(-1, 2); return o }
	ps, err = ReconPanels(Recon{Title: "dip", N: n, Image: img, Truth: truth}, fixed, true)
	if err != nil {
		t.Fatal(err)
	}
	if ps[1].Bar.Y.Min != -1 || ps[1].Bar.Y.Max != 2 {
		t.Errorf("kept window: image drawn over [%g, %g], want [-1, 2]", ps[1].Bar.Y.Min, ps[1].Bar.Y.Max)
	}
	// The error map's window is symmetric about zero.
	if e := ps[2].Bar.Y; e.Min != -e.Max || e.Max <= 0 {
		t.Errorf("error window [%g, %g] is not symmetric", e.Min, e.Max)
	}
}

func TestReconPanelsRefuses(t *testing.T) {
	const n = 4
	ok := make([]float32, n*n)
	for _, r := range []Recon{
		{N: n},
		{N: n, Image: ok[:n*n-1]},
		{N: n, Image: ok, Truth: ok[:3]},
		{N: n, Image: ok, Std: ok, Calibration: true},   // no truth
		{N: n, Image: ok, Truth: ok, Calibration: true}, // no std
	} {
		if _, err := ReconPanels(r, grey, false); err == nil {
			t.Errorf("accepted %+v", r)
		}
	}
}

func TestVolumePanels(t *testing.T) {
	const slices, n = 4, 16
	vol := make([]float32, slices*n*n)
	std := make([]float32, slices*n*n)
	for i := range vol {
		vol[i] = float32(i)
		std[i] = 1 + float32(i%7)
	}
	vols := []Volume{{Name: "dip", Slices: slices, N: n, Data: vol}, {Name: "std", Slices: slices, N: n, Data: std, Std: true}}
	ps, err := VolumePanels(vols, nil, grey, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "dip: axial, slice 2|dip: coronal, row 8|dip: sagittal, column 8|std: axial, slice 2|std: coronal, row 8|std: sagittal, column 8"
	if got := strings.Join(titles(ps), "|"); got != want {
		t.Errorf("panels %q, want %q (the centre by default)", got, want)
	}
	// 4 slices of 16² would draw 4:1 strips: the slice axis is stretched 2×.
	if ps[0].Aspect != 1 || ps[1].Aspect != float64(n)/slices/2 {
		t.Errorf("aspects %g, %g; want 1 and %g", ps[0].Aspect, ps[1].Aspect, float64(n)/slices/2)
	}
	if !strings.Contains(ps[1].Plot.Y.Label.Text, "×2") {
		t.Errorf("coronal slice axis %q does not say it is stretched", ps[1].Plot.Y.Label.Text)
	}
	// One window for the three planes of the image, from zero for the std.
	for _, p := range ps[:3] {
		if p.Bar.Y.Min != ps[0].Bar.Y.Min || p.Bar.Y.Max != ps[0].Bar.Y.Max {
			t.Errorf("%s: window differs from the axial plane's", p.Plot.Title.Text)
		}
	}
	if ps[3].Bar.Y.Min != 0 {
		t.Errorf("std window starts at %g, not 0", ps[3].Bar.Y.Min)
	}
	at := [3]int{1, 2, 3}
	if ps, err = VolumePanels(vols[:1], &at, grey, false); err != nil {
		t.Fatal(err)
	} else if got := strings.Join(titles(ps), "|"); got != "dip: axial, slice 1|dip: coronal, row 2|dip: sagittal, column 3" {
		t.Errorf("at (1,2,3): %q", got)
	}
	for _, bad := range []struct {
		vols []Volume
		at   *[3]int
	}{
		{nil, nil},
		{vols, &[3]int{slices, 0, 0}},
		{[]Volume{vols[0], {Name: "x", Slices: slices - 1, N: n, Data: vol[:(slices-1)*n*n]}}, nil},
	} {
		if _, err := VolumePanels(bad.vols, bad.at, grey, false); err == nil {
			t.Errorf("accepted %d volumes at %v", len(bad.vols), bad.at)
		}
	}
}

// TestStrategyPanels: the paired panel is drawn only when every strategy
// has its differences, mismatched lengths are refused, and past the
// palette's seven colours a strategy that repeats a colour is dashed (the
// design study has eight strategies: the eighth looked like the first).
func TestStrategyPanels(t *testing.T) {
	x := []float64{10, 20}
	var curves []StrategyCurve
	for i := 0; i < 8; i++ {
		v := float64(i)
		curves = append(curves, StrategyCurve{Name: fmt.Sprint("s", i), Angles: x, Mean: []float64{20 + v, 30 + v}, SE: []float64{1, 1},
			Diff: []float64{v, -v}, DiffSE: []float64{0.1, 0.1}})
	}
	ps, err := StrategyPanels("DIP PSNR (dB)", "s0", curves)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || !strings.Contains(ps[1].Plot.Title.Text, "minus s0") {
		t.Fatalf("%d panels (%q): want the scores and the paired differences", len(ps), titles(ps))
	}
	for _, p := range ps {
		if len(p.legend) != 8 {
			t.Fatalf("%s: %d legend entries, want 8", p.Plot.Title.Text, len(p.legend))
		}
		first, eighth := p.legend[0].thumbs[0].(*plotter.Line), p.legend[7].thumbs[0].(*plotter.Line)
		if first.Color != eighth.Color || len(first.Dashes) != 0 || len(eighth.Dashes) == 0 {
			t.Errorf("%s: first and eighth series: colours %v, %v, dashes %v, %v; want one colour, the eighth dashed",
				p.Plot.Title.Text, first.Color, eighth.Color, first.Dashes, eighth.Dashes)
		}
	}
	if ymin, ymax := ps[1].Plot.Y.Min, ps[1].Plot.Y.Max; ymin > -7 || ymax < 7 {
		t.Errorf("difference axis [%g, %g] does not hold the differences ±7", ymin, ymax)
	}
	curves[3].Diff, curves[3].DiffSE = nil, nil
	if ps, err = StrategyPanels("DIP PSNR (dB)", "s0", curves); err != nil || len(ps) != 1 {
		t.Errorf("one strategy without differences: %d panels (%v), want the scores only", len(ps), err)
	}
	curves[2].SE = []float64{1}
	if _, err := StrategyPanels("DIP PSNR (dB)", "s0", curves); err == nil {
		t.Error("a curve with one s.e. for two angle counts was drawn")
	}
}
