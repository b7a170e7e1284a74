package nn

import (
	"fmt"

	"github.com/ctrecon/ctrecon/internal/blas"
	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/internal/vec"
)

// Conv2D is a 2-D convolution with bias, K×K kernel, the given stride and
// PyTorch's "same" padding K/2 (zeros), computed as im2col + GEMM.
// Its parameters are the weights [Out][Cin][K][K] (ConvWeight) and the bias
// [Out] (ConvBias). Output size: ⌊(H + 2·(K/2) − K)/Stride⌋ + 1.
type Conv2D struct {
	Out, K, Stride int

	in, out    Shape
	wOff, bOff int

	// 3×3 stride-1 fast path: W packed for conv3s1 at the last Forward,
	// and the packed flipped (transposed-conv) filters, built at the first
	// VJP after it.
	wpk, wflip []float32
	flipOK     bool
}

// R is the number of rows of the column matrix, Cin·K².
func (c *Conv2D) r() int { return c.in.C * c.K * c.K }

// fast3 reports whether the 3×3 stride-1 fast path applies (conv3.go).
func (c *Conv2D) fast3() bool { return c.K == 3 && c.Stride == 1 && !disableFast3 }

// disableFast3 switches the fast path off (tests compare both paths).
var disableFast3 bool

// direct reports whether the column matrix is the input itself (1×1, stride 1).
func (c *Conv2D) direct() bool { return c.K == 1 && c.Stride == 1 }

func (c *Conv2D) Setup(in []Shape) (Shape, []ParamSpec) {
	if len(in) != 1 {
		panic(fmt.Errorf("%w: Conv2D takes one input, got %d", ErrShape, len(in)))
	}
	if c.K < 1 || c.K%2 == 0 || c.Stride < 1 || c.Out < 1 {
		panic(fmt.Sprintf("nn: Conv2D needs odd K ≥ 1, Stride ≥ 1, Out ≥ 1 (got %+v)", *c))
	}
	c.in = in[0]
	p := c.K / 2
	c.out = Shape{C: c.Out, H: (c.in.H+2*p-c.K)/c.Stride + 1, W: (c.in.W+2*p-c.K)/c.Stride + 1}
	fan := c.r()
	return c.out, []ParamSpec{
		{Kind: ConvWeight, Len: c.Out * fan, FanIn: fan, Kernel: c.K},
		{Kind: ConvBias, Len: c.Out, FanIn: fan},
	}
}

func (c *Conv2D) Bind(off []int) { c.wOff, c.bOff = off[0], off[1] }

// WeightOffset is the offset of the weights in the flat parameter vector.
func (c *Conv2D) WeightOffset() int { return c.wOff }

// BiasOffset is the offset of the bias in the flat parameter vector.
func (c *Conv2D) BiasOffset() int { return c.bOff }

func (c *Conv2D) Forward(p, y []float32, x [][]float32) {
	checkLen("Conv2D input", len(x[0]), c.in.Size())
	checkLen("Conv2D output", len(y), c.out.Size())
	if c.fast3() {
		if c.wpk == nil {
			c.wpk = make([]float32, c.Out*c.r())
		}
		packW3(c.wpk, p[c.wOff:c.wOff+c.Out*c.r()], c.Out, c.in.C)
		c.flipOK = false
	}
	c.mul(p[c.wOff:c.wOff+c.Out*c.r()], y, x[0], 1, false)
	c.addBias(y, p[c.bOff:c.bOff+c.Out], 1)
}

func (c *Conv2D) addBias(y, bias []float32, k int) {
	n := k * c.out.H * c.out.W
	par.ForGrain(len(bias), max(1, 4096/n), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			vec.AddConst(y[o*n:(o+1)*n], bias[o])
		}
	})
}

