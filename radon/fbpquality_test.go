package radon_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/datasets"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

// The FBP quality harness (issue 12, item 5): each ingredient of FBP is
// changed on its own and scored against the exact ground truth of our own
// phantoms, every variant at its best window and cutoff. Slow (minutes on
// the shared machine), so skipped under -short:
//
//	go test ./radon -run 'TestFBPQuality$' -v -timeout 60m
//
// docs/RESULTS.md ("FBP quality") records its output.

// qDraw is one scan and its ground truth.
type qDraw struct{ sino, truth []float32 }

// qCase is a scan setting: draws to choose the window and cutoff on
// (tune) and held-out draws to score the choice on (eval).
type qCase struct {
	name       string
	g          radon.Geometry
	tune, eval []qDraw
}

// qWindow is a window of the ramp, as a function of frequency/cutoff.
type qWindow struct {
	name string
	w    func(rho float64) float64
}

var qWindows = []qWindow{
	{"ramp", nil},
	{"shepp-logan", func(r float64) float64 {
		if r == 0 {
			return 1
		}
		x := math.Pi * r / 2
		return math.Sin(x) / x
	}},
	{"cosine", func(r float64) float64 { return math.Cos(math.Pi * r / 2) }},
	{"hamming", func(r float64) float64 { return 0.54 + 0.46*math.Cos(math.Pi*r) }},
	{"hann", func(r float64) float64 { return 0.5 * (1 + math.Cos(math.Pi*r)) }},
}

// qCutoffs are the cutoffs searched: 0.10, 0.15, …, 1.
func qCutoffs() []float64 {
	var c []float64
	for k := 10; k <= 100; k += 5 {
		c = append(c, float64(k)/100)
	}
	return c
}

// qVariant is one candidate ingredient: how to reconstruct given a window
// and cutoff.
type qVariant struct {
	name string
	base radon.FBPVariant
	// super > 1 reconstructs on a grid super times finer and averages
	// super×super blocks (pixel averages instead of point values).
	super int
}

func (v qVariant) recon(dst []float32, d qDraw, g radon.Geometry, w qWindow, cut float64) {
	fv := v.base
	fv.Window, fv.Cutoff = w.w, cut
	if v.super <= 1 {
		radon.FBPWithVariant(dst, d.sino, g, fv)
		return
	}
	s := v.super
	gf := g
	gf.N, gf.DetSpacing = g.N*s, g.DetSpacing*float64(s)
	sino := make([]float32, len(d.sino))
	for i, p := range d.sino {
		sino[i] = p * float32(s) // lengths in fine pixels
	}
	fine := make([]float32, gf.ImageLen())
	radon.FBPWithVariant(fine, sino, gf, fv)
	n := g.N
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var sum float32
			for a := 0; a < s; a++ {
				for b := 0; b < s; b++ {
					sum += fine[(i*s+a)*gf.N+j*s+b]
				}
			}
			dst[i*n+j] = sum / float32(s*s)
		}
	}
}

// meanPSNR is the mean PSNR (metrics.PSNR, the truth's range) of v over
// draws.
func (v qVariant) meanPSNR(c qCase, draws []qDraw, w qWindow, cut float64) float64 {
	rec := make([]float32, c.g.ImageLen())
	var sum float64
	for _, d := range draws {
		v.recon(rec, d, c.g, w, cut)
		sum += metrics.PSNR(rec, d.truth, 0)
	}
	return sum / float64(len(draws))
}

// qChoice is a window and cutoff with its tuning and held-out PSNR.
type qChoice struct {
	window     qWindow
	cut        float64
	tune, eval float64
}

// best returns v's best window and cutoff on c's tuning draws among
// windows × cutoffs, and its held-out PSNR.
func (v qVariant) best(c qCase, windows []qWindow, cutoffs []float64) qChoice {
	var b qChoice
	b.tune = math.Inf(-1)
	for _, w := range windows {
		for _, cut := range cutoffs {
			if p := v.meanPSNR(c, c.tune, w, cut); p > b.tune {
				b = qChoice{window: w, cut: cut, tune: p}
			}
		}
	}
	b.eval = v.meanPSNR(c, c.eval, b.window, b.cut)
	return b
}

func qEllipseDraws(g radon.Geometry, eta float64, seeds []uint64) []qDraw {
	var ds []qDraw
	for _, s := range seeds {
		p := phantoms.RandomEllipses(rand.New(rand.NewPCG(s, 7)), 8)
		y := p.BinSinogram(g)
		if eta > 0 {
			radon.AddNoise(y, y, eta, rand.New(rand.NewPCG(s, 99)))
		}
		ds = append(ds, qDraw{y, p.Image(g.N, 8)})
	}
	return ds
}

