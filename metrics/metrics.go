package metrics

import (
	"fmt"
	"math"
)

func checkLens(a, b []float32) {
	if len(a) != len(b) || len(a) == 0 {
		panic(fmt.Sprintf("metrics: lengths %d and %d differ or are zero", len(a), len(b)))
	}
}

// dataRange returns max − min of ref.
func dataRange(ref []float32) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range ref {
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	return hi - lo
}

// MSE is the mean squared difference.
func MSE(x, ref []float32) float64 {
	checkLens(x, ref)
	var s float64
	for i, v := range x {
		d := float64(v) - float64(ref[i])
		s += d * d
	}
	return s / float64(len(x))
}

// PSNR returns 10·log10(R²/MSE) in dB, with R = dataRange, or the range of
// ref when dataRange ≤ 0. Identical images give +Inf.
func PSNR(x, ref []float32, dataRange_ float64) float64 {
	r := dataRange_
	if r <= 0 {
		r = dataRange(ref)
	}
	return 10 * math.Log10(r*r/MSE(x, ref))
}

// SSIM returns the mean structural similarity of two n×n images (row-major)
// with a 7×7 uniform window, as scikit-image's structural_similarity with
// data_range set. dataRange ≤ 0 means the range of ref.
func SSIM(x, ref []float32, n int, dataRange_ float64) float64 {
	checkLens(x, ref)
	if len(x) != n*n {
		panic(fmt.Sprintf("metrics: SSIM of %d values is not %d×%d", len(x), n, n))
	}
	r := dataRange_
	if r <= 0 {
		r = dataRange(ref)
	}
	const w = 7
	if n < w {
		panic(fmt.Sprintf("metrics: SSIM needs images of at least %d×%d", w, w))
	}
	c1, c2 := (0.01*r)*(0.01*r), (0.03*r)*(0.03*r)
	const np = w * w
	cov := np / (np - 1.0) // sample covariance, as scikit-image
	var total float64
	count := 0
	for i := 0; i+w <= n; i++ {
		for j := 0; j+w <= n; j++ {
			var sx, sy, sxx, syy, sxy float64
			for a := i; a < i+w; a++ {
				for b := j; b < j+w; b++ {
					p, q := float64(x[a*n+b]), float64(ref[a*n+b])
					sx += p
					sy += q
					sxx += p * p
					syy += q * q
					sxy += p * q
				}
			}
			mx, my := sx/np, sy/np
			vx := cov * (sxx/np - mx*mx)
			vy := cov * (syy/np - my*my)
			vxy := cov * (sxy/np - mx*my)
			total += ((2*mx*my + c1) * (2*vxy + c2)) / ((mx*mx + my*my + c1) * (vx + vy + c2))
			count++
		}
	}
	return total / float64(count)
}

// MeanSE is the mean of v and its standard error, √(s²/n) with the sample
// variance s²: how every table and error bar over images is summarised.
// The mean is NaN for no value, the standard error NaN for fewer than two.
func MeanSE(v []float64) (mean, se float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, math.NaN()
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1) / float64(len(v)))
}
