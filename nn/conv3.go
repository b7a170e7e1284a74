package nn

import (
	"github.com/ctrecon/ctrecon/internal/blas"
	"github.com/ctrecon/ctrecon/internal/par"
)

// Fast path for 3×3, stride 1, padding 1 convolutions (most of the U-Net).
//
// Instead of the 9·Cin-row im2col matrix, a tile of output rows builds a
// 3·Cin-row matrix X3 of the three horizontally shifted copies of the input
// rows it needs, rows (c, kx), with one zero row above and below:
//
//	X3[c·3+kx][rr·W + j] = x[c][r0−1+rr][j+kx−1]   (0 outside the image)
//
// The vertical offset ky is then a column offset of ky·W into X3, so
//
//	y[:, rows r0..r1) = Σ_ky W_ky · X3[:, ky·W : ky·W + (r1−r0)·W]
//
// is three GEMMs with K = 3·Cin on a third of the im2col traffic. W_ky is
// W repacked to [o][c·3+kx] for one ky.

// tile3Rows is the number of output rows per tile for cin input channels,
// width w, height h and a batch of k images: at least minGemmCols GEMM
// columns (OpenBLAS sgemm runs at ~55 GFLOPS with 128 columns, ~115 with
// 1024 and more, measured here), more while the X3 tile stays within
// tileFloats, but small enough to give every worker a tile.
func tile3Rows(cin, w, h, k int) int {
	t := max(tileFloats/(3*cin*w)-2, (minGemmCols+w-1)/w)
	if nw := par.Threads(); k < nw {
		t = min(t, (h*k+nw-1)/nw)
	}
	return max(1, min(t, h))
}

// buildX3 fills buf with X3 for batch member b, output rows [r0, r1).
func buildX3(buf, x []float32, cin, h, w, k, b, r0, r1 int) {
	ld := (r1 - r0 + 2) * w
	for c := 0; c < cin; c++ {
		plane := x[(c*k+b)*h*w:][:h*w]
		for kx := 0; kx < 3; kx++ {
			row := buf[(c*3+kx)*ld:][:ld]
			for rr := 0; rr < r1-r0+2; rr++ {
				iy := r0 - 1 + rr
				d := row[rr*w : (rr+1)*w]
				if iy < 0 || iy >= h {
					zero(d)
					continue
				}
				src := plane[iy*w : (iy+1)*w]
				switch kx {
				case 0: // x[j−1]
					d[0] = 0
					copy(d[1:], src[:w-1])
				case 1:
					copy(d, src)
				case 2: // x[j+1]
					copy(d[:w-1], src[1:])
					d[w-1] = 0
				}
			}
		}
	}
}

// packW3 repacks rows of 3×3 filters w ([row][c][ky][kx], cin channels)
// into dst[ky][row][c·3+kx].
func packW3(dst, w []float32, rows, cin int) {
	R := 9 * cin
	for ky := 0; ky < 3; ky++ {
		d := dst[ky*rows*3*cin:]
		for o := 0; o < rows; o++ {
			src := w[o*R:]
			do := d[o*3*cin:]
			for c := 0; c < cin; c++ {
				do[c*3+0] = src[c*9+ky*3+0]
				do[c*3+1] = src[c*9+ky*3+1]
				do[c*3+2] = src[c*9+ky*3+2]
			}
		}
	}
}

type tile3 struct{ b, r0, r1 int }

func tiles3(k, h, tr int) []tile3 {
	var ts []tile3
	for b := 0; b < k; b++ {
		for r0 := 0; r0 < h; r0 += tr {
			ts = append(ts, tile3{b, r0, min(r0+tr, h)})
		}
	}
	return ts
}

// conv3s1 computes y (+)= conv(x; w) for a batch of k inputs in the
// [C][k][H][W] layout; w is [cout][cin][3][3]. With xBatch = 1 and
// outRows = cout·k it computes the weight-tangent term instead: w then
// holds k filter sets in rows (o, b) and x is the single primal input,
// whose output rows (o·k + b) land in y's [o][b] layout.
func conv3s1(w, y, x []float32, cin, outRows, h, wd, k, xBatch int, accumulate bool) {
	wp := getBuf(9 * outRows * cin)
	defer putBuf(wp)
	packW3(*wp, w, outRows, cin)
	conv3s1Packed(*wp, y, x, cin, outRows, h, wd, k, xBatch, accumulate)
}

