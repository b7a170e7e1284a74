package nn

import "sync"

// tileFloats bounds the im2col tile of one worker (floats): a tile of
// R = Cin·K² rows by T columns, T = tileFloats/R, stays in L2 while its GEMM
// runs, and the scratch memory does not grow with the image.
var tileFloats = 1 << 17

// grainCols is the fewest GEMM columns worth giving a worker of its own.
const grainCols = 256

var bufPool sync.Pool

// getBuf returns a scratch slice of length n (contents undefined).
func getBuf(n int) *[]float32 {
	if v := bufPool.Get(); v != nil {
		b := v.(*[]float32)
		if cap(*b) >= n {
			*b = (*b)[:n]
			return b
		}
	}
	b := make([]float32, n)
	return &b
}

func putBuf(b *[]float32) { bufPool.Put(b) }

// minGemmCols is the fewest GEMM columns (or inner dimension, for the
// weight gradients) a tile should give the GEMM. Chosen for OpenBLAS (~55
// GFLOPS with 128 columns, ~115 with 1024); with the AVX-512 kernels 256
// and 512 were measured too: the small U-Net's 2-thread forward gained
// (5.3 → 4.0 ms at 128²) but the large one's VJP lost 5–15%, so 1024 stays.
var minGemmCols = 1024

func tileCols(rows int) int {
	return max(tileFloats/rows, minGemmCols)
}

func zero(s []float32) {
	for i := range s {
		s[i] = 0
	}
}