// mul computes y = W·col(x) for a batch of k inputs (accumulate: y += …).
func (c *Conv2D) mul(w, y, x []float32, k int, accumulate bool) {
	R := c.r()
	P := k * c.out.H * c.out.W
	beta := float32(0)
	if accumulate {
		beta = 1
	}
	if c.fast3() {
		// w is the layer's own weights (Forward, JVP): packed at Forward.
		conv3s1Packed(c.wpk, y, x, c.in.C, c.Out, c.in.H, c.in.W, k, k, accumulate)
		return
	}
	c.gemmCols(c.Out, w, y, x, k, P, R, beta)
}

// gemmCols computes y = w·col(x) + beta·y for the P output columns of the kx
// images in x, w having M rows of R: a 1×1 stride-1 conv multiplies x
// directly, any other im2cols one tile of columns at a time so the column
// buffer stays in cache. The columns are split over the workers.
func (c *Conv2D) gemmCols(M int, w, y, x []float32, kx, P, R int, beta float32) {
	if c.direct() {
		par.ForGrain(P, grainCols, func(lo, hi int) {
			blas.Sgemm(false, false, M, hi-lo, R, 1, w, R, x[lo:], P, beta, y[lo:], P)
		})
		return
	}
	T := tileCols(R)
	par.ForGrain(P, grainCols, func(lo, hi int) {
		buf := getBuf(R * min(T, hi-lo))
		defer putBuf(buf)
		for t0 := lo; t0 < hi; t0 += T {
			t1 := min(t0+T, hi)
			col := (*buf)[:R*(t1-t0)]
			c.im2col(col, x, kx, t0, t1)
			blas.Sgemm(false, false, M, t1-t0, R, 1, w, R, col, t1-t0, beta, y[t0:], P)
		}
	})
}

// im2col writes columns [lo, hi) of the column matrix of x (batch k) into
// dst, rows r = (c·K + ky)·K + kx, row stride hi−lo.
func (c *Conv2D) im2col(dst, x []float32, k, lo, hi int) {
	ld := hi - lo
	K, s, pad := c.K, c.Stride, c.K/2
	H, W := c.in.H, c.in.W
	Ho, Wo := c.out.H, c.out.W
	plane := Ho * Wo
	for ci := 0; ci < c.in.C; ci++ {
		for ky := 0; ky < K; ky++ {
			for kx := 0; kx < K; kx++ {
				row := dst[((ci*K+ky)*K+kx)*ld:][:ld]
				// valid ox: 0 ≤ ox·s − pad + kx < W
				oxLo := max(0, ceilDiv(pad-kx, s))
				oxHi := min(Wo, ceilDiv(W+pad-kx, s)) // exclusive
				j := lo
				for j < hi {
					b := j / plane
					rem := j - b*plane
					oy := rem / Wo
					ox0 := rem - oy*Wo
					n := min(Wo-ox0, hi-j)
					seg := row[j-lo : j-lo+n]
					iy := oy*s - pad + ky
					if iy < 0 || iy >= H {
						zero(seg)
					} else {
						src := x[((ci*k+b)*H+iy)*W:][:W]
						a, e := max(oxLo, ox0), min(oxHi, ox0+n)
						if a >= e {
							zero(seg)
						} else {
							zero(seg[:a-ox0])
							zero(seg[e-ox0:])
							ix := a*s - pad + kx
							if s == 1 {
								copy(seg[a-ox0:e-ox0], src[ix:ix+e-a])
							} else {
								d := seg[a-ox0 : e-ox0]
								for i := range d {
									d[i] = src[ix]
									ix += s
								}
							}
						}
					}
					j += n
				}
			}
		}
	}
}

