package evaluation

import (
	"context"
	"fmt"
	"math"

	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/metrics"
)

// Settings of an evaluation; DefaultSettings are evaluate's defaults.
type Settings struct {
	Object float64 // the object region: truth above this, grown by one pixel
	Patch  int     // patch size of the patch-wise Spearman
	Bins   int     // σ bins of the calibration curve (equal pixel counts)
}

// DefaultSettings: object above 0.01, 8×8 patches, 10 σ bins.
func DefaultSettings() Settings { return Settings{Object: 0.01, Patch: 8, Bins: 10} }

// Region is the evaluation of one region (all pixels or the object).
type Region struct {
	Name        string
	Pixels      int
	RMSE        float64
	Cal         *linearised.Calibration // nil without a std map
	OracleLL    float64                 // test LL of a constant σ = RMSE
	PatchRho    float64                 // Spearman of patch RMS error and RMS σ
	PatchRhoErr error                   // too few patches in the region for PatchRho
}

// Slice is the evaluation of one slice: Regions[0] is all pixels,
// Regions[1] the object.
type Slice struct {
	PSNR, SSIM float64
	Patch      int
	Regions    []Region
	Variance   []float64 // σ² per pixel; nil without a std map
	Object     []bool    // the object region's mask
}

// Variance returns σ² of each pixel of a std map.
func Variance(std []float32) []float64 {
	v := make([]float64, len(std))
	for i, sd := range std {
		v[i] = float64(sd) * float64(sd)
	}
	return v
}

// EvaluateSlice scores one n×n slice; std may be nil (accuracy only). A
// non-finite value in the image or the truth is an error.
func EvaluateSlice(truth, img, std []float32, n int, s Settings) (*Slice, error) {
	for i := range img {
		if v := float64(img[i]); math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("the reconstruction has %g at pixel %d", v, i)
		}
		if v := float64(truth[i]); math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("the ground truth has %g at pixel %d", v, i)
		}
	}
	e := &Slice{PSNR: metrics.PSNR(img, truth, 0), SSIM: metrics.SSIM(img, truth, n, 0), Patch: s.Patch,
		Object: metrics.ObjectMask(truth, n, float32(s.Object), 1)}
	if std != nil {
		e.Variance = Variance(std)
	}
	for _, reg := range []struct {
		name string
		mask []bool
	}{{"all pixels", nil}, {"object", e.Object}} {
		r := Region{Name: reg.name, RMSE: linearised.RMSE(truth, img, reg.mask)}
		for _, in := range reg.mask {
			if in {
				r.Pixels++
			}
		}
		if reg.mask == nil {
			r.Pixels = n * n
		}
		if r.Pixels == 0 {
			e.Regions = append(e.Regions, r)
			continue
		}
		if e.Variance != nil {
			c, err := linearised.Calibrate(truth, img, e.Variance, reg.mask, s.Bins)
			if err != nil {
				return nil, err
			}
			r.Cal = &c
			if r.RMSE > 0 {
				oc, err := linearised.Calibrate(truth, img, linearised.ConstantVariance(n*n, r.RMSE*r.RMSE), reg.mask, 1)
				if err != nil {
					return nil, err
				}
				r.OracleLL = oc.LogLik
			} else {
				r.OracleLL = math.Inf(1)
			}
			r.PatchRho, r.PatchRhoErr = linearised.PatchSpearman(truth, img, e.Variance, n, s.Patch, reg.mask)
		}
		e.Regions = append(e.Regions, r)
	}
	return e, nil
}

// PatchLLRow is the patch-wise test LL per pixel of one patch size, for
// all pixels and for the object (nil where no whole patch fits; both nil
// with TooFewSamples).
type PatchLLRow struct {
	Size          int           `json:"size"`
	TooFewSamples bool          `json:"too_few_samples,omitempty"`
	All           *PatchLLValue `json:"all"`
	Object        *PatchLLValue `json:"object"`
}

// PatchLLValue is one region's patch LL under the samples' covariance plus
// δ (Joint) and under independent pixels with the std map (Independent).
type PatchLLValue struct {
	Joint       float64 `json:"joint"`
	Independent float64 `json:"independent"`
}

