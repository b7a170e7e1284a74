package nn

import (
	"flag"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ctrecon/ctrecon/internal/par"
)

var seed = flag.Uint64("seed", 1, "seed for the randomised tests")

func newRng(t testing.TB) *rand.Rand {
	t.Helper()
	t.Logf("seed %d", *seed)
	return rand.New(rand.NewPCG(*seed, 77))
}

func randVec(n int, rng *rand.Rand, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(scale * rng.NormFloat64())
	}
	return v
}

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func norm64(a []float32) float64 { return math.Sqrt(dot64(a, a)) }

func relDiff(a, b []float32) float64 {
	var d, n float64
	for i := range a {
		e := float64(a[i]) - float64(b[i])
		d += e * e
		n += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(d / math.Max(n, 1e-300))
}

// checkNet runs the three checks every layer and network must pass, w.r.t.
// the input and all parameters:
//   - JVP against central finite differences (float32, step h; fdTol),
//   - ⟨u, J v⟩ = ⟨Jᵀu, v⟩,
//   - batched (k = 3) JVP and VJP equal to three single ones.
func checkNet(t *testing.T, n *Net, p, x []float32, rng *rand.Rand, h, fdTol float64) {
	t.Helper()
	P, in, out := n.NumParams(), n.InShape().Size(), n.OutShape().Size()
	const k = 3
	dp := randVec(k*P, rng, 1)
	dx := randVec(k*in, rng, 1)
	u := randVec(k*out, rng, 1)

	// Finite differences of the first tangent.
	dx0 := batchMember(dx, n.InShape(), k, 0)
	f := func(s float64) []float32 {
		pp, xx := make([]float32, P), make([]float32, in)
		for i := range pp {
			pp[i] = p[i] + float32(s*float64(dp[i]))
		}
		for i := range xx {
			xx[i] = x[i] + float32(s*float64(dx0[i]))
		}
		y := make([]float32, out)
		n.Forward(y, pp, xx)
		return y
	}
	yp, ym := f(h), f(-h)
	fd := make([]float32, out)
	for i := range fd {
		fd[i] = float32((float64(yp[i]) - float64(ym[i])) / (2 * h))
	}
	n.Forward(nil, p, x)
	// Batch: tangent b of the input is every k-th plane (layout [C][k][H][W]).
	jv := make([]float32, k*out)
	n.JVP(jv, dp, P, dx, k)
	jv0 := batchMember(jv, n.OutShape(), k, 0)
	// !(e <= tol) so that a NaN fails.
	if e := relDiff(jv0, fd); !(e <= fdTol) {
		t.Errorf("JVP vs central differences: relative error %.3g > %.3g", e, fdTol)
	}

	// Adjoint identity over the whole batch. The parameter gradient starts
	// as NaN: VJP must write every entry (layers overwrite their own
	// parameters, the Net zeroes those no cotangent reaches).
	gp := nanVec(k * P)
	gx := make([]float32, k*in)
	n.VJP(gp, P, gx, u, k)
	lhs := dot64(u, jv)
	rhs := dot64(gp, dp) + dot64(gx, dx)
	scale := norm64(u)*norm64(jv) + norm64(gp)*norm64(dp) + norm64(gx)*norm64(dx)
	// float32 products and sums over ≤ 1e5 terms: relative rounding ~1e-6.
	if e := math.Abs(lhs-rhs) / scale; !(e <= 1e-5) {
		t.Errorf("adjoint: <u,Jv>=%.8g <Jᵀu,v>=%.8g, relative error %.3g", lhs, rhs, e)
	}

	// Batched equals unbatched.
	for b := 0; b < k; b++ {
		dxb := batchMember(dx, n.InShape(), k, b)
		one := make([]float32, out)
		n.JVP(one, dp[b*P:(b+1)*P], P, dxb, 1)
		// Different GEMM widths may block sums differently: float32 rounding.
		if e := relDiff(batchMember(jv, n.OutShape(), k, b), one); !(e <= 1e-5) {
			t.Errorf("JVP batch member %d differs from single JVP by %.3g", b, e)
		}
		gp1 := nanVec(P)
		gx1 := make([]float32, in)
		n.VJP(gp1, P, gx1, batchMember(u, n.OutShape(), k, b), 1)
		if e := relDiff(gp[b*P:(b+1)*P], gp1); !(e <= 1e-5) {
			t.Errorf("VJP param gradient, batch member %d differs by %.3g", b, e)
		}
		if e := relDiff(batchMember(gx, n.InShape(), k, b), gx1); !(e <= 1e-5) {
			t.Errorf("VJP input gradient, batch member %d differs by %.3g", b, e)
		}
	}
}

func nanVec(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.NaN())
	}
	return v
}

