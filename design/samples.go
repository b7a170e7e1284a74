package design

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/internal/blas"
	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/radon"
)

// SliceSamples are S zero-mean posterior samples of one slice (deviations
// from the predictive mean, without δ) and that slice's noise variance.
type SliceSamples struct {
	X        []float32 // [S][N²]
	S        int
	NoiseVar float64 // σ_y²
	// Delta is added to every predicted pixel variance (the std map's δ
	// floor, kept at its current value); 0 for none.
	Delta float64
}

// Settings configure Select. The zero value is a plan of one angle by EIG
// over the whole image.
type Settings struct {
	Criterion Criterion
	// ROI marks the pixels (N², row-major) the criteria look at; nil means
	// all.
	ROI []bool
	// TopK scores every candidate once and takes the k best, without
	// conditioning between picks: the reference code's batches, kept for
	// comparison. Select's default conditions after every pick.
	TopK bool
}

// Plan is what Select chose.
type Plan struct {
	Chosen []int       // candidate indices, in order of choice
	Scores [][]float64 // [pick][candidate]: the criterion (summed over slices) before each pick; NaN for taken candidates
	// MeanStd and ROIStd are the predicted mean pixel std (whole image,
	// ROI) before any pick ([0]) and after each pick ([i+1]), from the
	// conditioned samples (plus δ).
	MeanStd, ROIStd []float64
}

// sliceState is one slice's samples and their projections onto every
// candidate, in sample-row layout so that conditioning is one GEMM.
type sliceState struct {
	s        int
	npix     int
	noiseVar float64
	delta    float64
	x        []float32 // [S][N²]
	z        []float32 // [S][C·bins] projections of x
	zr       []float32 // [S][C·bins] projections of the ROI part (nil: z)
	rng      *rand.Rand
}

// Select chooses k angles from the free candidates by the criterion,
// jointly (conditioning the samples on each pick) unless TopK. geo gives
// the image size and detector; its angles are ignored. stop, when not nil,
// is asked after every pick with the predicted stds and ends the plan
// early when it returns true (for a target std). rng draws the simulated
// measurement noise of the conditioning.
func Select(ctx context.Context, geo radon.Geometry, cands *Candidates, slices []SliceSamples, k int, set Settings,
	rng *rand.Rand, stop func(meanStd, roiStd float64) bool) (*Plan, error) {
	if len(slices) == 0 {
		return nil, fmt.Errorf("design: no posterior samples")
	}
	if err := cands.checkK(k); err != nil {
		return nil, err
	}
	npix := geo.N * geo.N
	if set.ROI != nil && len(set.ROI) != npix {
		return nil, fmt.Errorf("design: ROI has %d pixels, the image %d", len(set.ROI), npix)
	}
	cg := geo
	cg.Angles = cands.Angles
	P, err := radon.NewOperator(cg)
	if err != nil {
		return nil, err
	}
	C, bins := len(cands.Angles), geo.NDet
	st := make([]*sliceState, len(slices))
	for i, sl := range slices {
		if sl.S < 2 || len(sl.X) != sl.S*npix {
			return nil, fmt.Errorf("design: slice %d: %d values for %d samples of %d pixels (need at least 2 samples)", i, len(sl.X), sl.S, npix)
		}
		if !(sl.NoiseVar > 0) || math.IsInf(sl.NoiseVar, 0) {
			return nil, fmt.Errorf("design: slice %d: noise variance %g must be positive", i, sl.NoiseVar)
		}
		for _, v := range sl.X {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("design: slice %d: the samples hold a non-finite value", i)
			}
		}
		s := &sliceState{s: sl.S, npix: npix, noiseVar: sl.NoiseVar, delta: sl.Delta,
			x: append([]float32(nil), sl.X...), z: make([]float32, sl.S*C*bins),
			rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))}
		P.ApplyBatch(s.z, s.x, sl.S)
		if set.ROI != nil {
			masked := make([]float32, len(s.x))
			for r := 0; r < sl.S; r++ {
				for j, in := range set.ROI {
					if in {
						masked[r*npix+j] = s.x[r*npix+j]
					}
				}
			}
			s.zr = make([]float32, len(s.z))
			P.ApplyBatch(s.zr, masked, sl.S)
		}
		st[i] = s
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	plan := &Plan{}
	record := func() {
		var all, roi, nr float64
		for _, s := range st {
			a, r, n := s.meanStd(set.ROI)
			all += a
			roi += r
			nr += n
		}
		plan.MeanStd = append(plan.MeanStd, all/float64(len(st)))
		plan.ROIStd = append(plan.ROIStd, roi/math.Max(nr, 1))
	}
	record()
	taken := make([]bool, C)
	var fixed []float64 // TopK: the scores of the first round
	for pick := 0; pick < k; pick++ {
		scores := make([]float64, C)
		if set.TopK && fixed != nil {
			copy(scores, fixed)
		} else if err := scoreAll(ctx, scores, st, cands, set.Criterion, bins); err != nil {
			return nil, err
		}
		if set.TopK && fixed == nil {
			fixed = append([]float64(nil), scores...)
		}
		best := -1
		for c := range scores {
			if !cands.Free[c] || taken[c] {
				scores[c] = math.NaN()
				continue
			}
			if best < 0 || scores[c] > scores[best] {
				best = c
			}
		}
		plan.Scores = append(plan.Scores, scores)
		plan.Chosen = append(plan.Chosen, best)
		taken[best] = true
		for _, s := range st { // TopK too, for the predicted stds
			if err := s.condition(best, C, bins); err != nil {
				return nil, err
			}
		}
		record()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if stop != nil && stop(plan.MeanStd[len(plan.MeanStd)-1], plan.ROIStd[len(plan.ROIStd)-1]) {
			break
		}
	}
	return plan, nil
}

