package radon_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

// TestTVBeatsFBP is the sparse-angle case TV exists for: 30 angles, 5%
// noise, exact bin-averaged data (no inverse crime). TV with its default
// weight must beat the best of the four FBP filters; measured margin ~5 dB,
// asserted 2 dB.
func TestTVBeatsFBP(t *testing.T) {
	sl := phantoms.SheppLogan()
	g := radon.NewGeometry(64, radon.EqualAngles(30))
	ref := sl.Image(64, 8)
	y := sl.BinSinogram(g)
	radon.AddNoise(y, y, 0.05, rand.New(rand.NewPCG(1, 2)))
	best := math.Inf(-1)
	for _, f := range []radon.Filter{radon.Ramp, radon.SheppLogan, radon.Cosine, radon.Hann} {
		rec := make([]float32, g.ImageLen())
		if err := radon.FBP(rec, y, g, radon.FBPSettings{Filter: f}); err != nil {
			t.Fatal(err)
		}
		best = math.Max(best, psnr(rec, ref))
	}
	rec := make([]float32, g.ImageLen())
	var first, last float64
	if err := radon.TV(rec, y, g, radon.TVSettings{}, func(it int, loss float64) {
		if it == 1 {
			first = loss
		}
		last = loss
	}); err != nil {
		t.Fatal(err)
	}
	p := psnr(rec, ref)
	t.Logf("best FBP %.2f dB, TV %.2f dB (objective %.4g → %.4g)", best, p, first, last)
	if !(p >= best+2) {
		t.Errorf("TV %.2f dB does not beat FBP %.2f dB by 2 dB", p, best)
	}
	for i, v := range rec {
		if v < 0 {
			t.Fatalf("pixel %d = %g violates x ≥ 0", i, v)
		}
	}
}

// TestTVMinimises checks that TV finds a minimiser: its objective must not
// exceed the objective of the image the data were made from (a feasible
// point), for both constraint settings.
func TestTVMinimises(t *testing.T) {
	g := radon.NewGeometry(32, radon.EqualAngles(12))
	truth := phantoms.RandomRectangles(rand.New(rand.NewPCG(3, 3)), 3, 0.05).Image(32, 4)
	p := radon.NewProjector(g)
	y := make([]float32, g.SinoLen())
	p.Apply(y, truth)
	radon.AddNoise(y, y, 0.05, rand.New(rand.NewPCG(4, 4)))
	const lam = 0.5
	objective := func(x []float32) float64 {
		ax := make([]float32, g.SinoLen())
		p.Apply(ax, x)
		var data, tv float64
		for i := range ax {
			d := float64(ax[i] - y[i])
			data += d * d
		}
		n := g.N
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if j+1 < n {
					tv += math.Abs(float64(x[i*n+j+1] - x[i*n+j]))
				}
				if i+1 < n {
					tv += math.Abs(float64(x[(i+1)*n+j] - x[i*n+j]))
				}
			}
		}
		return data/2 + lam*tv
	}
	ft := objective(truth)
	for _, neg := range []bool{false, true} {
		rec := make([]float32, g.ImageLen())
		var reported float64
		err := radon.TV(rec, y, g, radon.TVSettings{Iters: 500, Lambda: lam, AllowNegative: neg},
			func(_ int, loss float64) { reported = loss })
		if err != nil {
			t.Fatal(err)
		}
		f := objective(rec)
		t.Logf("AllowNegative=%v: objective %.5g (reported %.5g), truth %.5g", neg, f, reported, ft)
		// The reported loss is the same function evaluated in float32
		// products: equal to float32 rounding.
		if !(math.Abs(f-reported) <= 1e-4*f) {
			t.Errorf("reported objective %g, recomputed %g", reported, f)
		}
		if !(f <= ft) {
			t.Errorf("AllowNegative=%v: objective %g above the truth's %g: not minimised", neg, f, ft)
		}
	}
}

func TestTVErrors(t *testing.T) {
	g := radon.NewGeometry(8, radon.EqualAngles(4))
	dst, y := make([]float32, g.ImageLen()), make([]float32, g.SinoLen())
	if err := radon.TV(dst, y, g, radon.TVSettings{Lambda: -1}, nil); err == nil {
		t.Error("negative λ accepted")
	}
	if err := radon.TV(dst, y, g, radon.TVSettings{Iters: -3}, nil); err == nil {
		t.Error("negative iterations accepted")
	}
	bad := g
	bad.N = 0
	if err := radon.TV(dst, y, bad, radon.TVSettings{}, nil); err == nil {
		t.Error("N = 0 accepted")
	}
	defer func() {
		if err, ok := recover().(error); !ok || !errors.Is(err, linop.ErrShape) {
			t.Fatalf("short image: recovered %v, want linop.ErrShape", err)
		}
	}()
	radon.TV(dst[1:], y, g, radon.TVSettings{}, nil)
}

func TestAddNoise(t *testing.T) {
	y := make([]float32, 7*2857) // whole periods of the pattern below
	for i := range y {
		y[i] = float32(i%7) - 2 // mean |y| = (2+1+0+1+2+3+4)/7 = 13/7
	}
	dst := make([]float32, len(y))
	sigma := radon.AddNoise(dst, y, 0.1, rand.New(rand.NewPCG(8, 8)))
	if want := 0.1 * 13 / 7; !(math.Abs(sigma-want) <= 1e-9) {
		t.Fatalf("σ = %g, want %g", sigma, want)
	}
	var s2 float64
	for i := range y {
		d := float64(dst[i] - y[i])
		s2 += d * d
	}
	emp := math.Sqrt(s2 / float64(len(y)))
	// The sample std of 20k normals is within 3·σ/√(2·20k) ≈ 1.5% of σ.
	if !(math.Abs(emp-sigma) <= 0.015*sigma) {
		t.Fatalf("empirical std %g, σ %g", emp, sigma)
	}
	again := make([]float32, len(y))
	radon.AddNoise(again, y, 0.1, rand.New(rand.NewPCG(8, 8)))
	for i := range again {
		if again[i] != dst[i] {
			t.Fatal("same seed, different noise")
		}
	}
}