// batchMember extracts member b of a [C][k][H][W] batch.
func batchMember(v []float32, s Shape, k, b int) []float32 {
	hw := s.H * s.W
	out := make([]float32, s.Size())
	for c := 0; c < s.C; c++ {
		copy(out[c*hw:(c+1)*hw], v[(c*k+b)*hw:(c*k+b+1)*hw])
	}
	return out
}

func initNet(n *Net, rng *rand.Rand) ([]float32, []float32) {
	p := make([]float32, n.NumParams())
	n.Init(p, rng)
	// Perturb norm parameters too, so γ ≠ 1, β ≠ 0 are exercised.
	for _, pi := range n.Params() {
		if pi.Kind == NormWeight || pi.Kind == NormBias {
			for i := pi.Offset; i < pi.Offset+pi.Len; i++ {
				p[i] += float32(0.3 * rng.NormFloat64())
			}
		}
	}
	return p, randVec(n.InShape().Size(), rng, 1)
}

// Linear layers: central differences are exact up to rounding, so the
// tolerance is float32 rounding amplified by 1/h: 1e-7/1e-2 ≈ 1e-5, ×10.
const linTol = 1e-4

func TestConv(t *testing.T) {
	rng := newRng(t)
	defTile, defCols := tileFloats, minGemmCols
	defer func() { tileFloats, minGemmCols, disableFast3 = defTile, defCols, false }()
	// Every path: threads 1 and 2, the 3×3 fast path on and off, and tiny
	// tiles so that images span many tiles.
	for _, cfg := range []struct {
		thr, tile int
		slow      bool
	}{{1, defTile, false}, {2, defTile, false}, {2, 200, false}, {1, 200, true}, {2, defTile, true}} {
		par.SetThreads(cfg.thr)
		tileFloats, disableFast3 = cfg.tile, cfg.slow
		minGemmCols = defCols
		if cfg.tile != defTile {
			minGemmCols = 1
		}
		for _, tc := range []struct {
			in     Shape
			out, K int
			stride int
		}{
			{Shape{3, 9, 9}, 4, 3, 1}, {Shape{3, 9, 8}, 4, 3, 2}, {Shape{2, 10, 10}, 5, 3, 2},
			{Shape{5, 7, 6}, 3, 1, 1}, {Shape{4, 7, 7}, 2, 1, 2}, {Shape{1, 40, 40}, 6, 3, 1},
		} {
			b := NewBuilder(tc.in)
			c := &Conv2D{Out: tc.out, K: tc.K, Stride: tc.stride}
			o := b.Add("conv", c, b.Input())
			n := b.Build(o)
			p, x := initNet(n, rng)
			// Forward against a direct convolution.
			y := make([]float32, n.OutShape().Size())
			n.Forward(y, p, x)
			want := naiveConv(x, tc.in, p[c.WeightOffset():], p[c.BiasOffset():], tc.out, tc.K, tc.stride)
			if e := relDiff(y, want); e > 1e-6 {
				t.Errorf("%+v: forward differs from direct convolution by %.3g", tc, e)
			}
			checkNet(t, n, p, x, rng, 1e-2, linTol)
		}
	}
	par.SetThreads(0)
}

