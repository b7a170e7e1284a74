package radon

import (
	"fmt"
	"math"
	"sync"

	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/linop"
)

// Projector is the discrete ray transform A of a Geometry: Joseph's method
// (linear interpolation between the two pixel centres a ray passes between on
// each pixel row, or column for rays closer to horizontal, times the ray
// length per row). Apply is A, Adjoint is its exact transpose Aᵀ.
//
// Both directions run the same traversal (Projector.ray and tap): for each
// ray, the rows it meets and, on each row, the pixel pair and interpolation
// weight. Apply gathers image values along the ray with those weights (the
// forward policy), Adjoint scatters the ray's value into the image with the
// same weights (the backward policy). The two differ only in float32
// summation order, so ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ to float32 rounding.
//
// A Projector holds O(len(Angles)·NDet) numbers (where each ray starts and
// which rows it meets) and no image-sized state; making one per candidate
// angle is cheap (tens of microseconds at N = 128). Its methods are safe for concurrent use. Results do not
// depend on the thread count.
type Projector struct {
	g      Geometry
	anyRow bool      // some ray traverses image rows
	anyCol bool      // some ray traverses image columns (the transposed image)
	stride int       // padded row length of the working images
	rays   []rayInfo // [angle][bin]: each ray's traversal
	pool   sync.Pool
}

// rayInfo is one ray's traversal, computed once from Geometry.Ray: its row-0
// position and step per row in fixed point, the rows it meets, its length
// per row, and which working image it runs over. Parallel and fan beam
// differ only in these numbers: in parallel beam all rays of an angle share
// g, w and col.
type rayInfo struct {
	q, g   fixed
	r0, r1 int32
	w      float32
	col    bool
}

// fixed is a position in columns with 32 fractional bits. The traversal
// steps in fixed point: position q + r·g is exact integer arithmetic, so
// it is the same number whichever row a worker starts from, and the weights
// come out of an add, a shift and a mask. Resolution 2⁻³² column; the step
// g is rounded to it, which moves a ray by under 1e-7 column over 512 rows.
type fixed int64

const fixedOne = 1 << 32

func toFixed(x float64) fixed { return fixed(math.Round(x * fixedOne)) }

// pad is the number of zero columns on each side of a working-image row.
// The traversal may step up to one row past the ray's true extent, which puts
// the interpolation position up to one column outside (−1, N); three columns
// keep every access inside the row, reading zeros, with the position
// positive.
const pad = 3

// rayLine places one ray, the line x cos φ + y sin φ = t, in the coordinates
// of its working image (the image itself, or its transpose for rays nearer
// horizontal): on working row r it passes through the padded column position
// q + r·g; the pixels either side get weights (1−f)·w and f·w.
type rayLine struct {
	col bool    // traverse the transposed image (|sin φ| > |cos φ|)
	q   float64 // padded column at working row 0
	g   float64 // change per working row
	w   float32 // ray length per row step, 1/max(|cos φ|, |sin φ|)
}

// placeRay returns the working-image description of the line
// x cos φ + y sin φ = t in an n×n image.
func placeRay(n int, phi, t float64) rayLine {
	h := float64(n)/2 - 0.5 // centre of the pixel index range
	c, s := math.Cos(phi), math.Sin(phi)
	if math.Abs(c) >= math.Abs(s) {
		// Row i (y = h − i): x = (t − y sin φ)/cos φ, column j = x + h.
		return rayLine{q: (t-h*s)/c + h + pad, g: s / c, w: float32(1 / math.Abs(c))}
	}
	// Column j (x = j − h): y = (t − x cos φ)/sin φ, row i = h − y.
	return rayLine{col: true, q: h - t/s - h*c/s + pad, g: c / s, w: float32(1 / math.Abs(s))}
}

var (
	_ linop.Operator      = (*Projector)(nil)
	_ linop.BatchOperator = (*Projector)(nil)
)

