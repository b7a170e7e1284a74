package linearised

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/radon"
)

// realProblem linearises the `small` U-Net at random initial weights (the
// cost of the linearised step does not depend on training) on an n×n image
// with the parallel-beam projector over `angles` equally spaced angles.
func realProblem(tb testing.TB, n, angles int) *Problem {
	rng := rand.New(rand.NewPCG(5, 5))
	arch, err := dip.Preset("small")
	if err != nil {
		tb.Fatal(err)
	}
	u, err := dip.NewUNet(arch, n)
	if err != nil {
		tb.Fatal(err)
	}
	p := u.NewParams(rng)
	x := make([]float32, n*n)
	for i := range x {
		x[i] = float32(0.1 * rng.NormFloat64())
	}
	J, err := u.Jacobian(p, x)
	if err != nil {
		tb.Fatal(err)
	}
	A := radon.NewProjector(radon.NewGeometry(n, radon.EqualAngles(angles)))
	xhat := append([]float32(nil), J.Output()...)
	my, _ := A.Dims()
	y := make([]float32, my)
	A.Apply(y, xhat)
	for i := range y {
		y[i] += float32(0.05 * rng.NormFloat64())
	}
	return &Problem{J: J, Blocks: J.PriorBlocks(), A: A, Y: y, Xhat: xhat, Theta: p[:u.NumConvWeights()]}
}

// BenchmarkExactPipelineSmallN28A20 times the exact regime on the real
// `small` U-Net (76,608 conv weights, 28², 20 angles × 41 bins = 820
// measurements): AJ by batched VJPs + the 33 K_yy terms, one MLL step, and
// all posterior pixel variances. Run with -benchtime 1x; phases are
// reported as custom metrics (seconds, milliseconds).
func BenchmarkExactPipelineSmallN28A20(b *testing.B) {
	if testing.Short() {
		b.Skip("minutes of work")
	}
	prob := realProblem(b, 28, 20)
	_, n := prob.J.Dims()
	for i := 0; i < b.N; i++ {
		pr, err := NewPrior(prob.Blocks, n)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		aj, err := assembleAJ(context.Background(), prob.J, prob.A, 32)
		if err != nil {
			b.Fatal(err)
		}
		tAJ := time.Since(t0)
		_ = aj
		t0 = time.Now()
		e, err := NewExact(context.Background(), prob, pr, ExactSettings{})
		if err != nil {
			b.Fatal(err)
		}
		tNew := time.Since(t0)
		t0 = time.Now()
		const steps = 10
		var g Hyper
		for s := 0; s < steps; s++ {
			if _, err := e.Loss(&g); err != nil {
				b.Fatal(err)
			}
		}
		tStep := time.Since(t0) / steps
		t0 = time.Now()
		v := make([]float64, 28*28)
		if err := e.Variances(context.Background(), v); err != nil {
			b.Fatal(err)
		}
		tVar := time.Since(t0)
		b.ReportMetric(tAJ.Seconds(), "AJ_s")
		b.ReportMetric((tNew - tAJ).Seconds(), "terms_s")
		b.ReportMetric(float64(tStep.Microseconds())/1000, "mllstep_ms")
		b.ReportMetric(tVar.Seconds(), "variances_s")
		b.ReportMetric(float64(len(e.terms)), "terms")
	}
}
