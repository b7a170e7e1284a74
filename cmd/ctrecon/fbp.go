package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/pipeline"
	"github.com/ctrecon/ctrecon/radon"
)

// reportPSNR logs PSNR/SSIM against the scan's ground truth, when it has one,
// and returns them as attributes for the output file.
func reportPSNR(method string, s *h5io.Scan, rec h5io.Volume) []h5io.Attr {
	if s.GroundTruth == nil {
		return nil
	}
	var psnr, ssim float64
	for k := 0; k < rec.Slices; k++ {
		psnr += metrics.PSNR(rec.Slice(k), s.GroundTruth.Slice(k), 0)
		if rec.N >= 7 {
			ssim += metrics.SSIM(rec.Slice(k), s.GroundTruth.Slice(k), rec.N, 0)
		}
	}
	psnr /= float64(rec.Slices)
	ssim /= float64(rec.Slices)
	logf("%s: PSNR %.2f dB, SSIM %.3f against the ground truth (its range; mean over %d slice(s))", method, psnr, ssim, rec.Slices)
	return []h5io.Attr{{Name: "psnr", Value: psnr}, {Name: "ssim", Value: ssim}}
}

func fbpCmd() *cobra.Command {
	var in, out, filter string
	var cutoff float64
	cmd := &cobra.Command{
		Use:   "fbp",
		Short: "Filtered back-projection of a scan file",
		Long: `Filtered back-projection, slice by slice. Filters: ramp, shepp-logan, cosine,
hann. Rows are zero-padded to at least 2·NDet; the result is scaled for the
angle count, detector spacing and NDet of the scan, so a phantom of value v
reconstructs to about v. Writes /recon/image with method "fbp".`,
		Example: `  ctrecon fbp -i scan.h5 -o fbp.h5
  ctrecon fbp -i scan.h5 --filter ramp --cutoff 0.8 -o fbp.h5`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(out, in); err != nil {
				return err
			}
			if in == "" {
				return usagef("an input scan is required: -i SCAN")
			}
			f, err := radon.ParseFilter(filter)
			if err != nil {
				return usageError{err}
			}
			if cutoff < 0 || cutoff > 1 {
				return usagef("--cutoff must be in (0, 1]")
			}
			scan, err := loadScan(cmd, in)
			if err != nil {
				return err
			}
			start := time.Now()
			rec, err := fbpVolume(cmd, scan, radon.FBPSettings{Filter: f, Cutoff: cutoff})
			if err != nil {
				return err
			}
			attrs := append(reportPSNR("fbp", scan, rec), h5io.Attr{Name: "filter", Value: filter},
				h5io.Attr{Name: "seconds", Value: time.Since(start).Seconds()})
			if err := h5io.WriteRecon(out, &h5io.Recon{Method: "fbp", Image: rec, Attrs: attrs}); err != nil {
				return err
			}
			logf("wrote %s (%s)", out, fmtDur(time.Since(start).Seconds()))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&in, "in", "i", "", "input scan file")
	fl.StringVarP(&out, "out", "o", "", "output reconstruction file")
	fl.StringVar(&filter, "filter", "hann", "ramp, shepp-logan, cosine or hann")
	fl.Float64Var(&cutoff, "cutoff", 1, "highest frequency kept, as a fraction of Nyquist (0, 1]")
	addCenterFlag(cmd)
	return cmd
}

// fbpVolume reconstructs every slice of a scan.
func fbpVolume(cmd *cobra.Command, scan *h5io.Scan, s radon.FBPSettings) (h5io.Volume, error) {
	geo, err := pipeline.ScanGeometry(scan)
	if err != nil {
		return h5io.Volume{}, err
	}
	rec := h5io.NewVolume(scan.Slices, scan.ImageSize)
	sino := make([]float32, geo.SinoLen())
	bar := newBar(scan.Slices, "fbp")
	for k := 0; k < scan.Slices; k++ {
		if err := cmd.Context().Err(); err != nil {
			return rec, err
		}
		scan.Sinogram(sino, k)
		if err := radon.FBP(rec.Slice(k), sino, geo, s); err != nil {
			return rec, err
		}
		bar.Add(1)
	}
	bar.Finish()
	return rec, nil
}
