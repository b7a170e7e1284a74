package radon

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/ctrecon/ctrecon/internal/par"
)

// fanFBP is FBP for fan beam: the weighted filtered back-projection of Kak &
// Slaney (ch. 3.4), for a flat or an arc detector.
//
// Flat detector: position p on the virtual detector through the rotation
// centre (p = u·Ds/(Ds+Dd)) sees the ray at fan angle γ = atan(p/Ds). Each
// row is weighted by Ds/√(Ds² + p²) = cos γ, by the redundancy weight of
// each ray (½ on a full circle, where every line is measured twice;
// Parker's weights on a short scan of π + 2δ) and by its angle's quadrature
// weight, then ramp-filtered in p as in parallel beam. A pixel at r gets
// Σ_a Q_a(p(r))·(Ds/ℓ)², ℓ its distance from the source along the central
// ray and p(r) = Ds·(r·e)/ℓ.
//
// Arc detector (bins equally spaced in γ): rows are weighted by Ds·cos γ and
// the redundancy and quadrature weights, filtered in γ with the kernel
// (γ/sin γ)²·h(γ), and a pixel gets Σ_a Q_a(γ(r))/L², L its distance from
// the source. Filtering in γ avoids resampling the arc onto a flat grid
// (which, with linear interpolation, cost 3.6 dB on Shepp–Logan at 128²).
func fanFBP(dst, sino []float32, g Geometry, f Filter, cut float64) error {
	r, err := fanFBPRows(sino, g, f, cut)
	if err != nil {
		return err
	}
	backendMu.RLock()
	fb, ok := backend.(FanFBPBackend)
	backendMu.RUnlock()
	if ok {
		return fb.BackprojectFanFBP(dst, r)
	}
	r.backproject(dst)
	return nil
}

// fanFBPRows weights and filters the rows of fan-beam FBP (fanFBP).
func fanFBPRows(sino []float32, g Geometry, f Filter, cut float64) (*FanFBPRows, error) {
	ds := g.SourceDistance
	l := ds + g.DetectorDistance
	na, nd := len(g.Angles), g.NDet
	red, quad, err := fanWeights(g)
	if err != nil {
		return nil, err
	}
	arc := g.Detector == Arc
	// The filtering grid: p on the virtual flat detector (spacing
	// DetSpacing·Ds/L), or γ (spacing DetSpacing/L).
	spacing := g.DetSpacing * ds / l
	if arc {
		spacing = g.DetSpacing / l
	}
	pre := make([]float32, na*nd)
	par.For(na, func(lo, hi int) {
		for a := lo; a < hi; a++ {
			for k := 0; k < nd; k++ {
				gam := g.FanAngle(g.BinCenter(k))
				w := math.Cos(gam)
				if arc {
					w *= ds
				}
				pre[a*nd+k] = float32(float64(sino[a*nd+k]) * w * red(a, gam))
			}
		}
	})
	// Pixel centres lie within the fan angle asin(r/Ds) of the central ray.
	half := float64(g.N) / math.Sqrt2
	gmax := math.Asin(half / ds)
	reach := ds*math.Tan(gmax) + math.Abs(g.CenterOffset)*spacing
	var mod func(int) float64
	if arc {
		reach = gmax + math.Abs(g.CenterOffset)*spacing
		mod = func(n int) float64 {
			x := float64(n) * spacing
			if n > nd { // only acts on the zero padding
				return 1
			}
			return x * x / (math.Sin(x) * math.Sin(x))
		}
	}
	q, qpad, stride := filterRows(pre, na, nd, spacing, reach, f, cut, mod, fbpUpsample, quad)
	rows := &FanFBPRows{N: g.N, NAngles: na, Stride: stride, Q: q, Dir: make([]float64, 4*na),
		SourceDistance: ds, Spacing: spacing, Off: float64(g.NDet)/2 - 0.5 + g.CenterOffset + float64(qpad),
		Up: float64(fbpUpsample), Last: float64(stride - 2), Arc: arc}
	for a, th := range g.Angles {
		copy(rows.Dir[4*a:], []float64{-math.Sin(th), math.Cos(th), math.Cos(th), math.Sin(th)})
	}
	return rows, nil
}

