package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/internal/vec"
)

// elementwise holds the shape bookkeeping shared by the pointwise layers.
type elementwise struct{ s Shape }

func (e *elementwise) setup(in []Shape, name string) (Shape, []ParamSpec) {
	if len(in) != 1 {
		panic(fmt.Errorf("%w: %s takes one input", ErrShape, name))
	}
	e.s = in[0]
	return e.s, nil
}

func (e *elementwise) Bind([]int) {}

// planes calls f for every (channel, batch member) plane of a k-batch,
// with the tangent plane index and the matching primal plane index.
func (e *elementwise) planes(k int, f func(c, tp, xp int)) {
	hw := e.s.H * e.s.W
	par.ForGrain(e.s.C*k, max(1, 4096/max(hw, 1)), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			c := j / k
			f(c, j*hw, c*hw)
		}
	})
}

// LeakyReLU is x ↦ x for x > 0, Slope·x otherwise (derivative Slope at 0,
// as in PyTorch).
type LeakyReLU struct {
	Slope float32
	elementwise
}

func (l *LeakyReLU) Setup(in []Shape) (Shape, []ParamSpec) { return l.setup(in, "LeakyReLU") }

func (l *LeakyReLU) Forward(p, y []float32, x [][]float32) {
	hw := l.s.H * l.s.W
	l.planes(1, func(c, tp, xp int) {
		src := x[0][xp : xp+hw]
		vec.Leaky(y[xp:xp+hw], src, src, l.Slope, false)
	})
}

func (l *LeakyReLU) JVP(p, dy []float32, dx [][]float32, dp []float32, stride int, x [][]float32, y []float32, k int) {
	l.apply(dy, dx[0], x[0], k, false)
}

func (l *LeakyReLU) VJP(p []float32, dx [][]float32, dp []float32, stride int, dy []float32, x [][]float32, y []float32, k int) {
	if dx[0] != nil {
		l.apply(dx[0], dy, x[0], k, true)
	}
}

func (l *LeakyReLU) apply(dst, t, xs []float32, k int, acc bool) {
	hw := l.s.H * l.s.W
	if t == nil {
		zero(dst)
		return
	}
	l.planes(k, func(c, tp, xp int) {
		vec.Leaky(dst[tp:tp+hw], t[tp:tp+hw], xs[xp:xp+hw], l.Slope, acc)
	})
}

// Sigmoid is x ↦ Scale·σ(clamp(x, −Clamp, Clamp)); the clamp (15 in
// bayes_dip) keeps the output off exactly 0 and 1, and its derivative is
// zero outside [−Clamp, Clamp] as in PyTorch. Scale lets the output exceed
// 1 (DESIGN.md §4); Scale 0 means 1.
type Sigmoid struct {
	Clamp float32
	Scale float32
	elementwise
}

func (s *Sigmoid) Setup(in []Shape) (Shape, []ParamSpec) { return s.setup(in, "Sigmoid") }

func (s *Sigmoid) scale() float32 {
	if s.Scale == 0 {
		return 1
	}
	return s.Scale
}

func (s *Sigmoid) Forward(p, y []float32, x [][]float32) {
	sc := s.scale()
	for i, v := range x[0] {
		v = min(max(v, -s.Clamp), s.Clamp)
		y[i] = sc * float32(1/(1+math.Exp(-float64(v))))
	}
}

func (s *Sigmoid) deriv(v float32) float32 {
	if v < -s.Clamp || v > s.Clamp {
		return 0
	}
	sg := 1 / (1 + math.Exp(-float64(v)))
	return s.scale() * float32(sg*(1-sg))
}

func (s *Sigmoid) JVP(p, dy []float32, dx [][]float32, dp []float32, stride int, x [][]float32, y []float32, k int) {
	s.apply(dy, dx[0], x[0], k, false)
}

func (s *Sigmoid) VJP(p []float32, dx [][]float32, dp []float32, stride int, dy []float32, x [][]float32, y []float32, k int) {
	if dx[0] != nil {
		s.apply(dx[0], dy, x[0], k, true)
	}
}

func (s *Sigmoid) apply(dst, t, xs []float32, k int, acc bool) {
	hw := s.s.H * s.s.W
	if t == nil {
		zero(dst)
		return
	}
	s.planes(k, func(c, tp, xp int) {
		d, tv, xv := dst[tp:tp+hw], t[tp:tp+hw], xs[xp:xp+hw]
		for i, v := range tv {
			v *= s.deriv(xv[i])
			if acc {
				d[i] += v
			} else {
				d[i] = v
			}
		}
	})
}

// Dropout zeroes whole channels with probability P and scales the others
// by 1/(1−P) (PyTorch's Dropout2d), for MC-dropout baselines. With Rng nil
// or P = 0 it is the identity. The mask is drawn at each Forward and kept
// for the JVP and VJP that follow.
type Dropout struct {
	P   float64
	Rng *rand.Rand
	elementwise
	mask []float32
}

func (d *Dropout) Setup(in []Shape) (Shape, []ParamSpec) {
	sh, ps := d.setup(in, "Dropout")
	d.mask = make([]float32, sh.C)
	return sh, ps
}

func (d *Dropout) Forward(p, y []float32, x [][]float32) {
	hw := d.s.H * d.s.W
	for c := range d.mask {
		d.mask[c] = 1
		if d.Rng != nil && d.P > 0 {
			if d.Rng.Float64() < d.P {
				d.mask[c] = 0
			} else {
				d.mask[c] = float32(1 / (1 - d.P))
			}
		}
		m := d.mask[c]
		src, dst := x[0][c*hw:(c+1)*hw], y[c*hw:(c+1)*hw]
		for i, v := range src {
			dst[i] = m * v
		}
	}
}

func (d *Dropout) JVP(p, dy []float32, dx [][]float32, dp []float32, stride int, x [][]float32, y []float32, k int) {
	d.apply(dy, dx[0], k, false)
}

func (d *Dropout) VJP(p []float32, dx [][]float32, dp []float32, stride int, dy []float32, x [][]float32, y []float32, k int) {
	if dx[0] != nil {
		d.apply(dx[0], dy, k, true)
	}
}

func (d *Dropout) apply(dst, t []float32, k int, acc bool) {
	hw := d.s.H * d.s.W
	if t == nil {
		zero(dst)
		return
	}
	d.planes(k, func(c, tp, xp int) {
		m := d.mask[c]
		dd, tv := dst[tp:tp+hw], t[tp:tp+hw]
		for i, v := range tv {
			if acc {
				dd[i] += m * v
			} else {
				dd[i] = m * v
			}
		}
	})
}