// scoreAll computes the criterion of every free candidate, summed over
// slices, in parallel over candidates.
func scoreAll(ctx context.Context, dst []float64, st []*sliceState, cands *Candidates, crit Criterion, bins int) error {
	C := len(dst)
	errs := make([]error, C)
	par.ForGrain(C, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			if !cands.Free[c] || ctx.Err() != nil {
				continue
			}
			for _, s := range st {
				v, err := s.score(c, C, bins, crit)
				if err != nil {
					errs[c] = err
				}
				dst[c] += v
			}
		}
	})
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return ctx.Err()
}

// score is one slice's criterion for candidate c: Gram matrix of its bins
// (or the S×S dual), per-bin variances, and ½ log det(I + ·/σ²) for EIG.
func (s *sliceState) score(c, C, bins int, crit Criterion) (float64, error) {
	z := s.zr
	if z == nil {
		z = s.z
	}
	ld := C * bins
	w := z[c*bins:]
	diag := make([]float64, bins)
	for r := 0; r < s.s; r++ {
		row := w[r*ld : r*ld+bins]
		for k, v := range row {
			diag[k] += float64(v) * float64(v)
		}
	}
	inv := 1 / float64(s.s)
	for k := range diag {
		diag[k] *= inv
	}
	if crit != EIG {
		return score(crit, diag, s.noiseVar, 0), nil
	}
	d := min(bins, s.s)
	g := make([]float32, d*d)
	if bins <= s.s { // Ĉ = WᵀW/S, bins × bins
		blas.Sgemm(true, false, bins, bins, s.s, float32(inv), w, ld, w, ld, 0, g, bins)
	} else { // the dual WWᵀ/S, S × S: same non-zero eigenvalues
		blas.Sgemm(false, true, s.s, s.s, bins, float32(inv), w, ld, w, ld, 0, g, s.s)
	}
	m := make([]float64, d*d)
	for i, v := range g {
		m[i] = float64(v)
	}
	h, err := halfLogDetI(m, d, s.noiseVar)
	return h, err
}

