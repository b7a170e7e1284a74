package nn

import (
	"fmt"
	"math"

	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/internal/vec"
)

// GroupNorm normalises each group of C/Groups channels over its channels
// and pixels to zero mean and unit variance (biased variance, ε = Eps or
// 1e-5 as in PyTorch), then applies a per-channel affine map γ·x̂ + β.
// Parameters: γ [C] (NormWeight), β [C] (NormBias).
type GroupNorm struct {
	Groups int
	Eps    float64 // 0 means 1e-5

	s          Shape
	gOff, bOff int
	mean, rstd []float64 // per group, from the last Forward
}

func (g *GroupNorm) Setup(in []Shape) (Shape, []ParamSpec) {
	if len(in) != 1 {
		panic(fmt.Errorf("%w: GroupNorm takes one input", ErrShape))
	}
	g.s = in[0]
	if g.Groups < 1 || g.s.C%g.Groups != 0 {
		panic(fmt.Sprintf("nn: GroupNorm: %d channels not divisible into %d groups", g.s.C, g.Groups))
	}
	g.mean = make([]float64, g.Groups)
	g.rstd = make([]float64, g.Groups)
	return g.s, []ParamSpec{{Kind: NormWeight, Len: g.s.C}, {Kind: NormBias, Len: g.s.C}}
}

func (g *GroupNorm) Bind(off []int) { g.gOff, g.bOff = off[0], off[1] }

func (g *GroupNorm) eps() float64 {
	if g.Eps == 0 {
		return 1e-5
	}
	return g.Eps
}

func (g *GroupNorm) Forward(p, y []float32, x [][]float32) {
	xs := x[0]
	checkLen("GroupNorm input", len(xs), g.s.Size())
	checkLen("GroupNorm output", len(y), g.s.Size())
	cg := g.s.C / g.Groups
	n := cg * g.s.H * g.s.W
	gamma, beta := p[g.gOff:g.gOff+g.s.C], p[g.bOff:g.bOff+g.s.C]
	par.For(g.Groups, func(lo, hi int) {
		for gr := lo; gr < hi; gr++ {
			seg := xs[gr*n : (gr+1)*n]
			m := vec.Sum(seg) / float64(n)
			r := 1 / math.Sqrt(vec.SumSqDev(seg, m)/float64(n)+g.eps())
			g.mean[gr], g.rstd[gr] = m, r
			hw := g.s.H * g.s.W
			for c := gr * cg; c < (gr+1)*cg; c++ {
				a := float32(r) * gamma[c]
				b := beta[c] - float32(m)*a
				vec.Affine(y[c*hw:(c+1)*hw], xs[c*hw:(c+1)*hw], a, b)
			}
		}
	})
}

// stats returns, for group gr and batch member b of the tangent t, the
// means of t and of x̂·t over the group.
func (g *GroupNorm) stats(t, xs []float32, gr, b, k int) (mt, mxt float64) {
	cg := g.s.C / g.Groups
	hw := g.s.H * g.s.W
	m, r := g.mean[gr], g.rstd[gr]
	var s, sx float64
	for c := gr * cg; c < (gr+1)*cg; c++ {
		st, stx := vec.DotDev(t[(c*k+b)*hw:][:hw], xs[c*hw:][:hw], m)
		s += st
		sx += stx * r
	}
	n := float64(cg * hw)
	return s / n, sx / n
}

func (g *GroupNorm) JVP(p, dy []float32, dx [][]float32, dp []float32, stride int, x [][]float32, y []float32, k int) {
	xs := x[0]
	checkLen("GroupNorm output tangent", len(dy), k*g.s.Size())
	cg := g.s.C / g.Groups
	hw := g.s.H * g.s.W
	gamma := p[g.gOff : g.gOff+g.s.C]
	par.For(g.Groups*k, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			gr, b := j/k, j%k
			m, r := g.mean[gr], g.rstd[gr]
			var mt, mxt float64
			if dx[0] != nil {
				mt, mxt = g.stats(dx[0], xs, gr, b, k)
			}
			for c := gr * cg; c < (gr+1)*cg; c++ {
				dst := dy[(c*k+b)*hw:][:hw]
				xp := xs[c*hw:][:hw]
				var dg, db float32
				if dp != nil && g.gOff < stride {
					dg = dp[b*stride+g.gOff+c]
				}
				if dp != nil && g.bOff < stride {
					db = dp[b*stride+g.bOff+c]
				}
				if dx[0] == nil { // dst = dg·x̂ + db
					vec.Affine2(dst, xp, xp, 0, dg*float32(r), float32(m), db, false)
					continue
				}
				// dst = γ·r·(t − mt − x̂·mxt) + dg·x̂ + db with x̂ = (x − m)·r,
				// as one affine map of t and x − m
				tp := dx[0][(c*k+b)*hw:][:hw]
				gs := float64(gamma[c]) * r // not gr: that is the group index
				vec.Affine2(dst, tp, xp, float32(gs), float32(r*(float64(dg)-gs*mxt)), float32(m), float32(float64(db)-gs*mt), false)
			}
		}
	})
}

func (g *GroupNorm) VJP(p []float32, dx [][]float32, dp []float32, stride int, dy []float32, x [][]float32, y []float32, k int) {
	xs := x[0]
	checkLen("GroupNorm output cotangent", len(dy), k*g.s.Size())
	cg := g.s.C / g.Groups
	hw := g.s.H * g.s.W
	n := float64(cg * hw)
	gamma := p[g.gOff : g.gOff+g.s.C]
	par.For(g.Groups*k, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			gr, b := j/k, j%k
			m, r := g.mean[gr], g.rstd[gr]
			// means over the group of γ·dy and γ·dy·x̂
			var s, sx float64
			for c := gr * cg; c < (gr+1)*cg; c++ {
				cs, csx := vec.DotDev(dy[(c*k+b)*hw:][:hw], xs[c*hw:][:hw], m)
				csx *= r
				s += float64(gamma[c]) * cs
				sx += float64(gamma[c]) * csx
				if dp != nil && g.gOff < stride {
					dp[b*stride+g.gOff+c] = float32(csx)
				}
				if dp != nil && g.bOff < stride {
					dp[b*stride+g.bOff+c] = float32(cs)
				}
			}
			if dx[0] == nil {
				continue
			}
			mt, mxt := s/n, sx/n
			for c := gr * cg; c < (gr+1)*cg; c++ {
				// dx += r·(γ·dy − mt − x̂·mxt), x̂ = (x − m)·r
				gp := dy[(c*k+b)*hw:][:hw]
				vec.Affine2(dx[0][(c*k+b)*hw:][:hw], gp, xs[c*hw:][:hw], float32(r*float64(gamma[c])), float32(-r*r*mxt), float32(m), float32(-r*mt), true)
			}
		}
	})
}
