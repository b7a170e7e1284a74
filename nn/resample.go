package nn

import (
	"fmt"

	"github.com/ctrecon/ctrecon/internal/par"
)

// Upsample2x is bilinear ×2 upsampling with align_corners=True (PyTorch
// nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)): output
// pixel o samples the input at o·(H−1)/(2H−1). It is linear, so its JVP is
// itself and its VJP the transposed scatter.
type Upsample2x struct {
	in, out Shape
	ry, rx  []interp
}

type interp struct {
	i0, i1 int
	w      float32 // weight of i1
}

func interpTable(n, m int) []interp {
	t := make([]interp, m)
	var scale float32
	if m > 1 {
		scale = float32(n-1) / float32(m-1)
	}
	for o := range t {
		src := scale * float32(o)
		i0 := int(src)
		if i0 > n-1 {
			i0 = n - 1
		}
		i1 := i0 + 1
		if i1 > n-1 {
			i1 = n - 1
		}
		t[o] = interp{i0, i1, src - float32(i0)}
	}
	return t
}

func (u *Upsample2x) Setup(in []Shape) (Shape, []ParamSpec) {
	if len(in) != 1 {
		panic(fmt.Errorf("%w: Upsample2x takes one input", ErrShape))
	}
	u.in = in[0]
	u.out = Shape{C: u.in.C, H: 2 * u.in.H, W: 2 * u.in.W}
	u.ry = interpTable(u.in.H, u.out.H)
	u.rx = interpTable(u.in.W, u.out.W)
	return u.out, nil
}

func (u *Upsample2x) Bind([]int) {}

func (u *Upsample2x) Forward(p, y []float32, x [][]float32) { u.fwd(y, x[0], 1) }

func (u *Upsample2x) fwd(y, x []float32, k int) {
	hi, wi := u.in.H*u.in.W, u.out.H*u.out.W
	par.ForGrain(u.in.C*k, 4, func(lo, hj int) {
		for j := lo; j < hj; j++ {
			src, dst := x[j*hi:(j+1)*hi], y[j*wi:(j+1)*wi]
			for oy, ty := range u.ry {
				r0, r1 := src[ty.i0*u.in.W:], src[ty.i1*u.in.W:]
				d := dst[oy*u.out.W : (oy+1)*u.out.W]
				for ox, tx := range u.rx {
					a := r0[tx.i0] + tx.w*(r0[tx.i1]-r0[tx.i0])
					b := r1[tx.i0] + tx.w*(r1[tx.i1]-r1[tx.i0])
					d[ox] = a + ty.w*(b-a)
				}
			}
		}
	})
}

func (u *Upsample2x) JVP(p, dy []float32, dx [][]float32, dp []float32, stride int, x [][]float32, y []float32, k int) {
	if dx[0] == nil {
		zero(dy)
		return
	}
	u.fwd(dy, dx[0], k)
}

func (u *Upsample2x) VJP(p []float32, dx [][]float32, dp []float32, stride int, dy []float32, x [][]float32, y []float32, k int) {
	if dx[0] == nil {
		return
	}
	hi, wi := u.in.H*u.in.W, u.out.H*u.out.W
	par.ForGrain(u.in.C*k, 4, func(lo, hj int) {
		for j := lo; j < hj; j++ {
			dst, src := dx[0][j*hi:(j+1)*hi], dy[j*wi:(j+1)*wi]
			for oy, ty := range u.ry {
				r0, r1 := dst[ty.i0*u.in.W:], dst[ty.i1*u.in.W:]
				s := src[oy*u.out.W : (oy+1)*u.out.W]
				w1 := ty.w
				w0 := 1 - w1
				for ox, tx := range u.rx {
					g := s[ox]
					a, b := g*w0, g*w1
					r0[tx.i0] += a * (1 - tx.w)
					r0[tx.i1] += a * tx.w
					r1[tx.i0] += b * (1 - tx.w)
					r1[tx.i1] += b * tx.w
				}
			}
		}
	})
}

// Concat joins two inputs along channels, centre-cropping both to the
// smaller height and width (bayes_dip's Concat: offset (H−h)/2). With
// ZeroSecond the second input contributes only its size and a single
// all-zero channel takes its place (bayes_dip's up block with no skip
// channels).
type Concat struct {
	ZeroSecond bool

	in  [2]Shape
	out Shape
}

func (c *Concat) Setup(in []Shape) (Shape, []ParamSpec) {
	if len(in) != 2 {
		panic(fmt.Errorf("%w: Concat takes two inputs, got %d", ErrShape, len(in)))
	}
	c.in = [2]Shape{in[0], in[1]}
	c2 := in[1].C
	if c.ZeroSecond {
		c2 = 1
	}
	c.out = Shape{C: in[0].C + c2, H: min(in[0].H, in[1].H), W: min(in[0].W, in[1].W)}
	return c.out, nil
}

func (c *Concat) Bind([]int) {}

func (c *Concat) Forward(p, y []float32, x [][]float32) { c.fwd(y, x, 1) }

// fwd copies the crops of x into y (batch k); nil inputs are zeros.
func (c *Concat) fwd(y []float32, x [][]float32, k int) {
	h, w := c.out.H, c.out.W
	ch := 0
	for i := 0; i < 2; i++ {
		s := c.in[i]
		nc := s.C
		if i == 1 && c.ZeroSecond {
			zero(y[ch*k*h*w : (ch+1)*k*h*w])
			break
		}
		oy, ox := (s.H-h)/2, (s.W-w)/2
		for j := 0; j < nc*k; j++ {
			dst := y[(ch*k+j)*h*w:][:h*w]
			if x[i] == nil {
				zero(dst)
				continue
			}
			src := x[i][j*s.H*s.W:][:s.H*s.W]
			for r := 0; r < h; r++ {
				copy(dst[r*w:(r+1)*w], src[(r+oy)*s.W+ox:])
			}
		}
		ch += nc
	}
}

func (c *Concat) JVP(p, dy []float32, dx [][]float32, dp []float32, stride int, x [][]float32, y []float32, k int) {
	c.fwd(dy, dx, k)
}

func (c *Concat) VJP(p []float32, dx [][]float32, dp []float32, stride int, dy []float32, x [][]float32, y []float32, k int) {
	h, w := c.out.H, c.out.W
	ch := 0
	for i := 0; i < 2; i++ {
		if i == 1 && c.ZeroSecond {
			break
		}
		s := c.in[i]
		if dx[i] != nil {
			oy, ox := (s.H-h)/2, (s.W-w)/2
			for j := 0; j < s.C*k; j++ {
				src := dy[(ch*k+j)*h*w:][:h*w]
				dst := dx[i][j*s.H*s.W:][:s.H*s.W]
				for r := 0; r < h; r++ {
					d := dst[(r+oy)*s.W+ox:][:w]
					for q, v := range src[r*w : (r+1)*w] {
						d[q] += v
					}
				}
			}
		}
		ch += s.C
	}
}

// NeedsGrad reports whether input i receives a cotangent (the second input
// of a ZeroSecond concat does not).
func (c *Concat) NeedsGrad(i int) bool { return !(i == 1 && c.ZeroSecond) }
