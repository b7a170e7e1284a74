package radon

import (
	"fmt"
	"math"
)

// FBPRows is parallel-beam FBP cut where a backend (a GPU) can take over
// the back-projection: Q holds the filtered rows resampled fbpUpsample
// times finer than the bins ([angle][Stride]; what FBP interpolates
// linearly), and on image row i the sample position of pixel j under angle
// a is the fixed-point U0[a·N + i] + j·C[a] (32 fractional bits). The
// positions are computed on the host in float64, as FBP's own loop does,
// so a back-projection from them is FBP's bit for bit when it sums the
// angles as FBP does (in pairs: see backprojectRows).
type FBPRows struct {
	N, NAngles, Stride int
	Q                  []float32
	U0                 []int64
	C                  []int64
}

// FBPBackend is a Backend that also back-projects FBP's filtered rows.
type FBPBackend interface {
	BackprojectFBP(dst []float32, r *FBPRows) error
}

// NewFBPRows filters one parallel-beam sinogram as FBP does and tabulates
// the positions its back-projection steps through (for a backend's tests
// and benchmarks; FBP itself hands them to an FBPBackend).
func NewFBPRows(sino []float32, g Geometry, s FBPSettings) (*FBPRows, error) {
	cut, err := checkFBP(g, s)
	if err != nil {
		return nil, err
	}
	if g.Beam != Parallel {
		return nil, fmt.Errorf("radon: FBPRows: parallel beam only (fan-beam FBP weights its back-projection per pixel)")
	}
	checkBatch("FBPRows", make([]float32, g.ImageLen()), sino, g.ImageLen(), g.SinoLen())
	return fbpRows(sino, g, s.Filter, cut), nil
}

// fbpRows filters sino (parallel beam, checked by the caller) and
// tabulates the positions backprojectInterp steps through.
func fbpRows(sino []float32, g Geometry, f Filter, cut float64) *FBPRows {
	q, qpad, stride := filterRows(sino, len(g.Angles), g.NDet, g.DetSpacing, parallelReach(g), f, cut, nil, fbpUpsample, angleWeights(g.Angles))
	n, na, up := g.N, len(g.Angles), float64(fbpUpsample)
	r := &FBPRows{N: n, NAngles: na, Stride: stride, Q: q, U0: make([]int64, na*n), C: make([]int64, na)}
	h := float64(n)/2 - 0.5
	off := up * (float64(g.NDet)/2 - 0.5 + g.CenterOffset + float64(qpad))
	for a, th := range g.Angles {
		c, s := up*math.Cos(th)/g.DetSpacing, up*math.Sin(th)/g.DetSpacing
		r.C[a] = int64(toFixed(c))
		for i := 0; i < n; i++ {
			y := h - float64(i)
			r.U0[a*n+i] = int64(toFixed(-h*c + y*s + off))
		}
	}
	return r
}
