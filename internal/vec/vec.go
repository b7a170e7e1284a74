package vec

import "math"

func check(n int, lens ...int) {
	for _, l := range lens {
		if l != n {
			panic("vec: slices of different lengths")
		}
	}
}

// Sum returns Σ x[i], accumulated in float64.
func Sum(x []float32) float64 {
	if useAsm && len(x) > 0 {
		return sum64(&x[0], len(x))
	}
	return sumGo(x)
}

// SumSqDev returns Σ (x[i] − m)², accumulated in float64.
func SumSqDev(x []float32, m float64) float64 {
	if useAsm && len(x) > 0 {
		return sumSqDev64(&x[0], len(x), m)
	}
	return sumSqDevGo(x, m)
}

// DotDev returns Σ t[i] and Σ t[i]·(x[i] − m), accumulated in float64.
func DotDev(t, x []float32, m float64) (st, stx float64) {
	check(len(t), len(x))
	if useAsm && len(t) > 0 {
		return dotDev64(&t[0], &x[0], len(t), m)
	}
	return dotDevGo(t, x, m)
}

// Affine sets dst[i] = a·src[i] + b.
func Affine(dst, src []float32, a, b float32) {
	check(len(dst), len(src))
	if useAsm && len(dst) > 0 {
		affine(&dst[0], &src[0], len(dst), a, b)
		return
	}
	affineGo(dst, src, a, b)
}

// Affine2 sets dst[i] = a·t[i] + b·(x[i] − m) + c, or adds it to dst[i]
// when acc is true.
func Affine2(dst, t, x []float32, a, b, m, c float32, acc bool) {
	check(len(dst), len(t), len(x))
	if useAsm && len(dst) > 0 {
		affine2(&dst[0], &t[0], &x[0], len(dst), a, b, m, c, b2i(acc))
		return
	}
	affine2Go(dst, t, x, a, b, m, c, acc)
}

// Leaky sets dst[i] = t[i]·f(x[i]), or adds it when acc is true, where
// f(x) = 1 for x > 0 and slope otherwise (the LeakyReLU derivative; with
// t = x it is the LeakyReLU itself).
func Leaky(dst, t, x []float32, slope float32, acc bool) {
	check(len(dst), len(t), len(x))
	if useAsm && len(dst) > 0 {
		leaky(&dst[0], &t[0], &x[0], len(dst), slope, b2i(acc))
		return
	}
	leakyGo(dst, t, x, slope, acc)
}

// AddConst adds b to every element of dst.
func AddConst(dst []float32, b float32) {
	if useAsm && len(dst) > 0 {
		affine(&dst[0], &dst[0], len(dst), 1, b)
		return
	}
	for i := range dst {
		dst[i] += b
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sumGo(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

func sumSqDevGo(x []float32, m float64) float64 {
	var s float64
	for _, v := range x {
		d := float64(v) - m
		s += d * d
	}
	return s
}

func dotDevGo(t, x []float32, m float64) (st, stx float64) {
	for i, v := range t {
		st += float64(v)
		stx += float64(v) * (float64(x[i]) - m)
	}
	return st, stx
}

func affineGo(dst, src []float32, a, b float32) {
	for i, v := range src {
		dst[i] = a*v + b
	}
}

func affine2Go(dst, t, x []float32, a, b, m, c float32, acc bool) {
	if acc {
		for i, v := range t {
			dst[i] += a*v + b*(x[i]-m) + c
		}
		return
	}
	for i, v := range t {
		dst[i] = a*v + b*(x[i]-m) + c
	}
}

func leakyGo(dst, t, x []float32, slope float32, acc bool) {
	sb := math.Float32bits(slope)
	if acc {
		for i, v := range t {
			dst[i] += v * factor(x[i], sb)
		}
		return
	}
	for i, v := range t {
		dst[i] = v * factor(x[i], sb)
	}
}

// factor returns 1 if x > 0, else the slope sb (as float32 bits), without
// a branch: activations are positive or negative at random, and a
// mispredicted branch per element made the Go loop 3× slower (measured).
func factor(x float32, sb uint32) float32 {
	const one = 0x3f800000 // float32 1
	xb := math.Float32bits(x)
	// all ones iff the sign bit is clear and x is not ±0, i.e. x > 0
	pos := uint32(int32(^xb)>>31) & uint32(int32(-(xb&0x7fffffff))>>31)
	return math.Float32frombits(sb ^ ((sb ^ one) & pos))
}
