package paperfigs

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/ctrecon/ctrecon/figures"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/pipeline"
)

// loglik: test LL against the number of angles per uncertainty method, from
// ctrecon study on MNIST digits (one run per digit and angle count, merged).
func (m *Maker) loglik(ctx context.Context) error {
	methods := "lin,linmap,det,const,mcdrop"
	var steps []Step
	var values []string
	for first := 0; first < m.Settings.StudyImages; first += m.Settings.StudyChunk {
		count := min(m.Settings.StudyChunk, m.Settings.StudyImages-first)
		for _, a := range m.Settings.StudyAngles {
			v := m.p("loglik", fmt.Sprintf("values-a%d-first%d.json", a, first))
			args := []string{"study", "--images", "digits:" + itoa(count), "--first", itoa(first), "--size", itoa(m.Settings.StudySize),
				"--angles", itoa(a), "--methods", methods, "--mll-steps", itoa(m.Settings.StudyMLL), "--mc-samples", itoa(m.Settings.MCSamples)}
			args = withIters(args, "--dip-iters", m.Settings.StudyDIPIters)
			steps = append(steps, Step{Name: fmt.Sprintf("study %d angles, digits %d–%d", a, first, first+count-1),
				Args: append(args, "--values", v), Output: v})
			values = append(values, v)
		}
	}
	steps = append(steps, Step{Name: "study merge", Args: []string{"study", "--merge", strings.Join(values, ","), "-o", m.p("loglik.md")}, Output: m.p("loglik.md")})
	if err := m.run(ctx, steps); err != nil {
		return err
	}
	// Per method and angle count, the per-image test LL of all pixels and of the object.
	type key struct {
		method, metric string
		angles         int
	}
	vals := map[key][]float64{}
	for _, f := range values {
		recs, err := pipeline.ReadStudyValues(f)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			k := key{rec.Method, rec.Metric, rec.Angles}
			vals[k] = append(vals[k], rec.Values...)
		}
	}
	labels := map[string]string{"lin": "lin. DIP (type-II ML)", "linmap": "lin. DIP (TV-PredCP MAP)", "mcdrop": "MC dropout",
		"det": "N(x̂, δ)", "const": "constant σ = RMSE (oracle)"}
	var panels []*figures.Panel
	for _, reg := range []struct{ metric, title string }{{"ll-all", "all pixels"}, {"ll-object", "object (truth > 0.01, grown 1 px)"}} {
		var series []figures.Series
		for _, meth := range strings.Split(methods, ",") {
			var x, y, e []float64
			for _, a := range m.Settings.StudyAngles {
				v := vals[key{meth, reg.metric, a}]
				if len(v) == 0 {
					continue
				}
				mean, se := meanSE(v)
				x, y, e = append(x, float64(a)), append(y, mean), append(e, se)
			}
			if len(x) > 0 {
				series = append(series, figures.Series{Name: labels[meth], X: x, Y: y, Err: e, Points: true, Dashed: meth == "const"})
			}
		}
		// The methods span −300 to 8 nats: a symmetric log axis keeps
		// every one on the plot and the best ones apart.
		pn, err := figures.LinePanel(figures.LineOptions{Title: "test log-likelihood, " + reg.title, XLabel: "number of angles",
			YLabel: "test LL per pixel (nats; symlog axis)", SymLogY: true}, series...)
		if err != nil {
			return err
		}
		panels = append(panels, pn)
	}
	if err := (figures.Figure{Panels: panels, Cols: 2, PanelWidth: 5.4 * 72, PanelHeight: 4.2 * 72}).SavePNG(m.p("loglik.png")); err != nil {
		return err
	}
	return m.caption("loglik", "Per-pixel Gaussian test log-likelihood of the truth under each method's predictive, against the number of "+
		"angles, on all pixels and on the object; mean ± standard error over the images (no bar with one image); the y axis is "+
		"sign(y)·log10(1 + |y|), linear near zero and logarithmic beyond ±1, so that methods tens or hundreds of nats apart share it. MNIST test digits "+
		"stand in for the papers' KMNIST (not fetched by make data). lin/linmap: the linearised DIP with type-II ML and TV-PredCP MAP "+
		"hyperparameters; MC dropout: p = 0.05 after every conv; N(x̂, δ): the DIP image with the linearised fit's constant δ; "+
		"the constant-σ oracle knows the true RMSE. All tables (coverage, Spearman, PSNR): loglik.md.", steps)
}

// meanSE is metrics.MeanSE with a standard error of 0 for one value (no
// error bar).
func meanSE(v []float64) (mean, se float64) {
	mean, se = metrics.MeanSE(v)
	if math.IsNaN(se) {
		se = 0
	}
	return mean, se
}
