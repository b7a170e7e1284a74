package pipeline

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/h5io"
)

// TestPlanJob plans from a tiny uncertainty file with samples: distinct
// free angles, NaN first-round scores exactly at the taken (measured) candidates,
// the file's σ_y; a plan from the stored model (no samples in the file)
// draws its own; too many angles and files that do not belong together are
// refused.
func TestPlanJob(t *testing.T) {
	dir := t.TempDir()
	fit, rc, model := fitted(t, dir, 1)
	uqFile := func(name string, samples int) *h5io.Recon {
		o := defaultUQ()
		o.Steps, o.Samples = 5, samples
		uq := &UQVolume{Scan: fit.Scan, Recon: rc, ReconPath: fit.Out, Model: model, Out: filepath.Join(dir, name), Options: o, Threads: 1}
		if err := uq.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		out, err := h5io.ReadRecon(uq.Out)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	withSamples, without := uqFile("uq.h5", 24), uqFile("uq0.h5", 0)
	job := func(r *h5io.Recon, path string) *PlanJob {
		return &PlanJob{Scan: fit.Scan, ScanPath: "scan.h5", Recon: r, ReconPath: path, Criterion: design.EIG, Candidates: 40,
			Range: design.Interval{Lo: 0, Hi: math.Pi}, Next: 3, Samples: 16, Seed: 1}
	}
	res, err := job(withSamples, "uq.h5").Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan.Chosen) != 3 || res.Samples != 24 || res.Dense {
		t.Fatalf("chose %v from %d samples (dense %v)", res.Plan.Chosen, res.Samples, res.Dense)
	}
	seen := map[int]bool{}
	for _, c := range res.Plan.Chosen {
		if seen[c] || !res.Candidates.Free[c] {
			t.Errorf("candidate %d chosen twice or already measured", c)
		}
		seen[c] = true
	}
	for i, v := range res.Plan.Scores[0] {
		if math.IsNaN(v) != !res.Candidates.Free[i] {
			t.Errorf("candidate %d: score %g, free %v", i, v, res.Candidates.Free[i])
		}
	}
	if want, _ := (&h5io.Group{Attrs: withSamples.Attrs}).AttrFloat("sigma_y"); res.SigmaY != want {
		t.Errorf("σ_y %g, the file's %g", res.SigmaY, want)
	}
	drawn, err := job(without, "uq0.h5").Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if drawn.Samples != 16 {
		t.Errorf("a file without samples: planned from %d, want the 16 drawn", drawn.Samples)
	}
	j := job(withSamples, "uq.h5")
	j.Next = 40
	if _, err := j.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "free") {
		t.Errorf("more angles than free candidates: %v", err)
	}
	other := *fit.Scan
	other.Data = append([]float32(nil), other.Data...)
	other.Data[0] += 1
	j = job(withSamples, "uq.h5")
	j.Scan = &other
	if _, err := j.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "another scan") {
		t.Errorf("a recon of another scan: %v", err)
	}
}