// FanFBPRows is fan-beam FBP cut where a backend (a GPU) can take over the
// back-projection: Q holds the weighted, filtered rows resampled Up times
// finer than the filtering grid ([angle][Stride]), and the back-projection
// of pixel (x, y) (centred coordinates, y up) under angle a is
//
//	ℓ = SourceDistance + x·Dir[4a] + y·Dir[4a+1], s = x·Dir[4a+2] + y·Dir[4a+3]
//	flat: p = SourceDistance·s/ℓ, weight (SourceDistance/ℓ)²
//	arc:  p = atan2(s, ℓ), weight 1/(ℓ² + s²)
//	m = Up·(p/Spacing + Off), Q linearly interpolated at m where 0 ≤ m ≤ Last
//
// summed over the angles in order in float64 (backproject). All positions
// are float64 as on the CPU, so a backend that evaluates them in the same
// order gets FBP's numbers (arc: up to atan2's last bit).
type FanFBPRows struct {
	N, NAngles, Stride int
	Q                  []float32
	Dir                []float64 // per angle: the central ray's direction (2) and the detector's (2)
	SourceDistance     float64
	Spacing, Off       float64
	Up, Last           float64
	Arc                bool
}

// FanFBPBackend is a Backend that also back-projects fan-beam FBP's rows.
type FanFBPBackend interface {
	BackprojectFanFBP(dst []float32, r *FanFBPRows) error
}

// NewFanFBPRows weights and filters one fan-beam sinogram as FBP does (for
// a backend's tests and benchmarks; FBP itself hands the rows to a
// FanFBPBackend).
func NewFanFBPRows(sino []float32, g Geometry, s FBPSettings) (*FanFBPRows, error) {
	cut, err := checkFBP(g, s)
	if err != nil {
		return nil, err
	}
	if g.Beam != Fan {
		return nil, fmt.Errorf("radon: FanFBPRows: fan beam only")
	}
	checkBatch("FanFBPRows", make([]float32, g.ImageLen()), sino, g.ImageLen(), g.SinoLen())
	return fanFBPRows(sino, g, s.Filter, cut)
}

// fanWeights returns the redundancy weight of each ray (a function of its
// angle index and fan angle γ) and the quadrature weight of each angle for
// ∫ dβ. A scan whose angles cover the full circle weights every ray ½ and
// each angle by half the gaps to its neighbours on the circle. A shorter
// scan must cover π + 2δ with δ at least the image's half fan angle
// asin(N/√2/Ds); it gets Parker's weights, which make the two measurements
// of each line sum to 1, and each angle half its gaps to its neighbours
// (one gap at the ends).
//
// The scan's extent is the span of its angles plus the mean gap between
// them, so k equally spaced angles over [0, 2π) are a full circle and k
// angles spaced Δ apart cover kΔ.
func fanWeights(g Geometry) (red func(a int, gam float64) float64, quad []float64, err error) {
	na := len(g.Angles)
	idx := make([]int, na)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(g.Angles[a], g.Angles[b]) })
	first, last := g.Angles[idx[0]], g.Angles[idx[na-1]]
	step := 2 * math.Pi
	if na > 1 {
		step = (last - first) / float64(na-1)
	}
	extent := last - first + step
	quad = make([]float64, na)
	const tol = 1e-6
	if extent >= 2*math.Pi-tol || na == 1 {
		// Full circle: the gaps on the circle of angles mod 2π.
		mod := make([]float64, na)
		for i, a := range g.Angles {
			mod[i] = math.Mod(math.Mod(a, 2*math.Pi)+2*math.Pi, 2*math.Pi)
		}
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(mod[a], mod[b]) })
		for r, i := range idx {
			prev, next := mod[idx[(r+na-1)%na]], mod[idx[(r+1)%na]]
			gPrev, gNext := mod[i]-prev, next-mod[i]
			if r == 0 {
				gPrev += 2 * math.Pi
			}
			if r == na-1 {
				gNext += 2 * math.Pi
			}
			quad[i] = (gPrev + gNext) / 2
		}
		return func(int, float64) float64 { return 0.5 }, quad, nil
	}
	r := float64(g.N) / math.Sqrt2
	need := math.Pi + 2*math.Asin(r/g.SourceDistance)
	if extent < need-tol {
		return nil, nil, fmt.Errorf("radon: fan-beam FBP: the angles cover %.1f°, a short scan needs at least 180° plus the fan angle, %.1f° here (or use an iterative method)", extent*180/math.Pi, need*180/math.Pi)
	}
	delta := (extent - math.Pi) / 2
	for r, i := range idx {
		var gPrev, gNext float64
		if r > 0 {
			gPrev = g.Angles[i] - g.Angles[idx[r-1]]
		}
		if r < na-1 {
			gNext = g.Angles[idx[r+1]] - g.Angles[i]
		}
		if r == 0 || r == na-1 {
			quad[i] = gPrev + gNext // the end angles stand for one whole gap
		} else {
			quad[i] = (gPrev + gNext) / 2
		}
	}
	beta := make([]float64, na) // position in the scan, midpoint convention
	for i, a := range g.Angles {
		beta[i] = a - first + step/2
	}
	return func(a int, gam float64) float64 { return parkerWeight(beta[a], gam, delta) }, quad, nil
}

