package linearised

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/nn"
)

const testSeed = 20261126

func newRNG(t testing.TB, offset uint64) *rand.Rand {
	t.Logf("seed %d+%d", testSeed, offset)
	return rand.New(rand.NewPCG(testSeed, offset))
}

// testBlocks: two 3×3 blocks and two 1×1 blocks, n = 36+5+27+2 = 70.
func testBlocks() ([]nn.PriorBlock, int) {
	b := []nn.PriorBlock{
		{Name: "in", Kernel: 3, Offset: 0, Len: 36},
		{Name: "skip0", Kernel: 1, Offset: 36, Len: 5},
		{Name: "down0", Kernel: 3, Offset: 41, Len: 27},
		{Name: "out", Kernel: 1, Offset: 68, Len: 2},
	}
	return b, 70
}

func randDense(rng *rand.Rand, m, n int, scale float64) *linop.Dense {
	d := make([]float32, m*n)
	for i := range d {
		d[i] = float32(scale * rng.NormFloat64())
	}
	return linop.NewDense(m, n, d)
}

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(scale * rng.NormFloat64())
	}
	return v
}

// testProblem builds a small random problem: N² = 36 pixels, m_y = my.
func testProblem(t testing.TB, rng *rand.Rand, my int) (*Problem, *Prior) {
	blocks, n := testBlocks()
	npix := 36
	J := randDense(rng, npix, n, 0.3)
	A := randDense(rng, my, npix, 0.5)
	xhat := randVec(rng, npix, 1)
	y := make([]float32, my)
	A.Apply(y, xhat)
	for i := range y {
		y[i] += float32(0.1 * rng.NormFloat64())
	}
	p := &Problem{J: J, Blocks: blocks, A: A, Y: y, Xhat: xhat, Theta: randVec(rng, n, 0.5)}
	pr, err := NewPrior(blocks, n)
	if err != nil {
		t.Fatal(err)
	}
	return p, pr
}

// quantise rounds the entries of d to multiples of q in [−1, 1], so that
// products of such matrices (A·J) are exact in float32 and the exact
// pipeline and the dense reference start from identical numbers.
func quantise(d *linop.Dense, q float64) {
	for i, v := range d.Data {
		x := math.Round(float64(v)/q) * q
		d.Data[i] = float32(math.Max(-1, math.Min(1, x)))
	}
}

// testProblemQ is testProblem with J and A quantised (multiples of 1/4 and
// 1/2): A·J is then computed without rounding.
func testProblemQ(t testing.TB, rng *rand.Rand, my int) (*Problem, *Prior) {
	p, pr := testProblem(t, rng, my)
	quantise(p.J.(*linop.Dense), 0.25)
	quantise(p.A.(*linop.Dense), 0.5)
	return p, pr
}

// randomHyper moves the hyperparameters away from their initial values so
// that tests do not pass only at σ² = 1.
func randomHyper(pr *Prior, rng *rand.Rand) {
	for i, b := range pr.Blocks {
		pr.H.LogVar[i] = rng.Float64()*2 - 1
		if b.Kernel == 3 {
			pr.H.LogLen[i] = math.Log(0.3 + 2*rng.Float64())
		}
	}
	pr.H.LogNoise = math.Log(0.05 + 0.2*rng.Float64())
}

func toMat(d *linop.Dense) *mat.Dense {
	f := make([]float64, len(d.Data))
	for i, v := range d.Data {
		f[i] = float64(v)
	}
	return mat.NewDense(d.M, d.N, f)
}

// denseModel is the brute-force reference: Σ_xx = JΣJᵀ, K = AΣ_xxAᵀ + σ²I,
// Σ_post = Σ_xx − Σ_xxAᵀK⁻¹AΣ_xx, all dense float64.
type denseModel struct {
	sxx, k, post *mat.Dense
	sigma        *mat.Dense
}

func newDenseModel(p *Problem, pr *Prior) denseModel {
	J := toMat(linop.Assemble(p.J))
	A := toMat(linop.Assemble(p.A))
	n := pr.Dim()
	S := mat.NewDense(n, n, pr.Dense())
	var js, sxx, asxx, k mat.Dense
	js.Mul(J, S)
	sxx.Mul(&js, J.T())
	asxx.Mul(A, &sxx)
	k.Mul(&asxx, A.T())
	my, _ := k.Dims()
	for i := 0; i < my; i++ {
		k.Set(i, i, k.At(i, i)+pr.H.NoiseVar())
	}
	var kinv, tmp, post mat.Dense
	if err := kinv.Inverse(&k); err != nil {
		panic(err)
	}
	tmp.Mul(&kinv, &asxx)
	post.Mul(asxx.T(), &tmp)
	post.Sub(&sxx, &post)
	return denseModel{sxx: &sxx, k: &k, post: &post, sigma: S}
}

func relDiff(a, b float64) float64 {
	return math.Abs(a-b) / math.Max(math.Max(math.Abs(a), math.Abs(b)), 1e-300)
}