// condition updates the samples (and their projections) on a simulated
// measurement of candidate a: X ← Mᵀ X (samples as rows) with
// Mᵀ = I − (1/S)(W + σE) K⁻¹ Wᵀ, W the S×bins projections onto a,
// K = WᵀW/S + σ²I and E standard normal: Matheron's rule with the
// samples' own covariance.
//
// A gain estimated from the samples it updates shrinks them more than the
// exact conditioning would, by about var·tr(K⁻¹Ĉ_a)/S per pick: on a 32²
// exact-regime case (47 bins) five picks lowered the predicted mean std by
// 1.8× the exact reduction with 256 samples and 1.1× with 2048
// (docs/studies/design.md); SelectDense has no such error. The half-and-
// half ("double") ensemble update, gains from the other half, erred the
// other way (no reduction at all at 256 samples), so it was not kept.
func (s *sliceState) condition(a, C, bins int) error {
	S, ld := s.s, C*bins
	w := make([]float64, S*bins)
	for r := 0; r < S; r++ {
		for k := 0; k < bins; k++ {
			w[r*bins+k] = float64(s.z[r*ld+a*bins+k])
		}
	}
	// K = WᵀW/S + σ²I and its Cholesky factor L (lower, in place).
	K := make([]float64, bins*bins)
	for r := 0; r < S; r++ {
		row := w[r*bins : (r+1)*bins]
		for i, vi := range row {
			if vi == 0 {
				continue
			}
			for j := 0; j <= i; j++ {
				K[i*bins+j] += vi * row[j]
			}
		}
	}
	for i := 0; i < bins; i++ {
		for j := 0; j <= i; j++ {
			K[i*bins+j] /= float64(S)
		}
		K[i*bins+i] += s.noiseVar
	}
	if err := cholesky(K, bins); err != nil {
		return err
	}
	// V = K⁻¹ Wᵀ, column by column (each column a sample's projection).
	v := make([]float64, S*bins) // row r = K⁻¹ w_r
	for r := 0; r < S; r++ {
		copy(v[r*bins:(r+1)*bins], w[r*bins:(r+1)*bins])
		cholSolve(K, bins, v[r*bins:(r+1)*bins])
	}
	// Mᵀ = I − (1/S) P Vᵀ with P = W + σE (S×bins): a rank-bins update,
	// applied as A ← A − P (Vᵀ A / S) without forming the S×S matrix.
	sigma := math.Sqrt(s.noiseVar)
	pm := make([]float32, S*bins)
	vt := make([]float32, S*bins)
	for i := range pm {
		pm[i] = float32(w[i] + sigma*s.rng.NormFloat64())
		vt[i] = float32(v[i])
	}
	s.x = s.update(pm, vt, s.x, s.npix, bins)
	s.z = s.update(pm, vt, s.z, ld, bins)
	if s.zr != nil {
		s.zr = s.update(pm, vt, s.zr, ld, bins)
	}
	return nil
}

// update returns A − P (VᵀA)/S for A with S rows of length cols, P and V
// S×bins.
func (s *sliceState) update(pm, vt, a []float32, cols, bins int) []float32 {
	va := make([]float32, bins*cols)
	blas.Sgemm(true, false, bins, cols, s.s, 1/float32(s.s), vt, bins, a, cols, 0, va, cols)
	blas.Sgemm(false, false, s.s, cols, bins, -1, pm, bins, va, cols, 1, a, cols)
	return a
}

// meanStd returns the mean predicted pixel std over the image and the sum
// over the ROI's pixels with their count.
func (s *sliceState) meanStd(roi []bool) (all, roiSum, roiN float64) {
	for j := 0; j < s.npix; j++ {
		var v float64
		for r := 0; r < s.s; r++ {
			x := float64(s.x[r*s.npix+j])
			v += x * x
		}
		sd := math.Sqrt(v/float64(s.s) + s.delta)
		all += sd
		if roi == nil || roi[j] {
			roiSum += sd
			roiN++
		}
	}
	return all / float64(s.npix), roiSum, roiN
}

// cholesky factors a symmetric positive definite d×d matrix (lower
// triangle used) in place into L.
func cholesky(m []float64, d int) error {
	for j := 0; j < d; j++ {
		v := m[j*d+j]
		for k := 0; k < j; k++ {
			v -= m[j*d+k] * m[j*d+k]
		}
		if !(v > 0) {
			return fmt.Errorf("design: matrix not positive definite (pivot %g)", v)
		}
		l := math.Sqrt(v)
		m[j*d+j] = l
		for i := j + 1; i < d; i++ {
			u := m[i*d+j]
			for k := 0; k < j; k++ {
				u -= m[i*d+k] * m[j*d+k]
			}
			m[i*d+j] = u / l
		}
	}
	return nil
}

// cholSolve solves L Lᵀ x = b in place.
func cholSolve(l []float64, d int, b []float64) {
	for i := 0; i < d; i++ {
		v := b[i]
		for k := 0; k < i; k++ {
			v -= l[i*d+k] * b[k]
		}
		b[i] = v / l[i*d+i]
	}
	for i := d - 1; i >= 0; i-- {
		v := b[i]
		for k := i + 1; k < d; k++ {
			v -= l[k*d+i] * b[k]
		}
		b[i] = v / l[i*d+i]
	}
}
