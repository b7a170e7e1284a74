package radon

// The CPU references of the GPU kernels (package cuda writes them line by
// line from these): test code, since only the tests run them; the
// projector and FBP themselves use the faster traversals.

// adjointGather is Aᵀy computed pixel by pixel: each pixel finds, per
// angle and run, the rays whose interpolation pair contains it (bisection
// on the monotonic positions) and sums their weighted values. It uses the
// same weights as Adjoint's scatter (val − val·f left, val·f right) and adds
// each pixel's terms in the same order (angles, then bins; the row-traversed
// rays' sum plus the column-traversed ones'), so the two are equal bit for
// bit. It is the CPU reference of the GPU
// back-projection kernel, which is written from it line by line; Adjoint
// is faster on a CPU.
func (t *RayTable) adjointGather(dst, y []float32) {
	n := t.N
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			// Row-traversed rays see pixel (i, j) on working row i at padded
			// column j+Pad; column-traversed rays on working row j at i+Pad.
			var sRow, sCol float32
			for a := 0; a < t.NAngles; a++ {
				for u := t.RunOff[a]; u < t.RunOff[a+1]; u++ {
					if t.RunCol[u] == 0 {
						t.pixelRun(&sRow, y, a, int(t.RunLo[u]), int(t.RunHi[u]), i, j+t.Pad)
					} else {
						t.pixelRun(&sCol, y, a, int(t.RunLo[u]), int(t.RunHi[u]), j, i+t.Pad)
					}
				}
			}
			dst[i*n+j] = sRow + sCol
		}
	}
}

// pixelRun adds to *s the contributions of bins [k0, k1) of angle a to the
// pixel at working row r, padded column c: the rays with X>>32 == c
// (weight 1−f) or c−1 (weight f). They are added one by one in increasing
// k, as the scatter adds them, so the sums are the same float32 numbers.
func (t *RayTable) pixelRun(s *float32, y []float32, a, k0, k1, r, c int) {
	base := a * t.NDet
	x := func(k int) int64 { return t.Q[base+k] + int64(r)*t.G[base+k] }
	lo, hi := int64(c-1)<<32, int64(c+1)<<32 // X in [lo, hi) touches the pixel
	inc := x(k1-1) >= x(k0)
	// First k (in the run's order along X) with X ≥ lo, or X < hi when X
	// falls with k.
	a0, b0 := k0, k1
	for a0 < b0 {
		m := int(uint(a0+b0) >> 1)
		if (inc && x(m) < lo) || (!inc && x(m) >= hi) {
			a0 = m + 1
		} else {
			b0 = m
		}
	}
	for k := a0; k < k1; k++ {
		xk := x(k)
		if xk < lo || xk >= hi {
			break
		}
		// No test of r against [R0, R1): the rows a ray meets include every
		// row where X lies in (Pad−1, Pad+N) (rowRange), which X in [lo, hi)
		// implies for a pixel's c, up to X = (Pad−1)<<32 exactly, whose
		// weight f·W on column Pad is zero.
		i := base + k
		v := y[i]
		if v == 0 {
			continue
		}
		val := v * t.W[i]
		f := float32(xk&(fixedOne-1)) * (1.0 / fixedOne)
		tt := val * f
		if int(xk>>32) == c {
			*s += val - tt
		} else {
			*s += tt
		}
	}
}

// applyRays is A x computed ray by ray from the table, reading the image
// directly (zero outside it) instead of from padded working copies: the CPU
// reference of the GPU forward kernel. Like gather it keeps two partial
// sums over alternate rows, so it equals Apply bit for bit.
func (t *RayTable) applyRays(dst, x []float32) {
	n := t.N
	pixel := func(col bool, r, j int) float32 {
		if j < 0 || j >= n {
			return 0
		}
		if col { // working row r of the transpose is image column r
			return x[j*n+r]
		}
		return x[r*n+j]
	}
	for i := range dst {
		r0, r1, col := int(t.R0[i]), int(t.R1[i]), t.Col[i] == 1
		var s0, s1 float32
		xk := t.Q[i] + int64(r0)*t.G[i]
		for r := r0; r < r1; r++ {
			j := int(xk>>32) - t.Pad
			f := float32(xk&(fixedOne-1)) * (1.0 / fixedOne)
			v0, v1 := pixel(col, r, j), pixel(col, r, j+1)
			if (r-r0)&1 == 0 {
				s0 += v0 + f*(v1-v0)
			} else {
				s1 += v0 + f*(v1-v0)
			}
			xk += t.G[i]
		}
		dst[i] = (s0 + s1) * t.W[i]
	}
}

// backprojectRows is the CPU reference of the GPU FBP back-projection:
// pixel by pixel, angles in pairs ((v0 + f0(w0 − v0)) + (v1 + f1(w1 − v1))
// added to the sum, then a last single angle), which is backprojectInterp's
// order, so the two are equal bit for bit.
func (r *FBPRows) backprojectRows(dst []float32) {
	n := r.N
	interp := func(a int, u int64) float32 {
		k, f := tap(fixed(u))
		row := r.Q[a*r.Stride:]
		return row[k] + f*(row[k+1]-row[k])
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var acc float32
			a := 0
			for ; a+1 < r.NAngles; a += 2 {
				acc += interp(a, r.U0[a*n+i]+int64(j)*r.C[a]) + interp(a+1, r.U0[(a+1)*n+i]+int64(j)*r.C[a+1])
			}
			if a < r.NAngles {
				acc += interp(a, r.U0[a*n+i]+int64(j)*r.C[a])
			}
			dst[i*n+j] = acc
		}
	}
}
