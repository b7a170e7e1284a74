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
	// before linear interpolation: "" as FBP (cubic spline),
	// "bandlimited" by zero-filling the spectrum (FBP before the quality
	// study), "keys" by cubic convolution (a = −½).
	Interp string
	// SplineComp divides the response by the cardinal cubic spline's
	// baseband response sinc⁴(ν)/(2/3 + cos(2πν)/3).
	SplineComp bool
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
		if v.SplineComp && nu > 0 {
			sc := math.Sin(math.Pi*nu) / (math.Pi * nu)
			resp[k] *= (2.0/3 + math.Cos(2*math.Pi*nu)/3) / (sc * sc * sc * sc)
		}
		if v.BinComp && nu > 0 {
			gain := math.Pi * nu / math.Sin(math.Pi*nu)
			if v.BinCompMax > 0 {
				gain = min(gain, v.BinCompMax)
			}
			resp[k] *= gain
		}
	}
	w := angleWeights(g.Angles)
	reach := parallelReach(g)
	switch v.Interp {
	case "":
		q, qpad, stride := filterRowsResp(sino, len(g.Angles), nd, g.DetSpacing, reach, resp, up, w)
		backprojectInterp(dst, q, qpad, stride, up, g)
	case "bandlimited":
		q, qpad, stride := filterRowsBandLimited(sino, len(g.Angles), nd, g.DetSpacing, reach, resp, up, w)
		backprojectInterp(dst, q, qpad, stride, up, g)
	case "keys":
		// Rows at bin resolution (the spline at whole positions is the
		// samples), then resampled by cubic convolution.
		q1, qpad, stride1 := filterRowsResp(sino, len(g.Angles), nd, g.DetSpacing, reach, resp, 1, w)
		stride := up * stride1
		q := make([]float32, len(g.Angles)*stride)
		row := make([]float64, stride1)
		for a := range g.Angles {
			for k := range row {
				row[k] = float64(q1[a*stride1+k])
			}
			for m := 0; m < stride; m++ {
				q[a*stride+m] = float32(cubicConv(row, float64(m)/float64(up), keysKernel))
			}
		}
		backprojectInterp(dst, q, qpad, stride, up, g)
	default:
		panic("unknown Interp " + v.Interp)
	}
}

// FBPBandLimited is FBP as it was before the quality study: the filtered
// rows resampled 4× finer by zero-filling their spectrum (band-limited
// interpolation) instead of by the cubic spline.
func FBPBandLimited(dst, sino []float32, g Geometry, s FBPSettings) {
	cut := s.Cutoff
	if cut == 0 {
		cut = 1
	}
	resp := rampFilter(padLength(g.NDet), g.DetSpacing, s.Filter, cut, nil)
	q, qpad, stride := filterRowsBandLimited(sino, len(g.Angles), g.NDet, g.DetSpacing, parallelReach(g), resp, 4, angleWeights(g.Angles))
	backprojectInterp(dst, q, qpad, stride, 4, g)
}

// filterRowsBandLimited is filterRowsResp with the rows resampled by
// zero-filling their spectrum: FBP's resampling before the quality study.
func filterRowsBandLimited(sino []float32, na, nd int, ds, reach float64, resp []float64, up int, weight []float64) (q []float32, qpad, stride int) {
	npad := len(resp)
	plan, planUp := newFFT(npad), newFFT(up*npad)
	qpad = max(0, int(math.Ceil(reach/ds-float64(nd)/2))) + 2
	stride = up * (nd + 2*qpad)
	q = make([]float32, na*stride)
	buf := make([]complex128, npad)
	fine := make([]complex128, up*npad)
	for a := 0; a < na; a++ {
		clear(buf)
		for k := 0; k < nd; k++ {
			buf[k] = complex(float64(sino[a*nd+k]), 0)
		}
		plan.transform(buf, false)
		clear(fine)
		scale := complex(1/float64(npad), 0)
		for k := 0; k < npad/2; k++ {
			fine[k] = buf[k] * complex(resp[k], 0) * scale
			if k > 0 {
				fine[up*npad-k] = buf[npad-k] * complex(resp[npad-k], 0) * scale
			}
		}
		// The Nyquist term splits evenly between ±ν.
		nyq := buf[npad/2] * complex(resp[npad/2]/2, 0) * scale
		fine[npad/2] += nyq
		fine[up*npad-npad/2] += nyq
		planUp.transform(fine, true)
		for m := 0; m < up*nd; m++ {
			q[a*stride+up*qpad+m] = float32(weight[a] * real(fine[m]))
		}
	}
	return q, qpad, stride
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
