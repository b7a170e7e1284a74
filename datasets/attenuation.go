package datasets

// MuScale is the attenuation, relative to water, that maps to 1: that of
// HU = +2000 (μ/μ_water = 3), dense cortical bone. Air is then 0, water
// 1/3, soft tissue about 0.34–0.36 and bone 0.4–1; only metal and enamel
// exceed 1. One fixed constant (not each slice's maximum) keeps slices and
// data sets comparable.
const MuScale = 3

// MuFromHU converts Hounsfield units to scaled linear attenuation,
// dst[i] = max(0, 1 + hu[i]/1000) / MuScale, from μ = μ_water·(1 + HU/1000)
// clipped at 0. dst and hu may be the same slice. It panics if the lengths
// differ.
func MuFromHU(dst, hu []float32) {
	if len(dst) != len(hu) {
		panic("datasets: MuFromHU: len(dst) != len(hu)")
	}
	for i, h := range hu {
		dst[i] = max(0, 1+h/1000) / MuScale
	}
}

// Resize resamples the from×from image src into the to×to image dst by
// area averaging: each output pixel is the area-weighted mean of the input
// pixels it overlaps (separable, exact fractional overlaps). Shrinking by
// an integer factor is the block mean; the image mean is preserved up to
// rounding. It panics on wrong lengths.
func Resize(dst, src []float32, from, to int) {
	if from < 1 || to < 1 || len(src) != from*from || len(dst) != to*to {
		panic("datasets: Resize: wrong lengths")
	}
	w := areaWeights(from, to)
	// Rows first into tmp [to][from], then columns.
	tmp := make([]float64, to*from)
	for i, ws := range w {
		t := tmp[i*from : (i+1)*from]
		for _, e := range ws {
			s := src[e.k*from : (e.k+1)*from]
			for j := range t {
				t[j] += e.w * float64(s[j])
			}
		}
	}
	for i := range to {
		t := tmp[i*from : (i+1)*from]
		for j, ws := range w {
			var v float64
			for _, e := range ws {
				v += e.w * t[e.k]
			}
			dst[i*to+j] = float32(v)
		}
	}
}

type weight struct {
	k int
	w float64
}

// areaWeights: output cell i covers [i, i+1)·from/to in input units; its
// weights are the overlaps with input cells, normalised to sum to 1.
func areaWeights(from, to int) [][]weight {
	ws := make([][]weight, to)
	scale := float64(from) / float64(to)
	for i := range ws {
		a, b := float64(i)*scale, float64(i+1)*scale
		for k := int(a); k < from && float64(k) < b; k++ {
			lo, hi := max(a, float64(k)), min(b, float64(k+1))
			if hi > lo {
				ws[i] = append(ws[i], weight{k, (hi - lo) / scale})
			}
		}
	}
	return ws
}