// NewProjector returns the ray transform of g. An invalid geometry is a
// programmer mistake here and panics; code that takes a geometry from a user
// or a file calls NewProjectorChecked (or g.Validate) instead.
func NewProjector(g Geometry) *Projector {
	p, err := NewProjectorChecked(g)
	if err != nil {
		panic(err)
	}
	return p
}

// NewProjectorChecked returns the ray transform of g, or g.Validate's error.
// It costs O(len(g.Angles)·NDet) and keeps its own copy of the angles.
func NewProjectorChecked(g Geometry) (*Projector, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	g.Angles = append([]float64(nil), g.Angles...)
	p := &Projector{g: g, stride: g.N + 2*pad}
	p.rays = make([]rayInfo, len(g.Angles)*g.NDet)
	for a := range g.Angles {
		for k := 0; k < g.NDet; k++ {
			phi, t := g.Ray(a, k)
			rl := placeRay(g.N, phi, t)
			r0, r1 := p.rowRange(rl)
			p.rays[a*g.NDet+k] = rayInfo{q: toFixed(rl.q), g: toFixed(rl.g), r0: int32(r0), r1: int32(r1), w: rl.w, col: rl.col}
			if r0 < r1 {
				p.anyCol = p.anyCol || rl.col
				p.anyRow = p.anyRow || !rl.col
			}
		}
	}
	return p, nil
}

// Geometry returns the projector's geometry (a copy that shares no memory).
func (p *Projector) Geometry() Geometry {
	g := p.g
	g.Angles = append([]float64(nil), p.g.Angles...)
	return g
}

// Dims returns (len(Angles)·NDet, N²).
func (p *Projector) Dims() (m, n int) { return p.g.SinoLen(), p.g.ImageLen() }

// rowRange returns the working rows [r0, r1) the traversal of rl visits. The
// rows where its position lies in (pad−1, pad+N), that is where some pixel
// weight is nonzero, are all included; one more row on either side may be,
// with zero weight (it reads the zero padding).
func (p *Projector) rowRange(rl rayLine) (r0, r1 int) {
	n := p.g.N
	q := rl.q
	lo, hi := float64(pad-1), float64(pad+n)
	if rl.g == 0 {
		if q > lo && q < hi {
			return 0, n
		}
		return 0, 0
	}
	a, b := (lo-q)/rl.g, (hi-q)/rl.g
	if a > b {
		a, b = b, a
	}
	a = math.Max(a, -1)
	b = math.Min(b, float64(n))
	if a >= b {
		return 0, 0
	}
	r0, r1 = int(math.Floor(a)), int(math.Ceil(b))+1
	return max(r0, 0), min(r1, n)
}

// tap returns the left pixel column j and the interpolation weight f at the
// fixed-point position x: the ray passes pixels j and j+1 with weights 1−f
// and f. Both policies call it, so their weights are the same numbers.
func tap(x fixed) (j int, f float32) {
	return int(x >> 32), float32(x&(fixedOne-1)) * (1.0 / fixedOne)
}

// gather is the forward policy: the interpolated sum of w along one ray
// (row-0 position q, step g per row) over working rows [r0, r1). Two
// partial sums halve the floating-point add chain.
func gather(w []float32, stride int, q, g fixed, r0, r1 int) float32 {
	var s0, s1 float32
	x := q + fixed(r0)*g
	o := r0 * stride
	r := r0
	for ; r+1 < r1; r += 2 {
		j, f := tap(x)
		v := w[o+j : o+j+2 : o+j+2]
		s0 += v[0] + f*(v[1]-v[0])
		j, f = tap(x + g)
		v = w[o+stride+j : o+stride+j+2 : o+stride+j+2]
		s1 += v[0] + f*(v[1]-v[0])
		x += 2 * g
		o += 2 * stride
	}
	if r < r1 {
		j, f := tap(x)
		v := w[o+j : o+j+2 : o+j+2]
		s0 += v[0] + f*(v[1]-v[0])
	}
	return s0 + s1
}