// qPixelDraws are clean scans of the ellipses' 128² pixel images (the
// usual workflow with a toolbox: project the ground-truth image), with our
// projector at the image's resolution (f = 1, ASTRA-style data) or on a
// grid f times finer.
func qPixelDraws(g radon.Geometry, seeds []uint64, f int) []qDraw {
	var ds []qDraw
	for _, s := range seeds {
		x := phantoms.RandomEllipses(rand.New(rand.NewPCG(s, 7)), 8).Image(g.N, 8)
		ds = append(ds, qDraw{projectOversampled(x, g, f), x})
	}
	return ds
}

func seq(lo, hi uint64) []uint64 {
	var s []uint64
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}

// projectOversampled is radon.ProjectOversampled for the geometries here
// (valid by construction).
func projectOversampled(x []float32, g radon.Geometry, f int) []float32 {
	y, err := radon.ProjectOversampled(x, g, f)
	if err != nil {
		panic(err)
	}
	return y
}

// qCTSmall is pydicom's CT_small slice at 128² (the repository's test copy
// when `make data` has not run).
func qCTSmall(t testing.TB) []float32 {
	path, err := datasets.Locate(datasets.DICOMFile)
	if errors.Is(err, datasets.ErrMissing) {
		path = filepath.Join("..", "datasets", "testdata", "CT_small.dcm")
	}
	v, err := datasets.DICOMSlice(path, 128)
	if err != nil {
		t.Fatal(err)
	}
	return v.Data
}

func qSliceDraws(x []float32, g radon.Geometry, eta float64, seeds []uint64) []qDraw {
	clean := projectOversampled(x, g, 4)
	var ds []qDraw
	for _, s := range seeds {
		y := make([]float32, len(clean))
		radon.AddNoise(y, clean, eta, rand.New(rand.NewPCG(s, 99)))
		ds = append(ds, qDraw{y, x})
	}
	return ds
}

// qCases are the scans of the harness: the two settings on our own
// data (a clean 180-angle ellipse scan, a 30-angle 5%-noise real slice),
// plus Shepp–Logan and a noisy ellipse scan.
func qCases(t testing.TB) []qCase {
	g180 := radon.NewGeometry(128, radon.EqualAngles(180))
	g30 := radon.NewGeometry(128, radon.EqualAngles(30))
	g180e := g180
	g180e.NDet++ // even: pixel centres project onto bin centres at 0° and 90°
	sl := phantoms.SheppLogan()
	slDraw := []qDraw{{sl.BinSinogram(g180), sl.Image(128, 8)}}
	ct := qCTSmall(t)
	return []qCase{
		{"ellipses, 180 angles, clean", g180, qEllipseDraws(g180, 0, seq(1, 4)), qEllipseDraws(g180, 0, seq(5, 12))},
		{"Shepp–Logan, 180 angles, clean", g180, slDraw, slDraw},
		{"ellipses, 180 angles, clean, even NDet", g180e, qEllipseDraws(g180e, 0, seq(1, 4)), qEllipseDraws(g180e, 0, seq(5, 12))},
		{"CT_small, 30 angles, 5% noise", g30, qSliceDraws(ct, g30, 0.05, seq(1, 4)), qSliceDraws(ct, g30, 0.05, seq(5, 12))},
		{"ellipses, 180 angles, clean, A·(pixel image)", g180, qPixelDraws(g180, seq(1, 4), 1), qPixelDraws(g180, seq(5, 12), 1)},
		{"ellipses, 180 angles, clean, 4×-oversampled pixel image", g180, qPixelDraws(g180, seq(1, 4), 4), qPixelDraws(g180, seq(5, 12), 4)},
		{"ellipses, 30 angles, 5% noise", g30, qEllipseDraws(g30, 0.05, seq(1, 4)), qEllipseDraws(g30, 0.05, seq(5, 12))},
	}
}