func naiveConv(x []float32, in Shape, w, bias []float32, out, K, s int) []float32 {
	pad := K / 2
	Ho, Wo := (in.H+2*pad-K)/s+1, (in.W+2*pad-K)/s+1
	y := make([]float32, out*Ho*Wo)
	for o := 0; o < out; o++ {
		for oy := 0; oy < Ho; oy++ {
			for ox := 0; ox < Wo; ox++ {
				acc := float64(bias[o])
				for c := 0; c < in.C; c++ {
					for ky := 0; ky < K; ky++ {
						for kx := 0; kx < K; kx++ {
							iy, ix := oy*s-pad+ky, ox*s-pad+kx
							if iy < 0 || iy >= in.H || ix < 0 || ix >= in.W {
								continue
							}
							acc += float64(w[((o*in.C+c)*K+ky)*K+kx]) * float64(x[(c*in.H+iy)*in.W+ix])
						}
					}
				}
				y[(o*Ho+oy)*Wo+ox] = float32(acc)
			}
		}
	}
	return y
}

func TestGroupNorm(t *testing.T) {
	rng := newRng(t)
	b := NewBuilder(Shape{6, 5, 7})
	o := b.Add("gn", &GroupNorm{Groups: 2}, b.Input())
	n := b.Build(o)
	p, x := initNet(n, rng)
	// With γ = 1, β = 0 every group has mean 0 and variance v/(v+ε).
	q := make([]float32, len(p))
	n.Init(q, rng)
	y := make([]float32, n.OutShape().Size())
	n.Forward(y, q, x)
	g := len(y) / 2
	for gr := 0; gr < 2; gr++ {
		var m, v float64
		for _, e := range y[gr*g : (gr+1)*g] {
			m += float64(e)
		}
		m /= float64(g)
		for _, e := range y[gr*g : (gr+1)*g] {
			v += (float64(e) - m) * (float64(e) - m)
		}
		v /= float64(g)
		// inputs have variance ≈ 1, so v ≈ 1/(1+1e-5); float32 output rounding 1e-6.
		if math.Abs(m) > 1e-6 || math.Abs(v-1) > 1e-4 {
			t.Errorf("group %d: mean %g variance %g, want 0 and 1", gr, m, v)
		}
	}
	// Smooth: truncation error h²·f''' with h = 1e-2 is ~1e-4, plus rounding 1e-5.
	checkNet(t, n, p, x, rng, 1e-2, 1e-3)
}

func TestLeakyReLU(t *testing.T) {
	rng := newRng(t)
	b := NewBuilder(Shape{3, 6, 6})
	o := b.Add("act", &LeakyReLU{Slope: 0.2}, b.Input())
	n := b.Build(o)
	p, x := initNet(n, rng)
	for i, v := range x {
		// keep the inputs ≥ 0.05 from the kink so that x ± h·v never crosses it
		if math.Abs(float64(v)) < 0.05 {
			x[i] = 0.05 + v
		}
	}
	y := make([]float32, len(x))
	n.Forward(y, p, x)
	for i, v := range x {
		want := v
		if v <= 0 {
			want = 0.2 * v
		}
		if y[i] != want {
			t.Fatalf("LeakyReLU(%g) = %g, want %g", v, y[i], want)
		}
	}
	checkNet(t, n, p, x, rng, 1e-3, 1e-3)
}

func TestSigmoid(t *testing.T) {
	rng := newRng(t)
	b := NewBuilder(Shape{2, 5, 5})
	s := &Sigmoid{Clamp: 15, Scale: 1.7}
	o := b.Add("sig", s, b.Input())
	n := b.Build(o)
	p, x := initNet(n, rng)
	x[0], x[1] = 20, -40 // clamped: zero derivative, output 1.7·σ(±15)
	y := make([]float32, len(x))
	n.Forward(y, p, x)
	if want := 1.7 / (1 + math.Exp(-15)); math.Abs(float64(y[0])-want) > 2e-7 { // float32 rounding
		t.Errorf("clamped output %g, want %g", y[0], want)
	}
	// smooth (away from the clamp): truncation h² ≈ 1e-4.
	checkNet(t, n, p, x, rng, 1e-2, 1e-3)
}

