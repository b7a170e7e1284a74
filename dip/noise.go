package dip

import (
	"fmt"
	"math"
	"slices"
)

// EstimateNoiseStd estimates σ of white noise on a sinogram y stored
// [angle][nDet] without knowing the image: it takes second differences
// along the detector, d_k = y_{k−1} − 2y_k + y_{k+1} (variance 6σ² for white
// noise; the smooth projections of an object contribute little), and
// returns the robust scale 1.4826·MAD(d)/√6, which ignores the few large
// differences at object edges. It needs projections that are smooth at the
// bin scale, i.e. images of N ≳ 64: measured on an ellipse phantom with 5%
// noise it is ~10% high at 64², 30% at 32² and 2× at 16², where the
// image's own structure dominates the second differences.
func EstimateNoiseStd(y []float32, nDet int) (float64, error) {
	if nDet < 3 || len(y)%nDet != 0 {
		return 0, fmt.Errorf("dip: cannot estimate noise from %d values in rows of %d bins", len(y), nDet)
	}
	var d []float64
	for a := 0; a < len(y)/nDet; a++ {
		row := y[a*nDet : (a+1)*nDet]
		for k := 1; k+1 < nDet; k++ {
			d = append(d, float64(row[k-1])-2*float64(row[k])+float64(row[k+1]))
		}
	}
	med := median(d)
	for i := range d {
		d[i] = math.Abs(d[i] - med)
	}
	return 1.4826 * median(d) / math.Sqrt(6), nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