// qVariants are the candidate causes, one change each from the default.
var qVariants = []qVariant{
	{name: "before: spatial ramp, pad 2·NDet, band-limited 4× + linear", base: radon.FBPVariant{Interp: "bandlimited", Up: 4}},
	{name: "sampled ramp |ν|", base: radon.FBPVariant{Interp: "bandlimited", Up: 4, Sampled: true}},
	{name: "pad 4·NDet", base: radon.FBPVariant{Interp: "bandlimited", Up: 4, Pad: 4}},
	{name: "pad 8·NDet", base: radon.FBPVariant{Interp: "bandlimited", Up: 4, Pad: 8}},
	{name: "bin-width compensation 1/sinc", base: radon.FBPVariant{Interp: "bandlimited", Up: 4, BinComp: true}},
	{name: "pixel average (2×2 sub-pixels)", base: radon.FBPVariant{Interp: "bandlimited", Up: 4}, super: 2},
	{name: "linear at bins (ASTRA GPU, skimage)", base: radon.FBPVariant{Up: 1}},
	{name: "band-limited 2× + linear", base: radon.FBPVariant{Interp: "bandlimited", Up: 2}},
	{name: "band-limited 16× + linear (≈ exact)", base: radon.FBPVariant{Interp: "bandlimited", Up: 16}},
	{name: "cubic convolution (Keys) 4× + linear", base: radon.FBPVariant{Interp: "keys", Up: 4}},
	{name: "cubic spline 4× + linear", base: radon.FBPVariant{Up: 4}},
	{name: "cubic spline 8× + linear (FBP now)", base: radon.FBPVariant{Up: 8}},
	{name: "cubic spline 16× + linear", base: radon.FBPVariant{Up: 16}},
	{name: "cubic spline 8×, baseband compensated", base: radon.FBPVariant{Up: 8, SplineComp: true}},
}

// TestFBPQuality compares the FBP variants of docs/RESULTS.md ("FBP
// quality"), each tuned to its best window and cutoff, on held-out draws,
// and holds the choice made from it: the FBP now (cubic spline 8×) is not
// below the FBP before on any case (0.05 dB of tuning noise allowed) but
// the inverse-crime scan, A·(pixel image), where the spline's smoothing
// costs the 0.11 dB that docs/RESULTS.md reports (at most 0.2 allowed).
func TestFBPQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("minutes; run without -short")
	}
	only := os.Getenv("FBPQ_CASE") // a substring of the case names, to run fewer
	cutoffs := qCutoffs()
	four := []qWindow{qWindows[0], qWindows[1], qWindows[2], qWindows[4]} // what FBP offers
	for _, c := range qCases(t) {
		if only != "" && !strings.Contains(c.name, only) {
			continue
		}
		t.Logf("## %s (tune %d draws, held-out %d): held-out PSNR (dB) at the cutoff chosen on the tuning draws", c.name, len(c.tune), len(c.eval))
		before := qVariants[0]
		offered := before.best(c, four, []float64{1})
		t.Logf("before, our four filters at cutoff 1: %s %.2f dB", choiceName(offered), offered.eval)
		var hdr strings.Builder
		for _, w := range qWindows {
			fmt.Fprintf(&hdr, " %-12s |", w.name)
		}
		t.Logf("| %-60s |%s best | Δ |", "variant", hdr.String())
		var base float64
		for i, v := range qVariants {
			var row strings.Builder
			var b qChoice
			b.tune = math.Inf(-1)
			for _, w := range qWindows {
				bw := v.best(c, []qWindow{w}, cutoffs)
				fmt.Fprintf(&row, " %5.2f @%.2f |", bw.eval, bw.cut)
				if bw.tune > b.tune {
					b = bw
				}
			}
			if i == 0 {
				base = b.eval
			}
			t.Logf("| %-60s |%s %s %.2f | %+.2f |", v.name, row.String(), choiceName(b), b.eval, b.eval-base)
			allowed := 0.05
			if strings.Contains(c.name, "A·(pixel image)") {
				allowed = 0.2
			}
			if strings.HasSuffix(v.name, "(FBP now)") && b.eval < base-allowed {
				t.Errorf("%s: the FBP now scores %.2f dB, the FBP before %.2f", c.name, b.eval, base)
			}
		}
	}
}

func choiceName(c qChoice) string { return fmt.Sprintf("%s %.2f", c.window.name, c.cut) }

