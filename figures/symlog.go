package figures

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// symLog is a symmetric logarithmic axis: y ↦ sign(y)·log10(1 + |y|),
// linear near zero and logarithmic beyond ±1 on both sides, so values that
// span orders of magnitude of either sign (a test log-likelihood of 3 beside
// one of −300) share an axis and each keeps its place in the order.
type symLog struct{}

func symLogOf(y float64) float64 {
	return math.Copysign(math.Log10(1+math.Abs(y)), y)
}

// Normalize implements plot.Normalizer.
func (symLog) Normalize(min, max, x float64) float64 {
	lo, hi := symLogOf(min), symLogOf(max)
	if hi == lo {
		return 0.5
	}
	return (symLogOf(x) - lo) / (hi - lo)
}

// symLogTicks labels 0 and ±1, 2, 5 × 10^k, with minor ticks at the other
// ±m·10^k (m = 3…9), within [min, max].
func symLogTicks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	add := func(v float64, label bool) {
		if v < min || v > max {
			return
		}
		t := plot.Tick{Value: v}
		if label {
			t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			if v < 0 {
				t.Label = "−" + t.Label[1:]
			}
		}
		ticks = append(ticks, t)
	}
	add(0, true)
	top := math.Max(math.Abs(min), math.Abs(max))
	for p := 1.0; p <= 10*top; p *= 10 {
		for m := 1; m <= 9; m++ {
			v := float64(m) * p
			label := m == 1 || m == 2 || m == 5
			add(v, label)
			add(-v, label)
		}
	}
	return ticks
}
