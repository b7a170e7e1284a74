package design

import (
	"fmt"

	"github.com/ctrecon/ctrecon/radon"
)

// ClosedForm returns every candidate's criterion under a Gaussian with the
// dense pixel covariance sigma (N²×N², row-major, symmetric) and noise
// variance σ²: from A_a Σ A_aᵀ exactly, the limit of Select's sample
// estimates as the samples grow. It suits the exact regime's sizes (the
// covariance is N⁴ numbers); taken candidates get 0. ROI masks Σ's rows
// and columns first, as Select masks the samples.
func ClosedForm(geo radon.Geometry, cands *Candidates, sigma []float64, noiseVar float64, crit Criterion, roi []bool) ([]float64, error) {
	npix := geo.N * geo.N
	if len(sigma) != npix*npix {
		return nil, fmt.Errorf("design: covariance has %d entries, want %d", len(sigma), npix*npix)
	}
	if roi != nil && len(roi) != npix {
		return nil, fmt.Errorf("design: ROI has %d pixels, the image %d", len(roi), npix)
	}
	bins := geo.NDet
	out := make([]float64, len(cands.Angles))
	rows := make([]float32, npix*npix)
	for i := 0; i < npix; i++ {
		for j := 0; j < npix; j++ {
			if roi == nil || (roi[i] && roi[j]) {
				rows[i*npix+j] = float32(sigma[i*npix+j])
			}
		}
	}
	for c, a := range cands.Angles {
		if !cands.Free[c] {
			continue
		}
		g := geo
		g.Angles = []float64{a}
		P := radon.NewProjector(g)
		as := make([]float32, npix*bins) // [pixel][bin] = (A_a Σ)ᵀ, Σ symmetric
		P.ApplyBatch(as, rows, npix)
		asT := make([]float32, bins*npix)
		for i := 0; i < npix; i++ {
			for k := 0; k < bins; k++ {
				asT[k*npix+i] = as[i*bins+k]
			}
		}
		cov32 := make([]float32, bins*bins) // [bin][bin] = A_a Σ A_aᵀ
		P.ApplyBatch(cov32, asT, bins)
		cov := make([]float64, bins*bins)
		diag := make([]float64, bins)
		for i := range cov {
			cov[i] = float64(cov32[i])
		}
		for k := range diag {
			diag[k] = cov[k*bins+k]
		}
		h := 0.0
		if crit == EIG {
			var err error
			if h, err = halfLogDetI(cov, bins, noiseVar); err != nil {
				return nil, err
			}
		}
		out[c] = score(crit, diag, noiseVar, h)
	}
	return out, nil
}
