package radon

import (
	"math"
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

// FBPVariant describes a variant of parallel-beam FBP for the quality
// measurements (fbpquality_test.go): each field changes one ingredient;
// the zero value is FBP with the ramp filter.
type FBPVariant struct {
	// Window multiplies the ramp at rho = frequency/cutoff in [0, 1]; nil
	// is the plain ramp.
	Window func(rho float64) float64
	// Cutoff as in FBPSettings (0 means 1).
	Cutoff float64
	// Sampled uses the frequency-sampled ramp |ν| (scikit-image's and ASTRA
	// CPU's) instead of the DFT of the band-limited spatial kernel.
	Sampled bool
	// Pad is the minimum FFT length as a multiple of NDet (0 means 2).
	Pad int
	// Up is the resampling factor before linear interpolation (0 means
	// fbpUpsample; 1 interpolates between the bins themselves, as ASTRA's
	// GPU back-projector does).
	Up int
	// BinComp divides the response by sinc(ν·DetSpacing), the transfer
	// function of averaging over a bin, up to a gain of at most BinCompMax
	// (0: no limit).
	BinComp    bool
	BinCompMax float64
	// Interp chooses how the filtered rows are resampled Up times finer
	// before linear interpolation: "" band-limited (zero-filled spectrum),
	// "keys" cubic convolution (a = −½) or "spline" cubic-spline
	// interpolation of the rows filtered at bin resolution.
	Interp string
}

// FBPWithVariant is parallel-beam FBP with the ingredients of v.
func FBPWithVariant(dst, sino []float32, g Geometry, v FBPVariant) {
	nd := g.NDet
	pad := v.Pad
	if pad == 0 {
		pad = 2
	}
	npad := 1
	for npad < pad*nd {
		npad <<= 1
	}
	cut := v.Cutoff
	if cut == 0 {
		cut = 1
	}
	up := v.Up
	if up == 0 {
		up = fbpUpsample
	}
	resp := rampFilter(npad, g.DetSpacing, Ramp, 1, nil)
	for k := range resp {
		nu := float64(min(k, npad-k)) / float64(npad)
		if v.Sampled {
			resp[k] = nu / g.DetSpacing
		}
		rho := nu / (0.5 * cut)
		switch {
		case rho > 1:
			resp[k] = 0
		case v.Window != nil:
			resp[k] *= v.Window(rho)
		}
		if v.BinComp && nu > 0 {
			gain := math.Pi * nu / math.Sin(math.Pi*nu)
			if v.BinCompMax > 0 {
				gain = min(gain, v.BinCompMax)
			}
			resp[k] *= gain
		}
	}
	if v.Interp == "" {
		q, qpad, stride := filterRowsResp(sino, len(g.Angles), nd, g.DetSpacing, parallelReach(g), resp, up, angleWeights(g.Angles))
		backprojectInterp(dst, q, qpad, stride, up, g)
		return
	}
	q1, qpad, stride1 := filterRowsResp(sino, len(g.Angles), nd, g.DetSpacing, parallelReach(g), resp, 1, angleWeights(g.Angles))
	stride := up * stride1
	q := make([]float32, len(g.Angles)*stride)
	row := make([]float64, stride1)
	for a := range g.Angles {
		for k := range row {
			row[k] = float64(q1[a*stride1+k])
		}
		var eval func(u float64) float64
		switch v.Interp {
		case "keys":
			eval = func(u float64) float64 { return cubicConv(row, u, keysKernel) }
		case "spline":
			c := splineCoeffs(row)
			eval = func(u float64) float64 { return cubicConv(c, u, bspline3) }
		default:
			panic("unknown Interp " + v.Interp)
		}
		for m := 0; m < stride; m++ {
			q[a*stride+m] = float32(eval(float64(m) / float64(up)))
		}
	}
	backprojectInterp(dst, q, qpad, stride, up, g)
}

// cubicConv evaluates Σ_k c[k]·kern(u − k) over the four nearest k (zero
// beyond the ends).
func cubicConv(c []float64, u float64, kern func(x float64) float64) float64 {
	k0 := int(math.Floor(u))
	var s float64
	for k := k0 - 1; k <= k0+2; k++ {
		if k >= 0 && k < len(c) {
			s += c[k] * kern(u-float64(k))
		}
	}
	return s
}

// keysKernel is Keys' cubic convolution kernel with a = −½.
func keysKernel(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	switch {
	case x <= 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return ((a*x-5*a)*x+8*a)*x - 4*a
	}
	return 0
}

// bspline3 is the cubic B-spline.
func bspline3(x float64) float64 {
	x = math.Abs(x)
	switch {
	case x < 1:
		return 2.0/3 - x*x + x*x*x/2
	case x < 2:
		return (2 - x) * (2 - x) * (2 - x) / 6
	}
	return 0
}

// splineCoeffs returns the cubic B-spline coefficients that interpolate y
// (Unser's recursive filter, the signal taken as zero beyond its ends).
func splineCoeffs(y []float64) []float64 {
	z := math.Sqrt(3) - 2
	n := len(y)
	cp := make([]float64, n)
	cp[0] = y[0]
	for k := 1; k < n; k++ {
		cp[k] = y[k] + z*cp[k-1]
	}
	c := make([]float64, n)
	c[n-1] = z / (z*z - 1) * cp[n-1]
	for k := n - 2; k >= 0; k-- {
		c[k] = z * (c[k+1] - cp[k])
	}
	for k := range c {
		c[k] *= 6
	}
	return c
}
