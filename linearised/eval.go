package linearised

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Calibration reports how well the pixelwise Gaussians N(mean_i, σ_i²)
// describe the true image (DESIGN.md §5, evaluation).
type Calibration struct {
	Pixels int     // pixels evaluated (those in the mask)
	LogLik float64 // mean over pixels of log N(x_true,i | mean_i, σ_i²)
	Cover1 float64 // fraction of pixels with |error| ≤ σ (Gaussian: 0.683)
	Cover2 float64 // fraction with |error| ≤ 2σ (Gaussian: 0.954)
	// Spearman is the rank correlation between |error| and σ.
	Spearman float64
	// SpearmanCalibrated is the scale to read Spearman on: its expected
	// value if the errors were exactly N(0, σ_i²) with these σ (mean over
	// calibratedDraws draws, fixed seed). A single pixel's |error| scatters
	// around its σ, so even a perfect std map scores well below 1, and the
	// less σ varies across the image, the lower.
	SpearmanCalibrated float64
	// Bins groups the pixels by σ (equal-count bins, increasing σ); for a
	// calibrated σ, RMSError ≈ RMSSigma in every bin.
	Bins []ErrorBin
}

// ErrorBin is one bin of |error| against σ.
type ErrorBin struct {
	Count            int
	SigmaLo, SigmaHi float64 // σ range of the bin
	RMSSigma         float64 // √(mean σ²)
	RMSError         float64 // √(mean error²)
	MeanAbsError     float64
}

// Calibrate evaluates predictive variances (δ included by the caller)
// against the truth. mask selects pixels (nil: all), e.g. the object region
// where the sigmoid does not saturate; nbins ≤ 0 means 10.
func Calibrate(truth, mean []float32, variance []float64, mask []bool, nbins int) (Calibration, error) {
	n := len(truth)
	if len(mean) != n || len(variance) != n || (mask != nil && len(mask) != n) {
		panic(fmt.Errorf("linearised: Calibrate lengths %d, %d, %d, mask %d", n, len(mean), len(variance), len(mask)))
	}
	if nbins <= 0 {
		nbins = 10
	}
	var c Calibration
	var absErr, sigma []float64
	for i := 0; i < n; i++ {
		if mask != nil && !mask[i] {
			continue
		}
		v := variance[i]
		if !(v > 0) || math.IsInf(v, 0) {
			return c, fmt.Errorf("linearised: variance %g at pixel %d is not positive and finite", v, i)
		}
		e := float64(truth[i]) - float64(mean[i])
		s := math.Sqrt(v)
		c.LogLik += -0.5*e*e/v - 0.5*math.Log(2*math.Pi*v)
		if math.Abs(e) <= s {
			c.Cover1++
		}
		if math.Abs(e) <= 2*s {
			c.Cover2++
		}
		absErr = append(absErr, math.Abs(e))
		sigma = append(sigma, s)
	}
	c.Pixels = len(sigma)
	if c.Pixels == 0 {
		return c, errors.New("linearised: Calibrate: no pixels in the mask")
	}
	p := float64(c.Pixels)
	c.LogLik /= p
	c.Cover1 /= p
	c.Cover2 /= p
	c.Spearman = spearman(absErr, sigma)
	c.SpearmanCalibrated = calibratedSpearman(sigma)
	idx := make([]int, len(sigma))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return sigma[idx[a]] < sigma[idx[b]] })
	nbins = min(nbins, len(idx))
	for b := 0; b < nbins; b++ {
		lo, hi := b*len(idx)/nbins, (b+1)*len(idx)/nbins
		var bin ErrorBin
		bin.SigmaLo, bin.SigmaHi = sigma[idx[lo]], sigma[idx[hi-1]]
		for _, i := range idx[lo:hi] {
			bin.RMSSigma += sigma[i] * sigma[i]
			bin.RMSError += absErr[i] * absErr[i]
			bin.MeanAbsError += absErr[i]
		}
		bin.Count = hi - lo
		k := float64(bin.Count)
		bin.RMSSigma = math.Sqrt(bin.RMSSigma / k)
		bin.RMSError = math.Sqrt(bin.RMSError / k)
		bin.MeanAbsError /= k
		c.Bins = append(c.Bins, bin)
	}
	return c, nil
}

// calibratedDraws is the number of simulated error images behind
// SpearmanCalibrated: its Monte Carlo error is about 1/√(draws·pixels),
// below 0.005 from 784 pixels on.
const calibratedDraws = 8

// calibratedSpearman returns the mean Spearman(|z_i σ_i|, σ_i) over
// calibratedDraws draws of z ~ N(0, I), with a fixed seed so that a report
// is reproducible.
func calibratedSpearman(sigma []float64) float64 {
	rng := rand.New(rand.NewPCG(0x5eed, uint64(len(sigma))))
	e := make([]float64, len(sigma))
	var sum float64
	for range calibratedDraws {
		for i, s := range sigma {
			e[i] = math.Abs(rng.NormFloat64() * s)
		}
		sum += spearman(e, sigma)
	}
	return sum / calibratedDraws
}

