package figures

import (
	"math"
	"slices"
)

// Window chooses the value range that a colour map spans.
//
// Precedence: an explicit range (Min < Max) wins; otherwise the window runs
// from the Lo-th to the Hi-th percentile of the finite values (Lo = Hi = 0
// means 0 and 100, i.e. min..max). Symmetric makes the window ±w around 0
// with w the Hi-th percentile of |v| (for signed errors on a diverging map).
// NaN and ±Inf are ignored. A window that would be empty (constant image,
// no finite value) is widened to v ± |v|/2 (±0.5 around 0) so it is
// always valid and shows v in the middle colour.
type Window struct {
	Min, Max  float64
	Lo, Hi    float64
	Symmetric bool
}

// Percentiles is the window from the lo-th to the hi-th percentile.
func Percentiles(lo, hi float64) Window { return Window{Lo: lo, Hi: hi} }

// Fixed is the explicit window [lo, hi].
func Fixed(lo, hi float64) Window { return Window{Min: lo, Max: hi} }

// Resolve returns the window for data, with lo < hi always.
func (w Window) Resolve(data []float32) (lo, hi float64) {
	if w.Min < w.Max {
		return w.Min, w.Max
	}
	pl, ph := w.Lo, w.Hi
	if pl == 0 && ph == 0 {
		ph = 100
	}
	if pl == 0 && ph == 100 {
		lo, hi = minMax(data, w.Symmetric)
		if w.Symmetric {
			lo = -hi
		}
		return widen(lo, hi)
	}
	var vals []float64
	for _, v := range data {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		if w.Symmetric {
			f = math.Abs(f)
		}
		vals = append(vals, f)
	}
	if len(vals) == 0 {
		return widen(math.Inf(1), math.Inf(-1))
	}
	slices.Sort(vals)
	if w.Symmetric {
		hi = percentile(vals, ph)
		lo = -hi
	} else {
		lo, hi = percentile(vals, pl), percentile(vals, ph)
	}
	return widen(lo, hi)
}

// widen makes an empty window [v, v] non-empty; (+Inf, -Inf) from an image
// with no finite value becomes [-0.5, 0.5].
func widen(lo, hi float64) (float64, float64) {
	if lo < hi {
		return lo, hi
	}
	if lo > hi {
		return -0.5, 0.5
	}
	d := 0.5 * math.Abs(lo)
	if d == 0 || math.IsInf(d, 0) {
		d = 0.5
	}
	return lo - d, lo + d
}

// minMax of the finite values (of |v| when abs), (+Inf, -Inf) if none.
func minMax(data []float32, abs bool) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range data {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		if abs {
			f = math.Abs(f)
		}
		lo = math.Min(lo, f)
		hi = math.Max(hi, f)
	}
	return lo, hi
}

// percentile of sorted values by linear interpolation between order
// statistics (numpy's default "linear" method).
func percentile(sorted []float64, p float64) float64 {
	p = math.Min(math.Max(p, 0), 100)
	pos := p / 100 * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}

// FromZero is the window from 0 to the p-th percentile of data, for maps of
// non-negative values (std, |error|) where 0 must keep the first colour.
// An all-zero map gets [0, 1e-12].
func FromZero(data []float32, p float64) Window {
	_, hi := Percentiles(0, p).Resolve(data)
	if hi <= 0 {
		hi = 1e-12
	}
	return Fixed(0, hi)
}
