package radon

import (
	"math"
	"math/bits"
)

// fft is an in-place radix-2 complex FFT of one power-of-two length: enough
// for filtering sinogram rows, so radon needs no FFT dependency.
type fft struct {
	n   int
	rev []int
	tw  []complex128 // e^{−2πik/n}, k < n/2
	twi []complex128 // conjugates, for the inverse
}

func newFFT(n int) *fft {
	if n < 1 || n&(n-1) != 0 {
		panic("radon: FFT length must be a power of two")
	}
	f := &fft{n: n, rev: make([]int, n), tw: make([]complex128, n/2), twi: make([]complex128, n/2)}
	shift := 64 - bits.Len(uint(n-1))
	for i := range f.rev {
		f.rev[i] = int(bits.Reverse64(uint64(i)) >> shift)
		if n == 1 {
			f.rev[i] = 0
		}
	}
	for k := range f.tw {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
		f.tw[k] = complex(c, s)
		f.twi[k] = complex(c, -s)
	}
	return f
}

// transform replaces x by its DFT Σ_j x_j e^{∓2πijk/n} (minus sign forward,
// plus sign when inverse), unnormalised.
func (f *fft) transform(x []complex128, inverse bool) {
	n := f.n
	x = x[:n]
	for i, j := range f.rev {
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	tw := f.tw
	if inverse {
		tw = f.twi
	}
	for size := 2; size <= n; size <<= 1 {
		half, step := size/2, n/size
		for start := 0; start < n; start += size {
			lo, hi := x[start:start+half], x[start+half:start+size]
			for k := range lo {
				a, b := lo[k], hi[k]*tw[k*step]
				lo[k], hi[k] = a+b, a-b
			}
		}
	}
}
