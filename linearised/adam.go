package linearised

import (
	"fmt"
	"math"
)

// hyperIndex maps the free log-hyperparameters to a flat vector: every
// log σ_b², every log ℓ_b of a Kernel-3 block, then log σ_y².
type hyperIndex struct {
	varIdx, lenIdx []int // positions in the flat vector (−1: not free)
	noiseIdx       int
	names          []string
}

func hyperParams(p *Prior) hyperIndex {
	var hi hyperIndex
	for _, b := range p.Blocks {
		hi.varIdx = append(hi.varIdx, len(hi.names))
		hi.names = append(hi.names, fmt.Sprintf("logvar[%s]", b.Name))
	}
	for _, b := range p.Blocks {
		if b.Kernel == 3 {
			hi.lenIdx = append(hi.lenIdx, len(hi.names))
			hi.names = append(hi.names, fmt.Sprintf("loglen[%s]", b.Name))
		} else {
			hi.lenIdx = append(hi.lenIdx, -1)
		}
	}
	hi.noiseIdx = len(hi.names)
	hi.names = append(hi.names, "lognoise")
	return hi
}

func (hi hyperIndex) get(h *Hyper) []float64 {
	x := make([]float64, len(hi.names))
	for i, k := range hi.varIdx {
		x[k] = h.LogVar[i]
	}
	for i, k := range hi.lenIdx {
		if k >= 0 {
			x[k] = h.LogLen[i]
		}
	}
	x[hi.noiseIdx] = h.LogNoise
	return x
}

func (hi hyperIndex) set(h *Hyper, x []float64) {
	for i, k := range hi.varIdx {
		h.LogVar[i] = x[k]
	}
	for i, k := range hi.lenIdx {
		if k >= 0 {
			h.LogLen[i] = x[k]
		}
	}
	h.LogNoise = x[hi.noiseIdx]
}

func (h Hyper) flatten(p *Prior) []float64 { return hyperParams(p).get(&h) }

// adam is the Adam optimiser (β₁ = 0.9, β₂ = 0.999, ε = 1e-8, as PyTorch).
type adam struct {
	lr   float64
	m, v []float64
	t    int
}

func newAdam(n int, lr float64) *adam {
	return &adam{lr: lr, m: make([]float64, n), v: make([]float64, n)}
}

func (a *adam) step(x, g []float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	a.t++
	c1 := 1 - math.Pow(b1, float64(a.t))
	c2 := 1 - math.Pow(b2, float64(a.t))
	for i := range x {
		a.m[i] = b1*a.m[i] + (1-b1)*g[i]
		a.v[i] = b2*a.v[i] + (1-b2)*g[i]*g[i]
		x[i] -= a.lr * (a.m[i] / c1) / (math.Sqrt(a.v[i]/c2) + eps)
	}
}
