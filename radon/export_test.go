package radon

import (
	"runtime"
	"testing"

	"github.com/ctrecon/ctrecon/internal/par"
)

// BenchThreads makes -cpu choose the thread count of a benchmark:
// go test -bench . -cpu 1,2.
func BenchThreads(b *testing.B) {
	old := par.Threads()
	par.SetThreads(runtime.GOMAXPROCS(0))
	b.Cleanup(func() { par.SetThreads(old) })
}

// AngleWeights exposes FBP's quadrature weights to the tests.
func AngleWeights(angles []float64) []float64 { return angleWeights(angles) }

// FBPWithWeights is FBP (ramp filter) with the given angle weights, so
// tests can compare weightings.
func FBPWithWeights(dst, sino []float32, g Geometry, w []float64) {
	q, qpad, stride := filterRows(sino, len(g.Angles), g.NDet, g.DetSpacing, parallelReach(g), Ramp, 1, nil, fbpUpsample, w)
	backprojectInterp(dst, q, qpad, stride, fbpUpsample, g)
}
