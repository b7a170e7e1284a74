package radon

// RayTable is a Projector's traversal as plain arrays, for backends that
// run Joseph's method elsewhere (the GPU kernels of package cuda). Ray
// (a, k) is index a·NDet + k. On working row r the ray's position is the
// fixed-point column X = Q + r·G (32 fractional bits, columns padded by Pad
// on the left); it meets working rows [R0, R1) and passes pixel columns
// X>>32 and X>>32 + 1 with weights (1−f)·W and f·W, f the fraction of X.
// The working image is the image itself, or its transpose where Col is 1
// (rays nearer horizontal; working row r is then image column r).
//
// Runs split each angle's bins into maximal stretches of equal Col: within
// a run, X on any one working row is monotonic in k (parallel rays never
// cross; a fan's rays cross only at the source, outside the image), which
// is what lets a pixel find the rays that meet it by bisection instead of
// by scattering (adjointGather).
type RayTable struct {
	N, NDet, NAngles int
	Pad              int // zero columns left of the image in working coordinates
	Q, G             []int64
	R0, R1           []int32
	W                []float32
	Col              []uint8
	// The runs of angle a are RunLo/RunHi/RunCol[RunOff[a]:RunOff[a+1]]:
	// bins [RunLo, RunHi), all with Col == RunCol.
	RunOff       []int32
	RunLo, RunHi []int32
	RunCol       []uint8
}

// RayTable returns the projector's traversal (fresh arrays).
func (p *Projector) RayTable() RayTable {
	nr := len(p.rays)
	t := RayTable{N: p.g.N, NDet: p.g.NDet, NAngles: len(p.g.Angles), Pad: pad,
		Q: make([]int64, nr), G: make([]int64, nr), R0: make([]int32, nr), R1: make([]int32, nr),
		W: make([]float32, nr), Col: make([]uint8, nr), RunOff: make([]int32, 1, len(p.g.Angles)+1)}
	for i, ri := range p.rays {
		t.Q[i], t.G[i], t.R0[i], t.R1[i], t.W[i] = int64(ri.q), int64(ri.g), ri.r0, ri.r1, ri.w
		if ri.col {
			t.Col[i] = 1
		}
	}
	for a := 0; a < t.NAngles; a++ {
		for k := 0; k < t.NDet; {
			c := t.Col[a*t.NDet+k]
			e := k + 1
			for e < t.NDet && t.Col[a*t.NDet+e] == c {
				e++
			}
			t.RunLo, t.RunHi, t.RunCol = append(t.RunLo, int32(k)), append(t.RunHi, int32(e)), append(t.RunCol, c)
			k = e
		}
		t.RunOff = append(t.RunOff, int32(len(t.RunLo)))
	}
	return t
}

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
