package dip

import (
	"context"
	"flag"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

var (
	study       = flag.Bool("study", false, "run the preset study (minutes)")
	studyN      = flag.Int("study.n", 128, "image size of the preset study")
	studyBudget = flag.Duration("study.budget", 2*time.Minute, "wall time per preset in the preset study")
)

// TestPresetStudy is the measurement behind the "medium" preset: a
// Shepp–Logan slice (n×n, 30 angles, 5% noise, FBP input, discrepancy
// principle with the true σ) fitted by each preset for the same wall time.
// It logs ms/iteration, iterations, the PSNR of the returned iterate and the
// best PSNR seen. Run with: go test ./dip -run PresetStudy -study -v
func TestPresetStudy(t *testing.T) {
	if !*study {
		t.Skip("preset study runs with -study")
	}
	n, angles := *studyN, 30
	g := radon.NewGeometry(n, radon.EqualAngles(angles))
	A := radon.NewProjector(g)
	x := phantoms.SheppLogan().Image(n, 4)
	y := make([]float32, g.SinoLen())
	A.Apply(y, x)
	sigma := radon.AddNoise(y, y, 0.05, rand.New(rand.NewPCG(1, 1)))
	fbp := make([]float32, n*n)
	if err := radon.FBP(fbp, y, g, radon.FBPSettings{Filter: radon.Hann}); err != nil {
		t.Fatal(err)
	}
	t.Logf("n=%d angles=%d σ=%.4g FBP (Hann) PSNR %.2f dB, budget %v", n, angles, sigma, metrics.PSNR(fbp, x, 0), *studyBudget)
	for _, name := range PresetNames() {
		a, _ := Preset(name)
		u, err := NewUNet(a, n)
		if err != nil {
			t.Fatal(err)
		}
		s := DefaultFitSettings(n, angles, 0.05)
		s.MaxIter = 1 << 30
		s.NoiseStd = sigma
		s.Input = fbp
		s.GroundTruth = x
		s.ProgressEvery = 25
		best, bestIt := math.Inf(-1), 0
		ctx, cancel := context.WithTimeout(context.Background(), *studyBudget)
		t0 := time.Now()
		res, err := Fit(ctx, u, A, y, s, func(p FitProgress) {
			if p.PSNR > best {
				best, bestIt = p.PSNR, p.Iter
			}
		})
		cancel()
		if err != nil && err != context.DeadlineExceeded {
			t.Fatal(err)
		}
		el := time.Since(t0)
		t.Logf("%-6s %9d params  %7.1f ms/it  %5d its (%s)  result %.2f dB (it %d)  best seen %.2f dB (it %d)",
			name, u.NumParams(), float64(el.Milliseconds())/float64(max(res.Iter, 1)), res.Iter, res.Reason, res.PSNR, res.BestIter, best, bestIt)
	}
}
