package linearised

import (
	"context"
	"fmt"
	"testing"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/nn"
)

// benchExact builds an Exact with m_y measurements and 10 prior blocks (six
// 3×3 blocks of f filters, four 1×1 blocks of 4 weights: 6·6 + 4 = 40 K_yy
// terms, a little more than the `small` preset's 33). The MLL step cost
// depends only on m_y and the number of terms, not on n.
func benchExact(b *testing.B, my, f int) *Exact {
	var blocks []nn.PriorBlock
	off := 0
	for i := 0; i < 10; i++ {
		k, l := 3, 9*f
		if i >= 6 {
			k, l = 1, 4
		}
		blocks = append(blocks, nn.PriorBlock{Name: fmt.Sprint("b", i), Kernel: k, Offset: off, Len: l})
		off += l
	}
	n, npix := off, 1024
	rng := newRNG(b, 99)
	J := randDense(rng, npix, n, 0.05)
	A := randDense(rng, my, npix, 0.05)
	xhat := randVec(rng, npix, 1)
	y := randVec(rng, my, 1)
	p := &Problem{J: J, Blocks: blocks, A: A, Y: y, Xhat: xhat, Theta: randVec(rng, n, 0.1)}
	pr, err := NewPrior(blocks, n)
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewExact(context.Background(), p, pr, ExactSettings{})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkExactMLLStep is one exact MLL step (weighted sum of 40 terms,
// Cholesky, inverse, 40 traces) at d_y = 940 (32², 20 angles × 47 bins).
func BenchmarkExactMLLStepDy940Blocks10(b *testing.B) {
	e := benchExact(b, 940, 2)
	var g Hyper
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Loss(&g); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExactPrecomputeDy940N2200 times NewExact (AJ by 940 batched VJPs of
// a dense J, then the 40 terms) with n ≈ 2200; the term build scales
// linearly in n (6·m_y²·n flops), so 76,608 weights cost about 35× this.
func BenchmarkExactPrecomputeDy940N2200(b *testing.B) {
	for i := 0; i < b.N; i++ {
		benchExact(b, 940, 40)
	}
}

// BenchmarkPriorCov applies Σ_θ of the medium U-Net's block prior to 32
// weight vectors (the shape of one subspace-growth round's probes), and
// BenchmarkPriorSqrtT its transposed square root.
func BenchmarkPriorCov(b *testing.B)   { benchPrior(b, 0) }
func BenchmarkPriorSqrtT(b *testing.B) { benchPrior(b, 2) }

func benchPrior(b *testing.B, mode int) {
	a, err := dip.Preset("medium")
	if err != nil {
		b.Fatal(err)
	}
	u, err := dip.NewUNet(a, 64)
	if err != nil {
		b.Fatal(err)
	}
	n := u.NumConvWeights()
	pr, err := NewPrior(u.PriorBlocks(), n)
	if err != nil {
		b.Fatal(err)
	}
	const k = 32
	x := randVec(newRNG(b, 5), k*n, 1)
	dst := make([]float32, k*n)
	b.SetBytes(int64(4 * k * n))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pr.op(dst, x, k, mode)
	}
}
