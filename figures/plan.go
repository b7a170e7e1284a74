package figures

import (
	"fmt"
	"math"
)

// PlanScores is what a plan figure shows: every candidate angle's score
// before the first pick (NaN for measured or excluded candidates, which
// are left out), the chosen candidates in order, and the measured angles.
// Angles in degrees.
type PlanScores struct {
	CandidatesDeg []float64
	Scores        []float64 // per candidate, the first round's
	Chosen        []int     // indices into CandidatesDeg, in order of choice
	MeasuredDeg   []float64 // drawn modulo 360° along the bottom of the plot
	Criterion     string    // the score's name: "eig", "diag-eig", "var"
}

// PlanPanel draws the first-round scores against angle, the chosen angles
// as markers on that curve and the measured ones along its bottom (the
// figure ctrecon plan writes beside a plan file).
func PlanPanel(p PlanScores) (*Panel, error) {
	if len(p.Scores) != len(p.CandidatesDeg) {
		return nil, fmt.Errorf("figures: %d scores for %d candidates", len(p.Scores), len(p.CandidatesDeg))
	}
	var fx, fy []float64
	lo := math.Inf(1)
	for i, v := range p.Scores {
		if !math.IsNaN(v) {
			fx = append(fx, p.CandidatesDeg[i])
			fy = append(fy, v)
			lo = math.Min(lo, v)
		}
	}
	series := []Series{{Name: "score before the first pick", X: fx, Y: fy}}
	var cx, cy []float64
	for _, c := range p.Chosen {
		if c < 0 || c >= len(p.CandidatesDeg) {
			return nil, fmt.Errorf("figures: chosen candidate %d of %d", c, len(p.CandidatesDeg))
		}
		cx = append(cx, p.CandidatesDeg[c])
		cy = append(cy, p.Scores[c])
	}
	series = append(series, Series{Name: fmt.Sprintf("chosen (%d)", len(cx)), X: cx, Y: cy, NoLine: true})
	var mx, my []float64
	for _, d := range p.MeasuredDeg {
		mx = append(mx, math.Mod(d, 360))
		my = append(my, lo)
	}
	if len(mx) > 0 {
		series = append(series, Series{Name: "measured", X: mx, Y: my, NoLine: true})
	}
	return LinePanel(LineOptions{Title: fmt.Sprintf("next angles by %s", p.Criterion), XLabel: "angle (degrees)",
		YLabel: p.Criterion + " score"}, series...)
}