// PatchSpearman returns the rank correlation between the RMS error and the
// RMS σ of the size×size patches of an n×n image (Patches(n, size)); with
// mask non-nil only patches that lie wholly inside it count. Averaging over
// a patch removes most of the single-pixel scatter of |error| around σ, so
// this says whether σ finds the regions where the errors are, which the
// pixel Spearman cannot show when σ varies little.
func PatchSpearman(truth, mean []float32, variance []float64, n, size int, mask []bool) (float64, error) {
	if len(truth) != n*n || len(mean) != n*n || len(variance) != n*n || (mask != nil && len(mask) != n*n) {
		panic(fmt.Errorf("linearised: PatchSpearman lengths %d, %d, %d, mask %d for %d×%d", len(truth), len(mean), len(variance), len(mask), n, n))
	}
	var rmsErr, rmsSigma []float64
	for _, p := range PatchesInside(n, size, mask) {
		var se, sv float64
		for _, i := range p {
			d := float64(truth[i]) - float64(mean[i])
			se += d * d
			sv += variance[i]
		}
		if !(sv > 0) || math.IsInf(sv, 0) || math.IsNaN(se) || math.IsInf(se, 0) {
			return 0, fmt.Errorf("linearised: PatchSpearman: patch at pixel %d has variance sum %g and error sum %g", p[0], sv, se)
		}
		k := float64(len(p))
		rmsErr = append(rmsErr, math.Sqrt(se/k))
		rmsSigma = append(rmsSigma, math.Sqrt(sv/k))
	}
	if len(rmsErr) < 3 {
		return 0, fmt.Errorf("linearised: PatchSpearman: %d patches of %d×%d inside the mask; need 3", len(rmsErr), size, size)
	}
	return spearman(rmsErr, rmsSigma), nil
}

// spearman returns the Spearman rank correlation (Pearson correlation of
// the ranks, ties given their mean rank); 0 when either side is constant.
func spearman(a, b []float64) float64 {
	ra, rb := ranks(a), ranks(b)
	n := float64(len(a))
	var ma, mb float64
	for i := range ra {
		ma += ra[i]
		mb += rb[i]
	}
	ma /= n
	mb /= n
	var sab, saa, sbb float64
	for i := range ra {
		da, db := ra[i]-ma, rb[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return 0
	}
	return sab / math.Sqrt(saa*sbb)
}

func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		mr := float64(i+j)/2 + 1
		for t := i; t <= j; t++ {
			r[idx[t]] = mr
		}
		i = j + 1
	}
	return r
}

// ConstantVariance returns a variance image of n pixels all equal to v:
// the baselines N(x̂, δ) (v = δ) and the constant-σ Gaussian (v = RMSE²).
func ConstantVariance(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// RMSE returns √(mean (truth − mean)²) over the mask (nil: all pixels): the
// σ of the oracle constant-σ baseline.
func RMSE(truth, mean []float32, mask []bool) float64 {
	var s float64
	var k int
	for i := range truth {
		if mask != nil && !mask[i] {
			continue
		}
		d := float64(truth[i]) - float64(mean[i])
		s += d * d
		k++
	}
	if k == 0 {
		return 0
	}
	return math.Sqrt(s / float64(k))
}

// Patches returns the pixel indices (row-major in an n×n image) of the
// non-overlapping size×size patches that tile the image, row by row; patches
// at the right and bottom edges are smaller when size does not divide n
// (as bayes_dip's get_image_patch_mask_inds).
func Patches(n, size int) [][]int {
	var out [][]int
	for r0 := 0; r0 < n; r0 += size {
		for c0 := 0; c0 < n; c0 += size {
			var p []int
			for r := r0; r < min(r0+size, n); r++ {
				for c := c0; c < min(c0+size, n); c++ {
					p = append(p, r*n+c)
				}
			}
			out = append(out, p)
		}
	}
	return out
}

// PatchesInside returns the patches of Patches(n, size) that lie wholly
// inside mask (nil: all of them).
func PatchesInside(n, size int, mask []bool) [][]int {
	all := Patches(n, size)
	if mask == nil {
		return all
	}
	var out [][]int
	for _, p := range all {
		in := true
		for _, i := range p {
			in = in && mask[i]
		}
		if in {
			out = append(out, p)
		}
	}
	return out
}

// CovFunc returns the predictive covariance (row-major |P|×|P|, δ
// included) of each pixel set (patch) it is given, batched so that an
// implementation can share work between patches.
type CovFunc func(ctx context.Context, patches [][]int) ([][]float64, error)

// PatchLogLik returns the patch-wise Gaussian test log-likelihood
// Σ_P log N(x_true[P] | mean[P], C_P) / (pixels counted) over the patches
// of Patches(n, size), C_P from cov. With mask non-nil only patches whose
// pixels all lie in the mask count. size 1 gives the per-pixel LL.
func PatchLogLik(ctx context.Context, truth, mean []float32, n, size int, mask []bool, cov CovFunc) (float64, error) {
	patches := PatchesInside(n, size, mask)
	count := 0
	for _, p := range patches {
		count += len(p)
	}
	if count == 0 {
		return 0, errors.New("linearised: PatchLogLik: no patch inside the mask")
	}
	covs, err := cov(ctx, patches)
	if err != nil {
		return 0, err
	}
	var total float64
	for i, p := range patches {
		ll, err := gaussLogPdf(truth, mean, p, covs[i])
		if err != nil {
			return 0, err
		}
		total += ll
	}
	return total / float64(count), nil
}

func gaussLogPdf(truth, mean []float32, p []int, c []float64) (float64, error) {
	k := len(p)
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(k, c)) {
		return 0, fmt.Errorf("linearised: patch covariance at pixel %d is not positive definite (add δ)", p[0])
	}
	d := make([]float64, k)
	for a, i := range p {
		d[a] = float64(truth[i]) - float64(mean[i])
	}
	var x mat.VecDense
	if err := chol.SolveVecTo(&x, mat.NewVecDense(k, d)); err != nil {
		return 0, err
	}
	q := mat.Dot(&x, mat.NewVecDense(k, d))
	return -0.5*q - 0.5*chol.LogDet() - 0.5*float64(k)*math.Log(2*math.Pi), nil
}

