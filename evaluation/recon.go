package evaluation

import (
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/ctrecon/ctrecon/h5io"
)

// ReconSlice is one evaluated slice of a reconstruction file.
type ReconSlice struct {
	Index int // the slice's index in the volume
	*Slice
	// PatchLL is empty unless the file holds posterior samples and a std
	// map and patch sizes were asked for; PatchSamples samples were used
	// and Delta is the δ the std map includes (0 when it leaves δ out).
	PatchLL      []PatchLLRow
	PatchSamples int
	Delta        float64
}

// Recon scores slices [a, b) of a reconstruction file against truth (the
// same size) and calls each with every slice in order: accuracy, the std
// map's calibration when there is one, and the patch-wise LL of
// patchSizes when the file also holds posterior samples, under their
// covariance plus the δ that `ctrecon uncertainty` recorded.
func Recon(rc *h5io.Recon, truth h5io.Volume, a, b int, s Settings, patchSizes []int, each func(ReconSlice) error) error {
	n := rc.Image.N
	if truth.N != n || truth.Slices != rc.Image.Slices {
		return fmt.Errorf("the ground truth is %d×%d×%d, the reconstruction %d×%d×%d", truth.Slices, truth.N, truth.N, rc.Image.Slices, n, n)
	}
	if a < 0 || b > rc.Image.Slices || a >= b {
		return fmt.Errorf("slices %d:%d outside the volume's %d", a, b, rc.Image.Slices)
	}
	// Posterior samples are stored [k][slices][N][N] around the image.
	per := rc.Image.Slices * n * n
	k := len(rc.Samples) / per
	delta := StdDelta(rc)
	for sl := a; sl < b; sl++ {
		var std []float32
		if rc.Std != nil {
			std = rc.Std.Slice(sl)
		}
		img := rc.Image.Slice(sl)
		e, err := EvaluateSlice(truth.Slice(sl), img, std, n, s)
		if err != nil {
			return fmt.Errorf("slice %d: %w", sl, err)
		}
		r := ReconSlice{Index: sl, Slice: e}
		if k > 0 && std != nil && len(patchSizes) > 0 {
			zero := make([]float32, k*n*n)
			for q := 0; q < k; q++ {
				src := rc.Samples[(q*rc.Image.Slices+sl)*n*n : (q*rc.Image.Slices+sl+1)*n*n]
				for i, v := range src {
					zero[q*n*n+i] = v - img[i]
				}
			}
			rows, err := PatchLL(truth.Slice(sl), img, e.Variance, e.Object, zero, k, delta, n, patchSizes)
			if err != nil {
				return fmt.Errorf("slice %d: %w", sl, err)
			}
			r.PatchLL, r.PatchSamples, r.Delta = rows, k, delta
		}
		if err := each(r); err != nil {
			return err
		}
	}
	return nil
}

// StdDelta is the δ that an uncertainty file's std map includes: its
// "delta" attribute, or 0 when "with_delta" says the map leaves δ out
// (uncertainty --no-delta).
func StdDelta(rc *h5io.Recon) float64 {
	if wd, ok := rc.AttrFloat("with_delta"); ok && wd == 0 {
		return 0
	}
	delta, _ := rc.AttrFloat("delta")
	return delta
}

// Report is one slice's numbers as `ctrecon evaluate --json` writes them
// (the file is a JSON list of these). Values that are not finite are null.
type Report struct {
	Slice        int            `json:"slice"`
	PSNR         *float64       `json:"psnr"` // null when the image is exact
	SSIM         float64        `json:"ssim"`
	Regions      []RegionReport `json:"regions"`
	PatchSamples int            `json:"patch_samples,omitempty"`
	PatchLL      []PatchLLRow   `json:"patch_ll,omitempty"`
}

// RegionReport is one region's numbers; the calibration fields are absent
// without a std map. An oracle LL of +Inf (an exact image) is left out.
type RegionReport struct {
	Name               string    `json:"name"`
	Pixels             int       `json:"pixels"`
	RMSE               float64   `json:"rmse"`
	TestLL             *float64  `json:"test_ll,omitempty"`
	OracleLL           *float64  `json:"oracle_ll,omitempty"`
	Coverage1          *float64  `json:"coverage_1sigma,omitempty"`
	Coverage2          *float64  `json:"coverage_2sigma,omitempty"`
	Spearman           *float64  `json:"spearman,omitempty"`
	SpearmanCalibrated *float64  `json:"spearman_calibrated,omitempty"`
	SpearmanPatch      *float64  `json:"spearman_patch,omitempty"`
	BinSigma           []float64 `json:"bin_rms_sigma,omitempty"`
	BinError           []float64 `json:"bin_rms_error,omitempty"`
	BinCount           []int     `json:"bin_count,omitempty"`
}

// Report is the slice's numbers for JSON.
func (r ReconSlice) Report() Report {
	fin := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	e := r.Slice
	rep := Report{Slice: r.Index, PSNR: fin(e.PSNR), SSIM: e.SSIM, PatchLL: r.PatchLL, PatchSamples: r.PatchSamples}
	for _, g := range e.Regions {
		rr := RegionReport{Name: g.Name, Pixels: g.Pixels, RMSE: g.RMSE}
		if c := g.Cal; c != nil {
			rr.TestLL, rr.OracleLL = fin(c.LogLik), fin(g.OracleLL)
			rr.Coverage1, rr.Coverage2 = fin(c.Cover1), fin(c.Cover2)
			rr.Spearman, rr.SpearmanCalibrated = fin(c.Spearman), fin(c.SpearmanCalibrated)
			if g.PatchRhoErr == nil {
				rr.SpearmanPatch = fin(g.PatchRho)
			}
			for _, b := range c.Bins {
				rr.BinSigma, rr.BinError, rr.BinCount = append(rr.BinSigma, b.RMSSigma), append(rr.BinError, b.RMSError), append(rr.BinCount, b.Count)
			}
		}
		rep.Regions = append(rep.Regions, rr)
	}
	return rep
}

// ReadReports reads a file that `ctrecon evaluate --json` wrote.
func ReadReports(path string) ([]Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var reps []Report
	if err := json.Unmarshal(b, &reps); err != nil {
		return nil, fmt.Errorf("%s: not an evaluate --json file: %v", path, err)
	}
	return reps, nil
}
