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