// SampleCovariance returns the covariance of the given pixels estimated
// from k zero-mean samples (k × npix, as MatrixFree.Samples returns), plus
// delta on the diagonal, as bayes_dip's patch covariances.
func SampleCovariance(samples []float32, k, npix int, pixels []int, delta float64) []float64 {
	if len(samples) != k*npix {
		panic(fmt.Errorf("linearised: SampleCovariance: %d values for %d samples of %d", len(samples), k, npix))
	}
	c := len(pixels)
	out := make([]float64, c*c)
	for r := 0; r < k; r++ {
		s := samples[r*npix : (r+1)*npix]
		for a, i := range pixels {
			si := float64(s[i])
			for b := a; b < c; b++ {
				out[a*c+b] += si * float64(s[pixels[b]])
			}
		}
	}
	for a := 0; a < c; a++ {
		for b := a; b < c; b++ {
			v := out[a*c+b] / float64(k)
			out[a*c+b], out[b*c+a] = v, v
		}
		out[a*c+a] += delta
	}
	return out
}

// SampleCovFunc adapts SampleCovariance to a CovFunc.
func SampleCovFunc(samples []float32, k, npix int, delta float64) CovFunc {
	return func(_ context.Context, patches [][]int) ([][]float64, error) {
		out := make([][]float64, len(patches))
		for i, p := range patches {
			out[i] = SampleCovariance(samples, k, npix, p, delta)
		}
		return out, nil
	}
}

// CovFunc returns the exact predictive covariance of patches (posterior
// covariance plus delta on the diagonal) for PatchLogLik. Patches are
// grouped into chunks of up to PixelChunk pixels, each computed at once.
func (e *Exact) CovFunc(delta float64) CovFunc {
	return func(ctx context.Context, patches [][]int) ([][]float64, error) {
		out := make([][]float64, len(patches))
		ch := e.set.pixelChunk()
		for i0 := 0; i0 < len(patches); {
			var pix []int
			i1 := i0
			for i1 < len(patches) && (i1 == i0 || len(pix)+len(patches[i1]) <= ch) {
				pix = append(pix, patches[i1]...)
				i1++
			}
			c, err := e.Covariance(ctx, pix)
			if err != nil {
				return nil, err
			}
			np := len(pix)
			off := 0
			for i := i0; i < i1; i++ {
				k := len(patches[i])
				b := make([]float64, k*k)
				for a := 0; a < k; a++ {
					copy(b[a*k:(a+1)*k], c[(off+a)*np+off:(off+a)*np+off+k])
					b[a*k+a] += delta
				}
				out[i] = b
				off += k
			}
			i0 = i1
		}
		return out, nil
	}
}

// DiagCovFunc is the covariance of independent pixels with the given
// variances (baselines, or the diagonal approximation).
func DiagCovFunc(variance []float64) CovFunc {
	return func(_ context.Context, patches [][]int) ([][]float64, error) {
		out := make([][]float64, len(patches))
		for i, p := range patches {
			c := make([]float64, len(p)*len(p))
			for a, j := range p {
				c[a*len(p)+a] = variance[j]
			}
			out[i] = c
		}
		return out, nil
	}
}