func TestUpsample(t *testing.T) {
	rng := newRng(t)
	in := Shape{2, 4, 5}
	b := NewBuilder(in)
	o := b.Add("up", &Upsample2x{}, b.Input())
	n := b.Build(o)
	p, _ := initNet(n, rng)
	// align_corners=True maps a linear ramp to the linear ramp through the
	// same end points: out(oy, ox) = a + b·oy·(H−1)/(2H−1) + c·ox·(W−1)/(2W−1).
	x := make([]float32, in.Size())
	for c := 0; c < 2; c++ {
		for i := 0; i < in.H; i++ {
			for j := 0; j < in.W; j++ {
				x[(c*in.H+i)*in.W+j] = float32(c) + 0.5*float32(i) - 0.25*float32(j)
			}
		}
	}
	y := make([]float32, n.OutShape().Size())
	n.Forward(y, p, x)
	H, W := 2*in.H, 2*in.W
	for c := 0; c < 2; c++ {
		for i := 0; i < H; i++ {
			for j := 0; j < W; j++ {
				want := float64(c) + 0.5*float64(i)*3/7 - 0.25*float64(j)*4/9
				if got := y[(c*H+i)*W+j]; math.Abs(float64(got)-want) > 1e-5 {
					t.Fatalf("up(%d,%d,%d) = %g, want %g", c, i, j, got, want)
				}
			}
		}
	}
	checkNet(t, n, p, randVec(in.Size(), rng, 1), rng, 1e-2, linTol)
}

func TestConcatCrop(t *testing.T) {
	rng := newRng(t)
	for _, zero2 := range []bool{false, true} {
		in := Shape{2, 7, 7}
		b := NewBuilder(in)
		a := b.Add("up", &Upsample2x{}, b.Input())              // 2×14×14
		s := b.Add("skip", &Conv2D{Out: 3, K: 3, Stride: 1}, 0) // 3×7×7
		c := b.Add("cat", &Concat{ZeroSecond: zero2}, a, s)
		n := b.Build(c)
		wantC := 5
		if zero2 {
			wantC = 3
		}
		if got := n.OutShape(); got != (Shape{wantC, 7, 7}) {
			t.Fatalf("concat shape %+v", got)
		}
		p, x := initNet(n, rng)
		y := make([]float32, n.OutShape().Size())
		n.Forward(y, p, x)
		up := n.acts[a]
		// centre crop of the 14×14 upsampled image starts at (14−7)/2 = 3.
		for i := 0; i < 7; i++ {
			for j := 0; j < 7; j++ {
				if y[i*7+j] != up[(i+3)*14+j+3] {
					t.Fatalf("crop mismatch at (%d,%d)", i, j)
				}
			}
		}
		if zero2 {
			for _, v := range y[2*49:] {
				if v != 0 {
					t.Fatal("zero channel is not zero")
				}
			}
		}
		checkNet(t, n, p, x, rng, 1e-2, linTol)
	}
}

func TestDropout(t *testing.T) {
	rng := newRng(t)
	b := NewBuilder(Shape{400, 2, 2})
	d := &Dropout{P: 0.25, Rng: rand.New(rand.NewPCG(5, 5))}
	o := b.Add("drop", d, b.Input())
	n := b.Build(o)
	p, x := initNet(n, rng)
	y := make([]float32, len(x))
	n.Forward(y, p, x)
	dropped := 0
	for c := 0; c < 400; c++ {
		switch y[c*4] {
		case 0:
			dropped++
		default:
			if math.Abs(float64(y[c*4])-float64(x[c*4])/0.75) < 1e-6*math.Abs(float64(x[c*4])) {
				continue
			}
			t.Fatalf("channel %d scaled wrongly: %g from %g", c, y[c*4], x[c*4])
		}
	}
	// Binomial(400, 0.25): mean 100, sd 8.7; ±4 sd.
	if dropped < 65 || dropped > 135 {
		t.Errorf("%d of 400 channels dropped, want about 100", dropped)
	}
	d.Rng = nil // fixed mask for the derivative checks
	checkNet(t, n, p, x, rng, 1e-2, linTol)
}