// parkerWeight is Parker's short-scan weight of the ray at scan position β ∈
// [0, π + 2δ] and fan angle γ (|γ| ≤ δ). In this package's convention the
// line of (β, γ) is measured again at (β + π − 2γ, −γ) (Geometry.Ray: φ =
// θ − γ, t = Ds·sin γ), so with γ' = −γ the weights are Parker's: a sin²
// ramp up over β < 2δ − 2γ', 1 up to π − 2γ', a sin² ramp down to π + 2δ;
// the two weights of every line sum to 1 (TestParkerWeightsSumToOne).
func parkerWeight(beta, gam, delta float64) float64 {
	gp := -gam
	switch {
	case beta < 0 || beta > math.Pi+2*delta:
		return 0
	case beta < 2*delta-2*gp:
		x := math.Sin(math.Pi / 4 * beta / (delta - gp))
		return x * x
	case beta <= math.Pi-2*gp:
		return 1
	default:
		x := math.Sin(math.Pi / 4 * (math.Pi + 2*delta - beta) / (delta + gp))
		return x * x
	}
}

// backproject sets dst = Σ_a q_a(p(r))·(Ds/ℓ(r))² (flat) or
// Σ_a q_a(γ(r))/L(r)² (arc), q_a linearly interpolated on its filtering grid
// of the given spacing and zero beyond it (FanFBPRows says how).
func (r *FanFBPRows) backproject(dst []float32) {
	n := r.N
	ds := r.SourceDistance
	h := float64(n)/2 - 0.5
	par.ForGrain(n, 2, func(lo, hi int) {
		acc := make([]float64, n)
		for i := lo; i < hi; i++ {
			clear(acc)
			y := h - float64(i)
			for a := 0; a < r.NAngles; a++ {
				d := r.Dir[4*a : 4*a+4]
				row := r.Q[a*r.Stride : (a+1)*r.Stride]
				for j := range acc {
					x := float64(j) - h
					ell := ds + x*d[0] + y*d[1] // distance from the source along the central ray
					across := x*d[2] + y*d[3]
					var pos, wt float64
					if r.Arc {
						pos = math.Atan2(across, ell)
						wt = 1 / (ell*ell + across*across)
					} else {
						pos = ds * across / ell
						u := ds / ell
						wt = u * u
					}
					m := r.Up * (pos/r.Spacing + r.Off)
					if !(m >= 0 && m <= r.Last) {
						continue
					}
					k := int(m)
					t := float32(m - float64(k))
					v := row[k] + t*(row[k+1]-row[k])
					acc[j] += float64(v) * wt
				}
			}
			for j, v := range acc {
				dst[i*n+j] = float32(v)
			}
		}
	})
}