// col2im adds the column-matrix rows of channels [c0, c1) (src, rows
// relative to c0, columns [lo, hi), row stride hi−lo) back into dx.
func (c *Conv2D) col2im(dx, src []float32, k, c0, c1, lo, hi int) {
	ld := hi - lo
	K, s, pad := c.K, c.Stride, c.K/2
	H, W := c.in.H, c.in.W
	Ho, Wo := c.out.H, c.out.W
	plane := Ho * Wo
	for ci := c0; ci < c1; ci++ {
		for ky := 0; ky < K; ky++ {
			for kx := 0; kx < K; kx++ {
				row := src[(((ci-c0)*K+ky)*K+kx)*ld:][:ld]
				oxLo := max(0, ceilDiv(pad-kx, s))
				oxHi := min(Wo, ceilDiv(W+pad-kx, s))
				j := lo
				for j < hi {
					b := j / plane
					rem := j - b*plane
					oy := rem / Wo
					ox0 := rem - oy*Wo
					n := min(Wo-ox0, hi-j)
					iy := oy*s - pad + ky
					if iy >= 0 && iy < H {
						a, e := max(oxLo, ox0), min(oxHi, ox0+n)
						if a < e {
							seg := row[a-lo-ox0+j : e-lo-ox0+j]
							d := dx[((ci*k+b)*H+iy)*W:][:W]
							ix := a*s - pad + kx
							if s == 1 {
								d = d[ix : ix+len(seg)]
								for i, v := range seg {
									d[i] += v
								}
							} else {
								for _, v := range seg {
									d[ix] += v
									ix += s
								}
							}
						}
					}
					j += n
				}
			}
		}
	}
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return -((-a) / b)
	}
	return (a + b - 1) / b
}

func (c *Conv2D) JVP(p, dy []float32, dx [][]float32, dp []float32, stride int, x [][]float32, y []float32, k int) {
	R := c.r()
	P1 := c.out.H * c.out.W
	checkLen("Conv2D output tangent", len(dy), k*c.out.Size())
	w := p[c.wOff : c.wOff+c.Out*R]
	if dx[0] != nil {
		checkLen("Conv2D input tangent", len(dx[0]), k*c.in.Size())
		c.mul(w, dy, dx[0], k, false)
	} else {
		zero(dy)
	}
	if dp == nil {
		return
	}
	if c.bOff < stride {
		for b := 0; b < k; b++ {
			db := dp[b*stride+c.bOff:][:c.Out]
			for o, v := range db {
				row := dy[(o*k+b)*P1:][:P1]
				for i := range row {
					row[i] += v
				}
			}
		}
	}
	if c.wOff >= stride {
		return
	}
	checkStride(c.wOff, c.Out*R, stride)
	// Weight tangents rearranged to rows (o, b): one GEMM for the batch whose
	// output rows (o·k + b) are exactly dy's [o][b] layout.
	wt := getBuf(c.Out * k * R)
	defer putBuf(wt)
	for b := 0; b < k; b++ {
		src := dp[b*stride+c.wOff:][:c.Out*R]
		for o := 0; o < c.Out; o++ {
			copy((*wt)[(o*k+b)*R:][:R], src[o*R:(o+1)*R])
		}
	}
	M := c.Out * k
	x0 := x[0]
	if c.fast3() {
		conv3s1(*wt, dy, x0, c.in.C, M, c.in.H, c.in.W, 1, 1, true)
		return
	}
	c.gemmCols(M, *wt, dy, x0, 1, P1, R, 1)
}

func checkStride(off, n, stride int) {
	if off+n > stride {
		panic(fmt.Sprintf("nn: parameter block [%d,%d) straddles the tangent stride %d", off, off+n, stride))
	}
}