func TestInitStatistics(t *testing.T) {
	rng := newRng(t)
	b := NewBuilder(Shape{64, 8, 8})
	c := b.Add("c", &Conv2D{Out: 64, K: 3, Stride: 1}, 0)
	g := b.Add("g", &GroupNorm{Groups: 4}, c)
	n := b.Build(g)
	p := make([]float32, n.NumParams())
	n.Init(p, rng)
	for _, pi := range n.Params() {
		seg := p[pi.Offset : pi.Offset+pi.Len]
		switch pi.Kind {
		case ConvWeight:
			// U(−a, a), a = 1/√576: mean 0, variance a²/3; 36,864 draws,
			// so the sample variance is within 2% (≈4 standard errors).
			a := 1 / math.Sqrt(576)
			var s, ss, mx float64
			for _, v := range seg {
				s += float64(v)
				ss += float64(v) * float64(v)
				mx = math.Max(mx, math.Abs(float64(v)))
			}
			m := s / float64(len(seg))
			v := ss/float64(len(seg)) - m*m
			if mx > a || math.Abs(v/(a*a/3)-1) > 0.02 || math.Abs(m) > 4*a/math.Sqrt(3*float64(len(seg))) {
				t.Errorf("conv weights: max %g (bound %g), var %g (want %g), mean %g", mx, a, v, a*a/3, m)
			}
		case ConvBias:
			for _, v := range seg {
				if math.Abs(float64(v)) > 1/math.Sqrt(576) {
					t.Errorf("bias %g outside ±1/√576", v)
				}
			}
		case NormWeight:
			for _, v := range seg {
				if v != 1 {
					t.Fatalf("GroupNorm weight %g, want 1", v)
				}
			}
		case NormBias:
			for _, v := range seg {
				if v != 0 {
					t.Fatalf("GroupNorm bias %g, want 0", v)
				}
			}
		}
	}
}

func TestPriorBlockLayout(t *testing.T) {
	b := NewBuilder(Shape{1, 8, 8})
	b.SetBlock("in")
	x := b.Add("conv0", &Conv2D{Out: 2, K: 3, Stride: 1}, 0)
	b.SetBlock("skip0")
	s := b.Add("conv", &Conv2D{Out: 1, K: 1, Stride: 1}, x)
	b.SetBlock("down0")
	d := b.Add("conv0", &Conv2D{Out: 3, K: 3, Stride: 2}, x)
	d = b.Add("conv1", &Conv2D{Out: 3, K: 3, Stride: 1}, d)
	b.SetBlock("up0")
	u := b.Add("up", &Upsample2x{}, d)
	u = b.Add("cat", &Concat{}, u, s)
	u = b.Add("conv0", &Conv2D{Out: 2, K: 3, Stride: 1}, u)
	n := b.Build(u)
	got := n.PriorBlocks()
	want := []PriorBlock{
		{"in", 3, 0, 18}, {"down0", 3, 18, 54 + 81}, {"up0", 3, 153, 2 * 4 * 9}, {"skip0", 1, 225, 2},
	}
	if len(got) != len(want) {
		t.Fatalf("prior blocks %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("block %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if n.NumConvWeights() != 227 {
		t.Errorf("conv weights %d, want 227", n.NumConvWeights())
	}
	if pi, ok := n.Param("down0/conv1.weight"); !ok || pi.Offset != 18+54 || pi.Len != 81 {
		t.Errorf("down0/conv1.weight: %+v", pi)
	}
}
