package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(n int, rng *rand.Rand, mean float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(mean + rng.NormFloat64())
	}
	return s
}

func close32(a, b float32, scale float64) bool {
	// one fused multiply-add vs two roundings: a few ulps of the terms
	return math.Abs(float64(a)-float64(b)) <= 4e-7*scale
}

// TestMatchesGo checks every function against its Go loop for all lengths
// 0…80 (full vectors, the 8- and 16-lane steps and every masked tail) and
// start offsets 0…2 (unaligned), with the elements around the slice left
// untouched.
func TestMatchesGo(t *testing.T) {
	if !useAsm {
		t.Skip("no AVX-512 (or CTRECON_VEC=go): the Go loops are what runs")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 80; n++ {
		for off := 0; off < 3; off++ {
			x := randSlice(n+off+1, rng, 3)[off : off+n]
			tt := randSlice(n+off+1, rng, 0)[off : off+n]
			m := 2.5
			if got, want := Sum(x), sumGo(x); math.Abs(got-want) > 1e-12*float64(n+1)*4 {
				t.Fatalf("Sum n=%d: %v want %v", n, got, want)
			}
			if got, want := SumSqDev(x, m), sumSqDevGo(x, m); math.Abs(got-want) > 1e-12*want+1e-300 {
				t.Fatalf("SumSqDev n=%d: %v want %v", n, got, want)
			}
			s1, s2 := DotDev(tt, x, m)
			w1, w2 := dotDevGo(tt, x, m)
			if math.Abs(s1-w1) > 1e-12*float64(n+1) || math.Abs(s2-w2) > 1e-12*float64(n+1)*4 {
				t.Fatalf("DotDev n=%d: %v %v want %v %v", n, s1, s2, w1, w2)
			}
			for _, acc := range []bool{false, true} {
				full := randSlice(n+2, rng, 0)
				want := append([]float32(nil), full...)
				Affine2(full[1:n+1], tt, x, 0.7, -1.3, float32(m), 0.25, acc)
				affine2Go(want[1:n+1], tt, x, 0.7, -1.3, float32(m), 0.25, acc)
				for i := range full {
					if !close32(full[i], want[i], 10) || (i == 0 || i == n+1) && full[i] != want[i] {
						t.Fatalf("Affine2 n=%d acc=%v: element %d %v want %v", n, acc, i, full[i], want[i])
					}
				}
				full = randSlice(n+2, rng, 0)
				want = append([]float32(nil), full...)
				Leaky(full[1:n+1], tt, x, 0.2, acc)
				leakyGo(want[1:n+1], tt, x, 0.2, acc)
				x0 := append([]float32(nil), tt...)
				for i := range x0 {
					if i%3 == 0 {
						x0[i] = 0 // x = 0 takes the slope, as in the Go loop
					}
				}
				for i := range full {
					if full[i] != want[i] {
						t.Fatalf("Leaky n=%d acc=%v: element %d %v want %v", n, acc, i, full[i], want[i])
					}
				}
				Leaky(full[1:n+1], x0, x0, 0.2, false)
				leakyGo(want[1:n+1], x0, x0, 0.2, false)
				for i := range full {
					if full[i] != want[i] {
						t.Fatalf("Leaky(x, x) n=%d: element %d %v want %v", n, i, full[i], want[i])
					}
				}
			}
			full := randSlice(n+2, rng, 0)
			want := append([]float32(nil), full...)
			Affine(full[1:n+1], x, 1.5, -0.5)
			affineGo(want[1:n+1], x, 1.5, -0.5)
			for i := range full {
				if !close32(full[i], want[i], 10) || (i == 0 || i == n+1) && full[i] != want[i] {
					t.Fatalf("Affine n=%d: element %d %v want %v", n, i, full[i], want[i])
				}
			}
		}
	}
}

// TestSumPrecision: a million values of mean 1000 and spread 1 keep their
// variance (float32 accumulation would lose it).
func TestSumPrecision(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := randSlice(1<<20, rng, 1000)
	var s, ss float64
	for _, v := range x {
		s += float64(v)
	}
	m := s / float64(len(x))
	for _, v := range x {
		ss += (float64(v) - m) * (float64(v) - m)
	}
	if got := Sum(x); math.Abs(got-s) > 1e-9*s {
		t.Fatalf("Sum %v want %v", got, s)
	}
	if got := SumSqDev(x, m); math.Abs(got-ss) > 1e-9*ss {
		t.Fatalf("SumSqDev %v want %v", got, ss)
	}
}

func TestLengthMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Affine(make([]float32, 3), make([]float32, 4), 1, 0)
}

func BenchmarkLeaky(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := randSlice(1<<16, rng, 0)
	d := make([]float32, len(x))
	b.SetBytes(int64(8 * len(x)))
	for i := 0; i < b.N; i++ {
		Leaky(d, x, x, 0.2, false)
	}
}

func BenchmarkSumSqDev(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := randSlice(1<<16, rng, 0)
	b.SetBytes(int64(4 * len(x)))
	for i := 0; i < b.N; i++ {
		SumSqDev(x, 0.1)
	}
}

func TestLeakyFactor(t *testing.T) {
	sb := math.Float32bits(0.2)
	for _, x := range []float32{1, 1e-40, 3e38, float32(math.Inf(1)), 0, float32(math.Copysign(0, -1)), -1e-40, -2, float32(math.Inf(-1))} {
		want := float32(0.2)
		if x > 0 {
			want = 1
		}
		if got := factor(x, sb); got != want {
			t.Errorf("factor(%g) = %g, want %g", x, got, want)
		}
	}
}
