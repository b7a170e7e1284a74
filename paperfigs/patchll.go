package paperfigs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ctrecon/ctrecon/evaluation"
	"github.com/ctrecon/ctrecon/figures"
	"github.com/ctrecon/ctrecon/internal/atomicfile"
)

// readPatchLL reads the patch-LL rows of an `evaluate --json` file: per
// size, the joint and independent values for all pixels and the object
// (NaN where evaluate computed none), from its first slice.
func readPatchLL(path string) (map[int][4]float64, error) {
	rep, err := evaluation.ReadReports(path)
	if err != nil {
		return nil, err
	}
	out := map[int][4]float64{}
	for _, sl := range rep[:min(1, len(rep))] {
		for _, r := range sl.PatchLL {
			v := [4]float64{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
			for q, x := range []*evaluation.PatchLLValue{r.All, r.Object} {
				if x != nil {
					v[2*q], v[2*q+1] = x.Joint, x.Independent
				}
			}
			out[r.Size] = v
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no patch LL (does the uncertainty file hold samples?)", path)
	}
	return out, nil
}

// patchLL: patch-wise test LL against patch size, joint (samples) and
// independent (std map), from ctrecon evaluate on both slices.
func (m *Maker) patchLL(ctx context.Context) error {
	var steps []Step
	var texts []string
	for _, sub := range []string{"ct", "sl"} {
		steps = append(steps, m.sliceSteps(sub, false)...)
		steps = append(steps, m.uqStep(sub))
		t := m.p("patchll", sub+"-evaluate.json")
		steps = append(steps, Step{Name: sub + " evaluate", Args: []string{"evaluate", "-i", m.p(sub, "uq.h5"), "--truth", m.p(sub, "scan.h5"),
			"--patch-ll", m.Settings.PatchLL, "--json", t}, Output: t})
		texts = append(texts, t)
	}
	if err := m.run(ctx, steps); err != nil {
		return err
	}
	var sizes []int
	for _, f := range strings.Split(m.Settings.PatchLL, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("patch sizes %q: %v", m.Settings.PatchLL, err)
		}
		sizes = append(sizes, v)
	}
	var per []map[int][4]float64
	for _, t := range texts {
		v, err := readPatchLL(t)
		if err != nil {
			return err
		}
		per = append(per, v)
	}
	var md strings.Builder
	fmt.Fprintf(&md, "| patch | joint, all | independent, all | joint, object | independent, object |\n|---|---|---|---|---|\n")
	var panels []*figures.Panel
	for reg, title := range []string{"all pixels", "object"} {
		var series []figures.Series
		for j, name := range []string{"joint: covariance of the samples + δ", "independent pixels (std map)"} {
			var x, y, e []float64
			for _, s := range sizes {
				var v []float64
				for _, m := range per {
					if w, ok := m[s]; ok && !math.IsNaN(w[2*reg+j]) {
						v = append(v, w[2*reg+j])
					}
				}
				if len(v) == 0 {
					continue
				}
				mean, se := meanSE(v)
				x, y, e = append(x, float64(s)), append(y, mean), append(e, se)
			}
			if len(x) > 0 {
				series = append(series, figures.Series{Name: name, X: x, Y: y, Err: e, Points: true, Dashed: j == 1})
			}
		}
		if len(series) == 0 {
			continue
		}
		pn, err := figures.LinePanel(figures.LineOptions{Title: "patch-wise test LL, " + title, XLabel: "patch side (pixels, log scale)",
			YLabel: "test LL per pixel (nats, mean ± s.e.)", LogX: true}, series...)
		if err != nil {
			return err
		}
		panels = append(panels, pn)
	}
	for _, s := range sizes {
		fmt.Fprintf(&md, "| %d×%d |", s, s)
		for q := range 4 {
			var v []float64
			for _, m := range per {
				if w, ok := m[s]; ok && !math.IsNaN(w[q]) {
					v = append(v, w[q])
				}
			}
			if len(v) == 0 {
				fmt.Fprint(&md, " – |")
				continue
			}
			mean, se := meanSE(v)
			fmt.Fprintf(&md, " %.3f ± %.3f |", mean, se)
		}
		fmt.Fprintln(&md)
	}
	if len(panels) == 0 {
		return errors.New("patchll: evaluate printed no patch LL")
	}
	if err := (figures.Figure{Panels: panels, Cols: 2, PanelWidth: 5 * 72, PanelHeight: 4 * 72}).SavePNG(m.p("patchll.png")); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(m.p("patchll.md"), []byte(md.String())); err != nil {
		return err
	}
	return m.caption("patchll", fmt.Sprintf("Gaussian test log-likelihood of the truth on non-overlapping k×k patches (k = %s), per pixel, "+
		"under the covariance of the stored posterior samples plus δ (joint) and under independent pixels with the std map's "+
		"variances; mean ± s.e. over the head-CT slice 54 and the Shepp–Logan phantom (ctrecon evaluate's numbers, also in patchll.md).",
		m.Settings.PatchLL), steps)
}
