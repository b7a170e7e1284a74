package dip

import (
	"flag"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ctrecon/ctrecon/linop"
)

var seed = flag.Uint64("seed", 1, "seed for the randomised tests")

func newRng(t testing.TB) *rand.Rand {
	t.Helper()
	t.Logf("seed %d", *seed)
	return rand.New(rand.NewPCG(*seed, 99))
}

func randVec(n int, rng *rand.Rand) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
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

func relDiff(a, b []float32) float64 {
	var d, n float64
	for i := range a {
		e := float64(a[i]) - float64(b[i])
		d += e * e
		n += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(d / math.Max(n, 1e-300))
}

// testProjector is a stand-in parallel-beam ray transform for the tests
// (the radon package is developed separately): each ray is sampled every
// 0.25 pixel with bilinear interpolation, angles equally spaced in
// [0, π), NDet = 2⌈√2·n/2⌉+1 unit bins (DESIGN.md §2). Assembled as a
// dense matrix, so its adjoint is exact.
func testProjector(n, angles int) *linop.Dense {
	nd := 2*int(math.Ceil(math.Sqrt2*float64(n)/2)) + 1
	m := angles * nd
	a := make([]float32, m*n*n)
	half := float64(n) / 2
	const step = 0.25
	for ai := 0; ai < angles; ai++ {
		th := math.Pi * float64(ai) / float64(angles)
		c, s := math.Cos(th), math.Sin(th)
		for k := 0; k < nd; k++ {
			sk := float64(k) + 0.5 - float64(nd)/2
			row := a[(ai*nd+k)*n*n:][:n*n]
			for t := -half * math.Sqrt2; t <= half*math.Sqrt2; t += step {
				x, y := sk*c-t*s, sk*s+t*c
				// pixel centres: x = j + 0.5 − n/2, y = n/2 − i − 0.5
				fj, fi := x+half-0.5, half-0.5-y
				j0, i0 := int(math.Floor(fj)), int(math.Floor(fi))
				wj, wi := fj-float64(j0), fi-float64(i0)
				for di := 0; di < 2; di++ {
					for dj := 0; dj < 2; dj++ {
						i, j := i0+di, j0+dj
						if i < 0 || i >= n || j < 0 || j >= n {
							continue
						}
						w := (1 - math.Abs(float64(di)-wi)) * (1 - math.Abs(float64(dj)-wj))
						row[i*n+j] += float32(w * step)
					}
				}
			}
		}
	}
	return linop.NewDense(m, n*n, a)
}

// phantom is a small ellipse phantom with values in [0, 1].
func phantom(n int) []float32 {
	img := make([]float32, n*n)
	type ell struct{ v, cx, cy, a, b, phi float64 }
	es := []ell{{0.8, 0, 0, 0.72, 0.85, 0}, {-0.3, 0.22, 0, 0.11, 0.31, -0.3}, {-0.3, -0.22, 0, 0.16, 0.41, 0.3},
		{0.4, 0, 0.35, 0.21, 0.25, 0}, {0.3, -0.1, -0.5, 0.1, 0.08, 0}}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			x := (float64(j) + 0.5 - float64(n)/2) / (float64(n) / 2)
			y := (float64(n)/2 - float64(i) - 0.5) / (float64(n) / 2)
			var v float64
			for _, e := range es {
				c, s := math.Cos(e.phi), math.Sin(e.phi)
				u := ((x-e.cx)*c + (y-e.cy)*s) / e.a
				w := (-(x-e.cx)*s + (y-e.cy)*c) / e.b
				if u*u+w*w <= 1 {
					v += e.v
				}
			}
			img[i*n+j] = float32(v)
		}
	}
	return img
}

// simulate returns y = A x + ε with σ = η·mean|Ax| (DESIGN.md §2) and σ.
func simulate(A linop.Operator, x []float32, eta float64, rng *rand.Rand) ([]float32, float64) {
	m, _ := A.Dims()
	y := make([]float32, m)
	A.Apply(y, x)
	var s float64
	for _, v := range y {
		s += math.Abs(float64(v))
	}
	sigma := eta * s / float64(m)
	for i := range y {
		y[i] += float32(sigma * rng.NormFloat64())
	}
	return y, sigma
}

// cglsImage runs iters CGLS iterations on A x = y from 0: a smooth
// least-squares image standing in for the FBP input of the DIP.
func cglsImage(A linop.Operator, y []float32, iters int) []float32 {
	return cgls(A, y, iters, nil)
}

// cgls runs iters CGLS iterations on A x = y from 0, calling each (if not
// nil) with every iterate, and returns the last.
func cgls(A linop.Operator, y []float32, iters int, each func(x []float32)) []float32 {
	m, n := A.Dims()
	x := make([]float32, n)
	r := slices.Clone(y)
	s := make([]float32, n)
	A.Adjoint(s, r)
	p := slices.Clone(s)
	q := make([]float32, m)
	gamma := dot64(s, s)
	for it := 0; it < iters && gamma > 0; it++ {
		A.Apply(q, p)
		alpha := gamma / dot64(q, q)
		for i := range x {
			x[i] += float32(alpha) * p[i]
		}
		for i := range r {
			r[i] -= float32(alpha) * q[i]
		}
		A.Adjoint(s, r)
		g2 := dot64(s, s)
		for i := range p {
			p[i] = s[i] + float32(g2/gamma)*p[i]
		}
		gamma = g2
		if each != nil {
			each(x)
		}
	}
	return x
}