// TestFBPSplineResampling holds the improvement adopted from the quality
// study (docs/RESULTS.md, "FBP quality"): FBP resamples the filtered rows
// by cubic-spline interpolation, where it used band-limited interpolation
// (zero-filling the spectrum). On exact bin-averaged scans of random
// ellipses (128², 180 angles, ramp, no noise) the harness measured +0.70 dB
// on average over its 8 held-out draws (40.64 → 41.35 dB). Here 4 of those
// draws (measured: +0.66, +0.35, +0.70, +0.57 dB, mean 40.83 dB) must each
// gain 0.2 dB, gain 0.4 dB on average and reach 40.5 dB on average.
func TestFBPSplineResampling(t *testing.T) {
	g := radon.NewGeometry(128, radon.EqualAngles(180))
	var gain, mean float64
	draws := qEllipseDraws(g, 0, seq(5, 8))
	for i, d := range draws {
		rec := make([]float32, g.ImageLen())
		if err := radon.FBP(rec, d.sino, g, radon.FBPSettings{}); err != nil {
			t.Fatal(err)
		}
		old := make([]float32, g.ImageLen())
		radon.FBPBandLimited(old, d.sino, g, radon.FBPSettings{})
		pn, po := metrics.PSNR(rec, d.truth, 0), metrics.PSNR(old, d.truth, 0)
		t.Logf("draw %d: spline %.2f dB, band-limited %.2f dB", 5+i, pn, po)
		if !(pn >= po+0.2) {
			t.Errorf("draw %d: spline %.2f dB, not 0.2 dB above band-limited %.2f dB", 5+i, pn, po)
		}
		gain += (pn - po) / float64(len(draws))
		mean += pn / float64(len(draws))
	}
	t.Logf("mean %.2f dB, mean gain %+.2f dB", mean, gain)
	if !(gain >= 0.4) || !(mean >= 40.5) {
		t.Errorf("mean %.2f dB (want ≥ 40.5), gain %+.2f dB over band-limited resampling (want ≥ 0.4)", mean, gain)
	}
}

// TestFBPCutoffGuide measures which Hann cutoff to choose (skipped under
// -short): the best cutoff on 128² scans of 4 random-ellipse draws and of
// CT_small, by angle count and noise level, and what it gains over cutoff
// 1. docs/RESULTS.md ("FBP quality") records the table, and the test holds
// the advice drawn from it: at 20 angles a cutoff of at most 0.5 gains at
// least 1.5 dB on both images at every noise level; on clean data from 60
// angles on, cutoff 1 is within 0.05 dB of the best; on CT_small with 5%
// noise the best cutoff lies in 0.35–0.65 and does not fall as angles are
// added.
//
//	go test ./radon -run TestFBPCutoffGuide -v
func TestFBPCutoffGuide(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute; run without -short")
	}
	ct := qCTSmall(t)
	hann := qWindows[4]
	spline := qVariant{name: "FBP"}
	t.Logf("| image | angles | noise | best Hann cutoff | PSNR there | at cutoff 1 |")
	prevCT5 := 0.0 // CT_small's best cutoff at 5% noise, at the previous angle count
	for _, na := range []int{20, 30, 60, 90, 180} {
		g := radon.NewGeometry(128, radon.EqualAngles(na))
		for _, eta := range []float64{0, 0.02, 0.05} {
			for _, c := range []qCase{
				{name: "ellipses", g: g, tune: qEllipseDraws(g, eta, seq(1, 4))},
				{name: "CT_small", g: g, tune: qSliceDraws(ct, g, eta, seq(1, 4))},
			} {
				c.eval = c.tune
				b := spline.best(c, []qWindow{hann}, qCutoffs())
				one := spline.meanPSNR(c, c.tune, hann, 1)
				t.Logf("| %s | %d | %.0f%% | %.2f | %.2f | %.2f |", c.name, na, 100*eta, b.cut, b.tune, one)
				gain := b.tune - one
				switch {
				case na == 20 && (b.cut > 0.5 || gain < 1.5):
					t.Errorf("%s, 20 angles, %.0f%%: best cutoff %.2f gains %+.2f dB; the advice is ≤ 0.5 for ≥ 1.5 dB", c.name, 100*eta, b.cut, gain)
				case na >= 60 && eta == 0 && gain > 0.05:
					t.Errorf("%s, %d angles, clean: cutoff %.2f is %.2f dB above cutoff 1; the advice is cutoff 1", c.name, na, b.cut, gain)
				}
				if c.name == "CT_small" && eta == 0.05 {
					if b.cut < 0.35 || b.cut > 0.65 || b.cut < prevCT5 {
						t.Errorf("CT_small, %d angles, 5%%: best cutoff %.2f; the advice is 0.35–0.65, not below the %.2f at fewer angles", na, b.cut, prevCT5)
					}
					prevCT5 = b.cut
				}
			}
		}
	}
}
