package radon

import "math"

// cutoffAngles, cutoffNoise and cutoffTable are Hann cutoffs measured at
// 128² by parallel-beam angle count (rows) and relative noise η (columns)
// on three families of images: random ellipses (exact sinograms), the real
// slice CT_small and four head-CT slices (both projected on a 4× finer
// grid). Each is the cutoff whose smallest PSNR gain over cutoff 1 among
// the families is largest, so that no family is made worse than by the
// full band: a conservative default (CT_small alone would take cutoffs
// down to 0.35 and gain up to 3.7 dB more; the head CT wants the highest).
// Measured by TestFBPAutoCutoffTable (go test ./radon -run
// TestFBPAutoCutoffTable -v); TestAutoCutoffHeldOut checks it on head-CT
// slices not used here.
var (
	cutoffAngles = []float64{20, 30, 60, 90, 180}
	cutoffNoise  = []float64{0, 0.02, 0.05}
	cutoffTable  = [][]float64{
		{0.65, 0.60, 0.55},
		{0.95, 0.85, 0.70},
		{1, 1, 0.95},
		{1, 1, 1},
		{1, 1, 1},
	}
)

// AutoCutoff is the FBP cutoff (fraction of Nyquist) for a scan of geometry
// g with relative noise eta (noise std over the mean |line integral|; 0 when
// unknown): the measured best Hann cutoff (cutoffTable), interpolated
// linearly in log(angles) and in η, clamped to the measured range (20–180
// angles, η ≤ 0.05). A fan-beam scan over the full circle counts as half
// its views in parallel beam (every ray is measured twice). At 20 angles
// and 5% noise it is 0.55 (at least 1.8 dB above cutoff 1 on every family
// measured), at 30 angles 0.70 (0.9 dB); from 60 angles it is 1 or nearly.
func AutoCutoff(g Geometry, eta float64) float64 {
	a := float64(len(g.Angles))
	if g.Beam == Fan {
		a /= 2
	}
	a = math.Min(math.Max(a, cutoffAngles[0]), cutoffAngles[len(cutoffAngles)-1])
	if !(eta > 0) {
		eta = 0
	}
	eta = math.Min(eta, cutoffNoise[len(cutoffNoise)-1])
	i := 0
	for i < len(cutoffAngles)-2 && a > cutoffAngles[i+1] {
		i++
	}
	u := (math.Log(a) - math.Log(cutoffAngles[i])) / (math.Log(cutoffAngles[i+1]) - math.Log(cutoffAngles[i]))
	j := 0
	for j < len(cutoffNoise)-2 && eta > cutoffNoise[j+1] {
		j++
	}
	v := (eta - cutoffNoise[j]) / (cutoffNoise[j+1] - cutoffNoise[j])
	lerp := func(p, q, t float64) float64 { return p + (q-p)*t }
	lo := lerp(cutoffTable[i][j], cutoffTable[i][j+1], v)
	hi := lerp(cutoffTable[i+1][j], cutoffTable[i+1][j+1], v)
	return lerp(lo, hi, u)
}
