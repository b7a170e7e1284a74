package dip

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/ctrecon/ctrecon/internal/par"
)

// identity is the image-space stand-in "projector" of the torch peer's
// train step (loss = mean((f − target)²) + γ·TV(f)).
type identity int

func (n identity) Dims() (int, int)         { return int(n), int(n) }
func (n identity) Apply(dst, x []float32)   { copy(dst, x) }
func (n identity) Adjoint(dst, y []float32) { copy(dst, y) }

func benchNet(b *testing.B, preset string, n int) (*UNet, []float32, []float32) {
	par.SetThreads(runtime.GOMAXPROCS(0)) // follow -cpu
	a, err := Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	u, err := NewUNet(a, n)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(10, 0))
	p := u.NewParams(rng)
	z := make([]float32, n*n)
	for i := range z {
		z[i] = float32(0.1 * rng.NormFloat64())
	}
	return u, p, z
}

func benchForward(b *testing.B, preset string, n int) {
	u, p, z := benchNet(b, preset, n)
	y := make([]float32, n*n)
	u.Forward(y, p, z)
	b.ResetTimer()
	for b.Loop() {
		u.Forward(y, p, z)
	}
}

func BenchmarkForwardSmallN28(b *testing.B)   { benchForward(b, "small", 28) }
func BenchmarkForwardSmallN128(b *testing.B)  { benchForward(b, "small", 128) }
func BenchmarkForwardMediumN128(b *testing.B) { benchForward(b, "medium", 128) }
func BenchmarkForwardLargeN128(b *testing.B)  { benchForward(b, "large", 128) }

// benchAdam times one DIP iteration with the torch peer's stand-in loss:
// forward, MSE against a target + 1e-4·TV, backward, clip, Adam.
func benchAdam(b *testing.B, preset string, n int) {
	u, p, z := benchNet(b, preset, n)
	target := phantom(n)
	f, err := newFitter(u, identity(n*n), target, FitSettings{Gamma: 1e-4, InitParams: p, Input: z, OutputScale: 1, MaxIter: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	f.step()
	b.ResetTimer()
	for b.Loop() {
		f.step()
	}
}

func BenchmarkAdamStepSmallN28(b *testing.B)   { benchAdam(b, "small", 28) }
func BenchmarkAdamStepSmallN128(b *testing.B)  { benchAdam(b, "small", 128) }
func BenchmarkAdamStepMediumN128(b *testing.B) { benchAdam(b, "medium", 128) }
func BenchmarkAdamStepLargeN128(b *testing.B)  { benchAdam(b, "large", 128) }

// benchJVP times J v for one tangent over the conv weights, forward
// included (as functorch.jvp).
func benchJVP(b *testing.B, preset string, n, k int) {
	u, p, z := benchNet(b, preset, n)
	rng := rand.New(rand.NewPCG(0, 1))
	nw := u.NumConvWeights()
	v := randVec(k*nw, rng)
	out := make([]float32, k*n*n)
	b.ResetTimer()
	for b.Loop() {
		u.Forward(nil, p, z)
		u.Net.JVP(out, v, nw, nil, k)
	}
}

func BenchmarkJVPSmallN28(b *testing.B)  { benchJVP(b, "small", 28, 1) }
func BenchmarkJVPSmallN128(b *testing.B) { benchJVP(b, "small", 128, 1) }
func BenchmarkJVPLargeN128(b *testing.B) { benchJVP(b, "large", 128, 1) }

// benchVJP times Jᵀu over all parameters with the forward reused (as the
// peer's vjp_only).
func benchVJP(b *testing.B, preset string, n int) {
	u, p, z := benchNet(b, preset, n)
	rng := rand.New(rand.NewPCG(0, 2))
	g := make([]float32, u.NumParams())
	uu := randVec(n*n, rng)
	u.Forward(nil, p, z)
	b.ResetTimer()
	for b.Loop() {
		u.Net.VJP(g, len(g), nil, uu, 1)
	}
}

func BenchmarkVJPSmallN28(b *testing.B)  { benchVJP(b, "small", 28) }
func BenchmarkVJPSmallN128(b *testing.B) { benchVJP(b, "small", 128) }
func BenchmarkVJPLargeN128(b *testing.B) { benchVJP(b, "large", 128) }

// BenchmarkJacobianSmallN28 assembles the full 784 × 76,608 Jacobian by
// batched VJPs (rows), k = 49 unit cotangents at a time.
func BenchmarkJacobianSmallN28(b *testing.B) {
	const n, k = 28, 49
	u, p, z := benchNet(b, "small", n)
	J, err := u.Jacobian(p, z)
	if err != nil {
		b.Fatal(err)
	}
	m, nw := J.Dims()
	jac := make([]float32, m*nw)
	e := make([]float32, k*m)
	b.ResetTimer()
	for b.Loop() {
		for r0 := 0; r0 < m; r0 += k {
			clear(e)
			for j := 0; j < k; j++ {
				e[j*m+r0+j] = 1
			}
			J.AdjointBatch(jac[r0*nw:(r0+k)*nw], e, k)
		}
	}
}