// PatchLL computes the patch-wise test LL (linearised.PatchLogLik) of each
// size, on all pixels and on the object (mask), under the k zero-mean
// samples' covariance plus δ and under independent pixels with the std
// map's variances.
func PatchLL(truth, img []float32, variance []float64, mask []bool, samples []float32, k int, delta float64, n int, sizes []int) ([]PatchLLRow, error) {
	full := linearised.SampleCovFunc(samples, k, n*n, delta)
	diag := linearised.DiagCovFunc(variance)
	var rows []PatchLLRow
	for _, size := range sizes {
		row := PatchLLRow{Size: size, TooFewSamples: k < size*size}
		if !row.TooFewSamples {
			for ri, m := range [][]bool{nil, mask} {
				if len(linearised.PatchesInside(n, size, m)) == 0 {
					continue
				}
				ll, err := linearised.PatchLogLik(context.Background(), truth, img, n, size, m, full)
				if err != nil {
					return nil, err
				}
				ld, err := linearised.PatchLogLik(context.Background(), truth, img, n, size, m, diag)
				if err != nil {
					return nil, err
				}
				v := &PatchLLValue{Joint: ll, Independent: ld}
				if ri == 0 {
					row.All = v
				} else {
					row.Object = v
				}
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Calibration is how well a std map predicts the actual error, over all
// pixels, averaged over a volume's slices.
type Calibration struct {
	TestLL             float64 // mean per-pixel log N(truth | image, σ²)
	ConstantLL         float64 // the same with a constant σ equal to the true RMSE (an oracle)
	Cover1, Cover2     float64 // fraction of pixels with |error| ≤ σ, ≤ 2σ
	Spearman           float64 // rank correlation of |error| and σ
	SpearmanCalibrated float64 // what a calibrated σ of the same map would score
	SpearmanPatch      float64 // the same on PatchSize² patches (RMS error, RMS σ)
	PatchSize          int
}

// CalibrateVolume evaluates the std map of slices of n×n images (truth,
// img and std hold the same number of slices back to back), on 8×8 patches,
// smaller on small images so that at least 16 fit.
func CalibrateVolume(truth, img, std []float32, n int) (Calibration, error) {
	s := Settings{Object: 0.01, Patch: min(8, max(1, n/4)), Bins: 10}
	c := Calibration{PatchSize: s.Patch}
	slices := len(img) / (n * n)
	if slices == 0 || len(truth) != len(img) || len(std) != len(img) {
		return c, fmt.Errorf("evaluation: %d truth, %d image and %d std values for %d×%d slices", len(truth), len(img), len(std), n, n)
	}
	for k := 0; k < slices; k++ {
		sl := func(v []float32) []float32 { return v[k*n*n : (k+1)*n*n] }
		e, err := EvaluateSlice(sl(truth), sl(img), sl(std), n, s)
		if err == nil && e.Regions[0].PatchRhoErr != nil {
			err = e.Regions[0].PatchRhoErr
		}
		if err != nil {
			return c, err
		}
		all := e.Regions[0]
		c.TestLL += all.Cal.LogLik
		c.ConstantLL += all.OracleLL
		c.Cover1 += all.Cal.Cover1
		c.Cover2 += all.Cal.Cover2
		c.Spearman += all.Cal.Spearman
		c.SpearmanCalibrated += all.Cal.SpearmanCalibrated
		c.SpearmanPatch += all.PatchRho
	}
	f := float64(slices)
	c.TestLL, c.ConstantLL, c.Cover1, c.Cover2 = c.TestLL/f, c.ConstantLL/f, c.Cover1/f, c.Cover2/f
	c.Spearman, c.SpearmanCalibrated, c.SpearmanPatch = c.Spearman/f, c.SpearmanCalibrated/f, c.SpearmanPatch/f
	return c, nil
}

func (c Calibration) String() string {
	return fmt.Sprintf("test log-likelihood %.3f per pixel (constant σ = RMSE: %.3f), ±1σ coverage %.1f%%, ±2σ %.1f%%, Spearman(|error|, σ) %.2f (a calibrated σ of this map: %.2f; %d×%d patches: %.2f)",
		c.TestLL, c.ConstantLL, 100*c.Cover1, 100*c.Cover2, c.Spearman, c.SpearmanCalibrated, c.PatchSize, c.PatchSize, c.SpearmanPatch)
}
