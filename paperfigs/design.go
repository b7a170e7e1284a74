package paperfigs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/figures"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/internal/atomicfile"
	"github.com/ctrecon/ctrecon/pipeline"
)

// studyScan finds the full scan of an existing design study folder: the
// first file its settings name, in the folder or beside it.
func studyScan(dir string, rd *h5io.Reader) (string, error) {
	fp, ok, err := rd.AttrString("/study", "settings")
	if err != nil || !ok {
		return "", fmt.Errorf("--design-from %s: results.h5 records no study settings (%v)", dir, err)
	}
	name := pipeline.DesignScanNames(fp)[0]
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(filepath.Dir(filepath.Clean(dir)), name)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("--design-from %s: its scan %s is neither in it nor beside it (regenerate it with the simulate command the study used)", dir, name)
}

// design: PSNR against angles per strategy from a ctrecon design study (run
// here, or DesignFrom), and the first adaptive strategy's angles over the
// first image.
func (m *Maker) design(ctx context.Context) error {
	full := m.p("design", "full.h5")
	study := m.p("design", "study")
	strategies := strings.Split(m.Settings.DesignStrategies, ",")
	var steps []Step
	if m.DesignFrom != "" {
		study = m.DesignFrom
		strategies = nil
		for _, s := range design.Strategies {
			strategies = append(strategies, string(s))
		}
	} else {
		args := []string{"design", "--full", full, "--start", itoa(m.Settings.DesignStart), "--budget", itoa(m.Settings.DesignBudget),
			"--strategies", m.Settings.DesignStrategies, "--eval", m.Settings.DesignEval, "--dip-seeds", m.Settings.DesignSeeds, "--samples", itoa(m.Settings.DesignSamples)}
		args = withIters(args, "--dip-iters", m.Settings.DesignDIPIters)
		steps = []Step{
			{Name: "design simulate", Args: []string{"simulate", "--phantom", "rectangles", "--size", itoa(m.Settings.DesignSize), "--count", itoa(m.Settings.DesignCount),
				"--angles", "200", "--analytic", "-o", full}, Output: full},
			{Name: "design", Args: append(args, "-o", study), Output: filepath.Join(study, "results.h5"), Resume: []string{filepath.Join(study, "state.json")}},
		}
		if err := m.run(ctx, steps); err != nil {
			return err
		}
	}
	rd, err := h5io.Open(filepath.Join(study, "results.h5"))
	if err != nil {
		return err
	}
	defer rd.Close()
	if m.DesignFrom != "" {
		if full, err = studyScan(study, rd); err != nil {
			return err
		}
		m.designSettings, _, _ = rd.AttrString("/study", "settings")
	}
	curves, err := pipeline.ReadDIPCurves(rd, strategies)
	if err != nil {
		return err
	}
	var chosen []float64
	drawn := "" // the strategy whose angles are drawn: the first adaptive one
	drawnImage, drawnRun := 0, ""
	for _, s := range strategies {
		grp := "/study/" + s
		if !rd.Has(grp + "/psnr_dip") {
			continue
		}
		if chosen == nil && s != "equal" {
			acq, ash, err := rd.Float64(grp+"/acquired_candidates", 2)
			if err != nil {
				return err
			}
			for _, c := range acq[:ash[1]] {
				if c >= 0 {
					chosen = append(chosen, c)
				}
			}
			if len(chosen) > 0 {
				drawn = s
				runs, _, _ := rd.AttrString(grp, "runs")
				drawnRun, _, _ = strings.Cut(runs, ",")
				if drawnImage, err = pipeline.DesignRunImage(drawnRun); err != nil {
					return fmt.Errorf("%s: %v", grp, err)
				}
			}
		}
	}
	if len(curves) == 0 {
		return fmt.Errorf("%s holds no finished strategy", filepath.Join(study, "results.h5"))
	}
	panels, err := figures.StrategyPanels("DIP PSNR (dB)", "equal", curves)
	if err != nil {
		return err
	}
	paired := len(panels) == 2
	if len(chosen) > 0 {
		scan, err := h5io.ReadScan(full)
		if err != nil {
			return err
		}
		deg := make([]float64, len(chosen))
		for i, c := range chosen {
			deg[i] = scan.ThetaDeg[int(c)]
		}
		n := scan.ImageSize
		if scan.GroundTruth == nil || drawnImage >= scan.GroundTruth.Slices {
			return fmt.Errorf("%s: run %s is on an image the scan does not hold", full, drawnRun)
		}
		panels = append(panels, figures.AnglesPanel(scan.GroundTruth.Slice(drawnImage), n, deg, m.Settings.DesignStart, figures.ImageOptions{
			Title: fmt.Sprintf("%s: angles in order (pilot dashed)", drawn), BarLabel: "intensity"}))
	}
	if err := (figures.Figure{Panels: panels, Cols: len(panels), PanelWidth: 5 * 72, PanelHeight: 4.2 * 72}).SavePNG(m.p("design.png")); err != nil {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(study, "table.md")); err == nil {
		if err := atomicfile.WriteBytes(m.p("design.md"), b); err != nil {
			return err
		}
	}
	pairedText := ""
	if paired {
		pairedText = "; second, each strategy's PSNR minus equal spacing's on the same image and seed (paired mean ± s.e.: the comparison " +
			"that decides, since images differ more than strategies do; with several DIP seeds per image, each image's seeds are averaged " +
			"first and the s.e. is over images)"
	}
	return m.caption("design", fmt.Sprintf("Simulated adaptive acquisition on random-rectangles phantoms (ctrecon design): first, the DIP's PSNR "+
		"against the number of measured angles for each strategy, mean ± s.e. over images and DIP seeds%s; last, the angles the "+
		"%q strategy measured on the first image it ran on (%s), over its ground truth: each line runs through the centre along that angle's rays, "+
		"the %d equally spaced pilot angles dashed grey, the chosen ones coloured from dark (early) to yellow (late) and numbered in "+
		"order of acquisition. Tables (TV too, per image): design.md.", pairedText, drawn, drawnRun, m.Settings.DesignStart), steps)
}