// scatter is the backward policy: it adds val times each weight of one ray
// into the working image over working rows [r0, r1).
func scatter(w []float32, stride int, q, g fixed, r0, r1 int, val float32) {
	x := q + fixed(r0)*g
	for o, end := r0*stride, r1*stride; o < end; o += stride {
		j, f := tap(x)
		v := w[o+j : o+j+2 : o+j+2]
		t := val * f
		v[0] += val - t
		v[1] += t
		x += g
	}
}

// scratch holds the padded working images of one call: the image (rows) and
// its transpose (cols), each N rows of stride values, for nb slices.
type scratch struct {
	rows, cols []float32
}

func (p *Projector) getScratch(nb int) *scratch {
	sz := nb * p.g.N * p.stride
	sc, _ := p.pool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if p.anyRow && len(sc.rows) < sz {
		sc.rows = make([]float32, sz)
	}
	if p.anyCol && len(sc.cols) < sz {
		sc.cols = make([]float32, sz)
	}
	return sc
}

// batchChunk is how many slices share one set of working images.
const batchChunk = 8

// Apply sets dst = A x for one N×N image x.
func (p *Projector) Apply(dst, x []float32) {
	linop.CheckDims(p, dst, x, true)
	p.ApplyBatch(dst, x, 1)
}

// Adjoint sets dst = Aᵀ y for one sinogram y.
func (p *Projector) Adjoint(dst, y []float32) {
	linop.CheckDims(p, dst, y, false)
	p.AdjointBatch(dst, y, 1)
}

// ApplyBatch sets dst[b] = A x[b] for k images stored back to back. Each
// result equals Apply's bit for bit.
func (p *Projector) ApplyBatch(dst, x []float32, k int) {
	m, n := p.Dims()
	checkBatch("ApplyBatch", dst, x, k*m, k*n)
	sc := p.getScratch(min(k, batchChunk))
	defer p.pool.Put(sc)
	for b0 := 0; b0 < k; b0 += batchChunk {
		nb := min(batchChunk, k-b0)
		p.loadWorking(sc, x[b0*n:(b0+nb)*n], nb)
		p.forward(dst[b0*m:(b0+nb)*m], sc, nb)
	}
}

// AdjointBatch sets dst[b] = Aᵀ y[b] for k sinograms stored back to back.
// Each result equals Adjoint's bit for bit.
func (p *Projector) AdjointBatch(dst, y []float32, k int) {
	m, n := p.Dims()
	checkBatch("AdjointBatch", dst, y, k*n, k*m)
	sc := p.getScratch(min(k, batchChunk))
	defer p.pool.Put(sc)
	for b0 := 0; b0 < k; b0 += batchChunk {
		nb := min(batchChunk, k-b0)
		p.backward(sc, y[b0*m:(b0+nb)*m], nb)
		p.storeWorking(dst[b0*n:(b0+nb)*n], sc, nb)
	}
}

func checkBatch(what string, dst, src []float32, wantDst, wantSrc int) {
	if len(dst) != wantDst || len(src) != wantSrc {
		panic(fmt.Errorf("%w: radon.%s: dst has length %d, want %d; input has length %d, want %d",
			linop.ErrShape, what, len(dst), wantDst, len(src), wantSrc))
	}
}

// loadWorking copies nb images into the padded working images (and their
// transposes when some angle needs them). The padding columns are zero.
func (p *Projector) loadWorking(sc *scratch, x []float32, nb int) {
	n, st := p.g.N, p.stride
	par.ForGrain(nb*n, 16, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			b, i := t/n, t%n
			img := x[b*n*n : (b+1)*n*n]
			if p.anyRow {
				row := sc.rows[(b*n+i)*st : (b*n+i+1)*st]
				clear(row[:pad])
				copy(row[pad:pad+n], img[i*n:(i+1)*n])
				clear(row[pad+n:])
			}
			if p.anyCol {
				// Working row i of the transpose is image column i.
				row := sc.cols[(b*n+i)*st : (b*n+i+1)*st]
				clear(row[:pad])
				for r := 0; r < n; r++ {
					row[pad+r] = img[r*n+i]
				}
				clear(row[pad+n:])
			}
		}
	})
}

