package design

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/ctrecon/ctrecon/radon"
)

// Interval is a closed range of angles in radians, Lo ≤ Hi.
type Interval struct{ Lo, Hi float64 }

func (r Interval) contains(a float64) bool { return a >= r.Lo-angleTol && a <= r.Hi+angleTol }

// angleTol is how close (radians) a candidate must be to a measured angle
// to count as measured: 1e-6 rad, far below any candidate spacing (200
// candidates over 180° are 0.016 rad apart) and far above the rounding of
// angles stored in degrees as float64.
const angleTol = 1e-6

// Candidates are the angles a plan may choose from: C angles equally
// spaced in [Lo, Hi) with a free mask (false for measured or excluded ones).
type Candidates struct {
	Angles []float64 // radians
	Free   []bool
}

// ViewPeriod is the angle after which a view repeats its rays: π in
// parallel beam (the view at θ + π is the view at θ reversed), 2π in fan
// beam (the source has moved to the other side).
func ViewPeriod(beam radon.Beam) float64 {
	if beam == radon.Fan {
		return 2 * math.Pi
	}
	return math.Pi
}

// NewCandidates returns c angles equally spaced in [r.Lo, r.Hi), marking
// as taken those within angleTol of a measured angle, compared modulo
// period (ViewPeriod of the scan's beam), and those inside an excluded
// interval. It refuses c < 1, an empty range and a period ≤ 0, not a plan
// with no free candidate (the caller says that).
func NewCandidates(c int, r Interval, period float64, measured []float64, exclude []Interval) (*Candidates, error) {
	if !(period > 0) {
		return nil, fmt.Errorf("design: view period %g rad; want > 0", period)
	}
	if c < 1 {
		return nil, fmt.Errorf("design: %d candidates; want at least 1", c)
	}
	if !(r.Hi > r.Lo) || math.IsInf(r.Lo, 0) || math.IsInf(r.Hi, 0) {
		return nil, fmt.Errorf("design: candidate range [%g, %g) rad is empty", r.Lo, r.Hi)
	}
	cd := &Candidates{Angles: make([]float64, c), Free: make([]bool, c)}
	step := (r.Hi - r.Lo) / float64(c)
	for i := range cd.Angles {
		a := r.Lo + float64(i)*step
		cd.Angles[i] = a
		cd.Free[i] = true
		for _, m := range measured {
			if d := math.Remainder(a-m, period); math.Abs(d) < angleTol {
				cd.Free[i] = false
			}
		}
		for _, e := range exclude {
			if e.contains(a) {
				cd.Free[i] = false
			}
		}
	}
	return cd, nil
}

// CandidatesAt makes every given angle (radians) a free candidate: the
// angles of a full scan that a simulated acquisition draws from.
func CandidatesAt(angles []float64) *Candidates {
	c := &Candidates{Angles: angles, Free: make([]bool, len(angles))}
	for i := range c.Free {
		c.Free[i] = true
	}
	return c
}

// NumFree is the number of free candidates.
func (c *Candidates) NumFree() int {
	k := 0
	for _, f := range c.Free {
		if f {
			k++
		}
	}
	return k
}

// nearestFree returns the free candidate nearest to angle a (modulo π),
// or −1 when none is free.
func (c *Candidates) nearestFree(a float64, taken []bool) int {
	best, bestD := -1, math.Inf(1)
	for i, t := range c.Angles {
		if !c.Free[i] || taken[i] {
			continue
		}
		if d := math.Abs(math.Remainder(t-a, math.Pi)); d < bestD-1e-12 {
			best, bestD = i, d
		}
	}
	return best
}

// Equal returns k candidates that are nearest to k equally spaced angles
// start + iπ/k (i = 0…k−1), each distinct, in increasing angle. It refuses k
// above the number of free candidates.
func (c *Candidates) Equal(k int, start float64) ([]int, error) {
	if err := c.checkK(k); err != nil {
		return nil, err
	}
	taken := make([]bool, len(c.Angles))
	out := make([]int, 0, k)
	for i := 0; i < k; i++ {
		j := c.nearestFree(start+float64(i)*math.Pi/float64(k), taken)
		taken[j] = true
		out = append(out, j)
	}
	sort.Ints(out)
	return out, nil
}

// Random returns k distinct free candidates drawn uniformly by rng, in the
// order drawn.
func (c *Candidates) Random(k int, rng *rand.Rand) ([]int, error) {
	if err := c.checkK(k); err != nil {
		return nil, err
	}
	var free []int
	for i, f := range c.Free {
		if f {
			free = append(free, i)
		}
	}
	rng.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	return free[:k], nil
}

// GoldenAngle is the golden-angle step for parallel beam, π/φ
// (φ = (1+√5)/2): about 111.246°. Successive angles jθ_g mod π fill
// [0, π) as evenly as any sequence can at every length.
var GoldenAngle = math.Pi * 2 / (1 + math.Sqrt(5))

// Golden returns the free candidates nearest to the golden-angle sequence
// start + jθ_g mod π for j = first, first+1, …, skipping a point whose
// nearest free candidate is already taken, until k are chosen; in order.
func (c *Candidates) Golden(k, first int, start float64) ([]int, error) {
	if err := c.checkK(k); err != nil {
		return nil, err
	}
	taken := make([]bool, len(c.Angles))
	out := make([]int, 0, k)
	for j := first; len(out) < k; j++ {
		a := math.Mod(start+float64(j)*GoldenAngle, math.Pi)
		i := c.nearestFree(a, taken)
		// Far more points than candidates means every free one is close
		// to some point: then take the nearest untaken.
		if i >= 0 && (math.Abs(math.Remainder(c.Angles[i]-a, math.Pi)) <= c.spacing() || j-first > 16*len(c.Angles)) {
			taken[i] = true
			out = append(out, i)
		}
	}
	return out, nil
}

func (c *Candidates) spacing() float64 {
	if len(c.Angles) < 2 {
		return math.Pi
	}
	return c.Angles[1] - c.Angles[0]
}

func (c *Candidates) checkK(k int) error {
	if k < 1 {
		return fmt.Errorf("design: %d angles asked for; want at least 1", k)
	}
	if f := c.NumFree(); k > f {
		return fmt.Errorf("design: %d angles asked for but only %d candidates are free", k, f)
	}
	return nil
}

// Without returns a copy of c with the given candidates marked taken.
func (c *Candidates) Without(idx []int) *Candidates {
	d := &Candidates{Angles: c.Angles, Free: append([]bool(nil), c.Free...)}
	for _, i := range idx {
		d.Free[i] = false
	}
	return d
}