func (c *Conv2D) VJP(p []float32, dx [][]float32, dp []float32, stride int, dy []float32, x [][]float32, y []float32, k int) {
	R := c.r()
	KK := c.K * c.K
	P1 := c.out.H * c.out.W
	P := k * P1
	checkLen("Conv2D output cotangent", len(dy), k*c.out.Size())
	w := p[c.wOff : c.wOff+c.Out*R]
	if dx[0] != nil {
		checkLen("Conv2D input cotangent", len(dx[0]), k*c.in.Size())
		d := dx[0]
		if c.fast3() {
			if !c.flipOK {
				wf := getBuf(len(w))
				flipW3(*wf, w, c.Out, c.in.C)
				if c.wflip == nil {
					c.wflip = make([]float32, len(w))
				}
				packW3(c.wflip, *wf, c.in.C, c.Out)
				putBuf(wf)
				c.flipOK = true
			}
			conv3s1Packed(c.wflip, d, dy, c.Out, c.in.C, c.in.H, c.in.W, k, k, true)
		} else if c.direct() {
			// dx += Wᵀ g, split over input channels.
			par.ForGrain(c.in.C, 1, func(c0, c1 int) {
				blas.Sgemm(true, false, c1-c0, P, c.Out, 1, w[c0:], R, dy, P, 1, d[c0*P:], P)
			})
		} else {
			// dcol = Wᵀ g, scattered back by col2im; workers own disjoint
			// input channels so the scatter needs no locks.
			T := tileCols(R)
			par.ForGrain(c.in.C, 1, func(c0, c1 int) {
				rows := (c1 - c0) * KK
				buf := getBuf(rows * min(T, P))
				defer putBuf(buf)
				for t0 := 0; t0 < P; t0 += T {
					t1 := min(t0+T, P)
					dcol := (*buf)[:rows*(t1-t0)]
					blas.Sgemm(true, false, rows, t1-t0, c.Out, 1, w[c0*KK:], R, dy[t0:], P, 0, dcol, t1-t0)
					c.col2im(d, dcol, k, c0, c1, t0, t1)
				}
			})
		}
	}
	if dp == nil {
		return
	}
	if c.bOff < stride {
		// one plane sum per (output channel, batch member)
		par.ForGrain(c.Out*k, max(1, 4096/P1), func(lo, hi int) {
			for j := lo; j < hi; j++ {
				o, b := j/k, j%k
				dp[b*stride+c.bOff+o] = float32(vec.Sum(dy[j*P1:][:P1]))
			}
		})
	}
	if c.wOff >= stride {
		return
	}
	checkStride(c.wOff, c.Out*R, stride)
	if c.fast3() {
		conv3s1dW(dp, stride, c.wOff, dy, x[0], c.in.C, c.Out, c.in.H, c.in.W, k)
		return
	}
	// dW rows (o, b) = G (rows (o,b), P1 columns) · col(x)ᵀ, reduced over
	// column chunks, one private partial per worker.
	M := c.Out * k
	nw := min(par.Threads(), max(1, P1/grainCols))
	parts := make([]*[]float32, nw)
	x0 := x[0]
	T := tileCols(R)
	par.For(nw, func(w0, w1 int) {
		for wi := w0; wi < w1; wi++ {
			lo, hi := wi*P1/nw, (wi+1)*P1/nw
			part := getBuf(M * R)
			zero(*part)
			parts[wi] = part
			if c.direct() {
				blas.Sgemm(false, true, M, R, hi-lo, 1, dy[lo:], P1, x0[lo:], P1, 0, *part, R)
				continue
			}
			buf := getBuf(R * min(T, hi-lo))
			for t0 := lo; t0 < hi; t0 += T {
				t1 := min(t0+T, hi)
				col := (*buf)[:R*(t1-t0)]
				c.im2col(col, x0, 1, t0, t1)
				blas.Sgemm(false, true, M, R, t1-t0, 1, dy[t0:], P1, col, t1-t0, 1, *part, R)
			}
			putBuf(buf)
		}
	})
	for b := 0; b < k; b++ {
		dst := dp[b*stride+c.wOff:][:c.Out*R]
		for o := 0; o < c.Out; o++ {
			d := dst[o*R : (o+1)*R]
			copy(d, (*parts[0])[(o*k+b)*R:][:R])
			for _, part := range parts[1:] {
				src := (*part)[(o*k+b)*R:][:R]
				for i, v := range src {
					d[i] += v
				}
			}
		}
	}
	for _, part := range parts {
		putBuf(part)
	}
}