// storeWorking sums the two backward accumulators of nb slices into dst.
func (p *Projector) storeWorking(dst []float32, sc *scratch, nb int) {
	n, st := p.g.N, p.stride
	par.ForGrain(nb*n, 16, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			b, i := t/n, t%n
			out := dst[(b*n+i)*n : (b*n+i+1)*n]
			if p.anyRow {
				copy(out, sc.rows[(b*n+i)*st+pad:])
			} else {
				clear(out)
			}
			if p.anyCol {
				cols := sc.cols[b*n*st : (b+1)*n*st]
				for j := range out {
					out[j] += cols[j*st+pad+i]
				}
			}
		}
	})
}

// forward computes the sinograms of the nb slices loaded in sc. Every ray is
// independent, so the work is split over (slice, angle, bin) triples.
func (p *Projector) forward(dst []float32, sc *scratch, nb int) {
	n, st, nd := p.g.N, p.stride, p.g.NDet
	na := len(p.g.Angles)
	par.ForGrain(nb*na*nd, 64, func(lo, hi int) {
		for t := lo; t < hi; {
			b, a, k := t/(na*nd), (t/nd)%na, t%nd
			var rows, cols []float32
			if p.anyRow {
				rows = sc.rows[b*n*st : (b+1)*n*st]
			}
			if p.anyCol {
				cols = sc.cols[b*n*st : (b+1)*n*st]
			}
			out := dst[(b*na+a)*nd : (b*na+a+1)*nd]
			kEnd := min(nd, k+hi-t)
			rays := p.rays[a*nd : (a+1)*nd]
			for ; k < kEnd; k++ {
				ri := &rays[k]
				if ri.r0 >= ri.r1 {
					out[k] = 0
					continue
				}
				w := rows
				if ri.col {
					w = cols
				}
				out[k] = gather(w, st, ri.q, ri.g, int(ri.r0), int(ri.r1)) * ri.w
			}
			t += kEnd - (t % nd)
		}
	})
}

// backward accumulates Aᵀy for nb sinograms into the working images of sc.
// Work is split over (slice, block of working rows): each worker traverses
// every ray but writes only its own rows, so there are no races, and each
// pixel receives its contributions in the same order (angles, then bins)
// whatever the split, so the result does not depend on the thread count.
func (p *Projector) backward(sc *scratch, y []float32, nb int) {
	n, st, nd := p.g.N, p.stride, p.g.NDet
	na := len(p.g.Angles)
	// Every block reads all of the ray table, so use as few blocks as keep
	// the threads busy: one per thread in all. Each working row meets about
	// the same number of rays, so equal row blocks balance.
	nBlocks := min(n, max(1, (par.Threads()+nb-1)/nb))
	par.For(nb*nBlocks, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			b, blk := t/nBlocks, t%nBlocks
			lr, hr := blk*n/nBlocks, (blk+1)*n/nBlocks
			var rows, cols []float32
			if p.anyRow {
				rows = sc.rows[b*n*st : (b+1)*n*st]
				clear(rows[lr*st : hr*st])
			}
			if p.anyCol {
				cols = sc.cols[b*n*st : (b+1)*n*st]
				clear(cols[lr*st : hr*st])
			}
			sino := y[b*na*nd : (b+1)*na*nd]
			for a := 0; a < na; a++ {
				in := sino[a*nd : (a+1)*nd]
				rays := p.rays[a*nd : (a+1)*nd]
				for k, v := range in {
					ri := &rays[k]
					r0, r1 := max(int(ri.r0), lr), min(int(ri.r1), hr)
					if r0 < r1 && v != 0 {
						w := rows
						if ri.col {
							w = cols
						}
						scatter(w, st, ri.q, ri.g, r0, r1, v*ri.w)
					}
				}
			}
		}
	})
}