// conv3s1Packed is conv3s1 with the filters already packed by packW3.
func conv3s1Packed(wp, y, x []float32, cin, outRows, h, wd, k, xBatch int, accumulate bool) {
	K3 := 3 * cin
	tr := tile3Rows(cin, wd, h, xBatch)
	ts := tiles3(xBatch, h, tr)
	ldc := xBatch * h * wd
	par.For(len(ts), func(lo, hi int) {
		buf := getBuf(K3 * (tr + 2) * wd)
		defer putBuf(buf)
		for _, t := range ts[lo:hi] {
			ld := (t.r1 - t.r0 + 2) * wd
			buildX3(*buf, x, cin, h, wd, xBatch, t.b, t.r0, t.r1)
			n := (t.r1 - t.r0) * wd
			c := y[t.b*h*wd+t.r0*wd:]
			for ky := 0; ky < 3; ky++ {
				beta := float32(1)
				if ky == 0 && !accumulate {
					beta = 0
				}
				blas.Sgemm(false, false, outRows, n, K3, 1, wp[ky*outRows*K3:], K3, (*buf)[ky*wd:], ld, beta, c, ldc)
			}
		}
	})
}

// conv3s1dW writes (=) the weight gradients of a 3×3 stride-1 conv for k
// cotangents g ([cout][k][H][W]) at the single primal input x into dp
// (k vectors of length stride, weights at offset off).
func conv3s1dW(dp []float32, stride, off int, g, x []float32, cin, cout, h, wd, k int) {
	K3 := 3 * cin
	M := cout * k
	P1 := h * wd
	tr := tile3Rows(cin, wd, h, 1)
	ts := tiles3(1, h, tr)
	nw := min(par.Threads(), len(ts))
	parts := make([]*[]float32, nw)
	par.For(nw, func(w0, w1 int) {
		for wi := w0; wi < w1; wi++ {
			part := getBuf(3 * M * K3)
			zero(*part)
			parts[wi] = part
			buf := getBuf(K3 * (tr + 2) * wd)
			for _, t := range ts[wi*len(ts)/nw : (wi+1)*len(ts)/nw] {
				ld := (t.r1 - t.r0 + 2) * wd
				buildX3(*buf, x, cin, h, wd, 1, 0, t.r0, t.r1)
				n := (t.r1 - t.r0) * wd
				for ky := 0; ky < 3; ky++ {
					blas.Sgemm(false, true, M, K3, n, 1, g[t.r0*wd:], P1, (*buf)[ky*wd:], ld, 1, (*part)[ky*M*K3:], K3)
				}
			}
			putBuf(buf)
		}
	})
	R := 9 * cin
	// Sum the workers' partials into dp, output channels split over the
	// threads (serial, this was ~2% of a 2-thread VJP).
	par.For(cout, func(o0, o1 int) {
		for b := 0; b < k; b++ {
			dst := dp[b*stride+off:][:cout*R]
			for o := o0; o < o1; o++ {
				for pi, part := range parts {
					for ky := 0; ky < 3; ky++ {
						src := (*part)[ky*M*K3+(o*k+b)*K3:][:K3]
						d := dst[o*R:]
						if pi == 0 { // the first partial is written, not added
							for c := 0; c < cin; c++ {
								d[c*9+ky*3+0] = src[c*3+0]
								d[c*9+ky*3+1] = src[c*3+1]
								d[c*9+ky*3+2] = src[c*3+2]
							}
							continue
						}
						for c := 0; c < cin; c++ {
							d[c*9+ky*3+0] += src[c*3+0]
							d[c*9+ky*3+1] += src[c*3+1]
							d[c*9+ky*3+2] += src[c*3+2]
						}
					}
				}
			}
		}
	})
	for _, part := range parts {
		putBuf(part)
	}
}

// flipW3 writes the filters of the transposed convolution: w̃[c][o][ky][kx]
// = w[o][c][2−ky][2−kx], so that the input gradient of a 3×3 stride-1 conv
// is the same kind of conv applied to the output gradient.
func flipW3(dst, w []float32, cout, cin int) {
	for o := 0; o < cout; o++ {
		for c := 0; c < cin; c++ {
			src := w[(o*cin+c)*9:][:9]
			d := dst[(c*cout+o)*9:][:9]
			for i := 0; i < 9; i++ {
				d[i] = src[8-i]
			}
		}
	}
}
