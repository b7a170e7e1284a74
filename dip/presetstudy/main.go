// Command presetstudy is the measurement behind dip's "medium" preset
// (docs/BENCHMARKS.md, "Choice of the medium preset"): a Shepp–Logan slice
// (n×n, 30 angles, 5% noise, FBP input, discrepancy principle with the true
// σ) fitted by each preset for the same wall time. It prints ms/iteration,
// iterations, the PSNR of the returned iterate and the best PSNR seen.
//
// It is a program, not a test: what it measures depends on the machine and
// its load, so there is nothing it could assert; the choice it informed is
// recorded in the benchmarks with the command that made it:
//
//	go run ./dip/presetstudy -n 128 -budget 100s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"time"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

func main() {
	n := flag.Int("n", 128, "image size")
	budget := flag.Duration("budget", 2*time.Minute, "wall time per preset")
	flag.Parse()
	const angles = 30
	g := radon.NewGeometry(*n, radon.EqualAngles(angles))
	A := radon.NewProjector(g)
	x := phantoms.SheppLogan().Image(*n, 4)
	y := make([]float32, g.SinoLen())
	A.Apply(y, x)
	sigma := radon.AddNoise(y, y, 0.05, rand.New(rand.NewPCG(1, 1)))
	fbp := make([]float32, *n**n)
	if err := radon.FBP(fbp, y, g, radon.FBPSettings{Filter: radon.Hann}); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("n=%d angles=%d σ=%.4g FBP (Hann) PSNR %.2f dB, budget %v\n", *n, angles, sigma, metrics.PSNR(fbp, x, 0), *budget)
	for _, name := range dip.PresetNames() {
		a, _ := dip.Preset(name)
		u, err := dip.NewUNet(a, *n)
		if err != nil {
			log.Fatal(err)
		}
		s := dip.DefaultFitSettings(*n, angles, 0.05)
		s.MaxIter = 1 << 30
		s.NoiseStd = sigma
		s.Input = fbp
		s.GroundTruth = x
		s.ProgressEvery = 25
		best, bestIt := math.Inf(-1), 0
		ctx, cancel := context.WithTimeout(context.Background(), *budget)
		t0 := time.Now()
		res, err := dip.Fit(ctx, u, A, y, s, func(p dip.FitProgress) {
			if p.PSNR > best {
				best, bestIt = p.PSNR, p.Iter
			}
		})
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			log.Fatal(err)
		}
		el := time.Since(t0)
		fmt.Printf("%-6s %9d params  %7.1f ms/it  %5d its (%s)  result %.2f dB (it %d)  best seen %.2f dB (it %d)\n",
			name, u.NumParams(), float64(el.Milliseconds())/float64(max(res.Iter, 1)), res.Iter, res.Reason, res.PSNR, res.BestIter, best, bestIt)
	}
}
