package design

import (
	"context"
	"fmt"
	"math"

	"github.com/ctrecon/ctrecon/radon"
)

// ClosedForm returns every candidate's criterion under a Gaussian with the
// dense pixel covariance sigma (N²×N², row-major, symmetric) and noise
// variance σ²: from A_a Σ A_aᵀ exactly, the limit of Select's sample
// estimates as the samples grow. It suits the exact regime's sizes (the
// covariance is N⁴ numbers); taken candidates get 0. ROI masks Σ's rows
// and columns first, as Select masks the samples.
func ClosedForm(geo radon.Geometry, cands *Candidates, sigma []float64, noiseVar float64, crit Criterion, roi []bool) ([]float64, error) {
	d, err := newDense(geo, sigma, noiseVar, 0, roi)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(cands.Angles))
	for c := range cands.Angles {
		if cands.Free[c] {
			if out[c], err = d.score(cands.Angles[c], crit); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// SelectDense is Select with a dense posterior covariance instead of
// samples: every score is exact (ClosedForm) and each pick conditions the
// covariance exactly, Σ ← Σ − Σ A_aᵀ (A_a Σ A_aᵀ + σ²I)⁻¹ A_a Σ, so a joint
// plan carries no Monte-Carlo error. delta is added to the predicted pixel
// variances. Settings.TopK and stop are honoured as in Select.
func SelectDense(ctx context.Context, geo radon.Geometry, cands *Candidates, sigma []float64, noiseVar, delta float64,
	k int, set Settings, stop func(meanStd, roiStd float64) bool) (*Plan, error) {
	if err := cands.checkK(k); err != nil {
		return nil, err
	}
	d, err := newDense(geo, append([]float64(nil), sigma...), noiseVar, delta, set.ROI)
	if err != nil {
		return nil, err
	}
	plan := &Plan{}
	record := func() {
		a, r := d.meanStd()
		plan.MeanStd, plan.ROIStd = append(plan.MeanStd, a), append(plan.ROIStd, r)
	}
	record()
	C := len(cands.Angles)
	taken := make([]bool, C)
	var first []float64
	for pick := 0; pick < k; pick++ {
		scores := make([]float64, C)
		best := -1
		for c := range scores {
			if !cands.Free[c] || taken[c] {
				scores[c] = math.NaN()
				continue
			}
			if set.TopK && first != nil {
				scores[c] = first[c]
			} else if scores[c], err = d.score(cands.Angles[c], set.Criterion); err != nil {
				return nil, err
			}
			if best < 0 || scores[c] > scores[best] {
				best = c
			}
		}
		if set.TopK && first == nil {
			first = scores
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		plan.Scores = append(plan.Scores, scores)
		plan.Chosen = append(plan.Chosen, best)
		taken[best] = true
		if err := d.condition(cands.Angles[best]); err != nil {
			return nil, err
		}
		record()
		if stop != nil && stop(plan.MeanStd[len(plan.MeanStd)-1], plan.ROIStd[len(plan.ROIStd)-1]) {
			break
		}
	}
	return plan, nil
}

// dense is a Gaussian over the pixels with a dense covariance.
type dense struct {
	geo      radon.Geometry
	npix     int
	sigma    []float64 // N²×N², updated by condition
	noiseVar float64
	delta    float64
	roi      []bool
	rows     map[bool][]float32 // float32 Σ (ROI-masked or not), until the next condition
}

func newDense(geo radon.Geometry, sigma []float64, noiseVar, delta float64, roi []bool) (*dense, error) {
	npix := geo.N * geo.N
	if len(sigma) != npix*npix {
		return nil, fmt.Errorf("design: covariance has %d entries, want %d", len(sigma), npix*npix)
	}
	if roi != nil && len(roi) != npix {
		return nil, fmt.Errorf("design: ROI has %d pixels, the image %d", len(roi), npix)
	}
	if !(noiseVar > 0) {
		return nil, fmt.Errorf("design: noise variance %g must be positive", noiseVar)
	}
	return &dense{geo: geo, npix: npix, sigma: sigma, noiseVar: noiseVar, delta: delta, roi: roi, rows: map[bool][]float32{}}, nil
}

// project returns the projector of one angle and Σ_m A_aᵀ as [bin][pixel]
// (Σ_m: Σ with the rows and columns outside mask zeroed; nil: all).
func (d *dense) project(a float64, mask []bool) (*radon.Projector, []float32) {
	g := d.geo
	g.Angles = []float64{a}
	P := radon.NewProjector(g)
	npix, bins := d.npix, g.NDet
	rows := d.rows[mask != nil]
	if rows == nil {
		rows = make([]float32, npix*npix)
		for i := 0; i < npix; i++ {
			for j := 0; j < npix; j++ {
				if mask == nil || (mask[i] && mask[j]) {
					rows[i*npix+j] = float32(d.sigma[i*npix+j])
				}
			}
		}
		d.rows[mask != nil] = rows
	}
	as := make([]float32, npix*bins) // row i = A_a Σ_{i,:}ᵀ: [pixel][bin]
	P.ApplyBatch(as, rows, npix)
	asT := make([]float32, bins*npix)
	for i := 0; i < npix; i++ {
		for k := 0; k < bins; k++ {
			asT[k*npix+i] = as[i*bins+k]
		}
	}
	return P, asT
}

// score is the criterion of angle a from A_a Σ A_aᵀ (ROI-masked Σ).
func (d *dense) score(a float64, crit Criterion) (float64, error) {
	P, asT := d.project(a, d.roi)
	bins := d.geo.NDet
	cov32 := make([]float32, bins*bins)
	P.ApplyBatch(cov32, asT, bins)
	cov := make([]float64, bins*bins)
	diag := make([]float64, bins)
	for i, v := range cov32 {
		cov[i] = float64(v)
	}
	for k := range diag {
		diag[k] = cov[k*bins+k]
	}
	h := 0.0
	if crit == EIG {
		var err error
		if h, err = halfLogDetI(cov, bins, d.noiseVar); err != nil {
			return 0, err
		}
	}
	return score(crit, diag, d.noiseVar, h), nil
}

// condition conditions Σ on a measurement of angle a.
func (d *dense) condition(a float64) error {
	P, asT := d.project(a, nil) // B = Σ A_aᵀ, as [bin][pixel]
	clear(d.rows)
	bins, npix := d.geo.NDet, d.npix
	c32 := make([]float32, bins*bins)
	P.ApplyBatch(c32, asT, bins)
	K := make([]float64, bins*bins)
	for i := 0; i < bins; i++ {
		for j := 0; j < bins; j++ {
			K[i*bins+j] = 0.5 * float64(c32[i*bins+j]+c32[j*bins+i])
		}
		K[i*bins+i] += d.noiseVar
	}
	if err := cholesky(K, bins); err != nil {
		return err
	}
	// W = L⁻¹ Bᵀ (bins × npix), then Σ −= Wᵀ W.
	w := make([]float64, bins*npix)
	col := make([]float64, bins)
	for p := 0; p < npix; p++ {
		for k := 0; k < bins; k++ {
			col[k] = float64(asT[k*npix+p])
		}
		for i := 0; i < bins; i++ { // forward substitution only
			v := col[i]
			for q := 0; q < i; q++ {
				v -= K[i*bins+q] * col[q]
			}
			col[i] = v / K[i*bins+i]
		}
		for k := 0; k < bins; k++ {
			w[k*npix+p] = col[k]
		}
	}
	for i := 0; i < npix; i++ {
		row := d.sigma[i*npix : (i+1)*npix]
		for k := 0; k < bins; k++ {
			wi := w[k*npix+i]
			if wi == 0 {
				continue
			}
			wk := w[k*npix : (k+1)*npix]
			for j := range row {
				row[j] -= wi * wk[j]
			}
		}
	}
	return nil
}

func (d *dense) meanStd() (all, roi float64) {
	var nr float64
	for i := 0; i < d.npix; i++ {
		s := math.Sqrt(math.Max(d.sigma[i*d.npix+i], 0) + d.delta)
		all += s
		if d.roi == nil || d.roi[i] {
			roi += s
			nr++
		}
	}
	return all / float64(d.npix), roi / math.Max(nr, 1)
}
