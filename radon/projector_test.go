package radon

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/linop"
)

func randVec(n int, rng *rand.Rand) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func deg(d ...float64) []float64 { return Radians(d) }

// adjointCases covers single angles on and off the axes and the diagonal,
// angles past 90°, beyond 180° and negative, images down to 1×1,
// odd/even/small detectors and spacings below, at and above the pixel size.
func adjointCases() []Geometry {
	var gs []Geometry
	angleSets := [][]float64{
		deg(0), deg(45), deg(90), deg(30), deg(135), deg(200), deg(-70),
		deg(0, 45, 90, 135), deg(10, 100, 190, 280, -35, 400),
		EqualAngles(7),
	}
	for _, n := range []int{1, 2, 8, 17, 64} {
		for ai, as := range angleSets {
			if n == 64 && ai%3 != 0 {
				continue // the large size only for some sets, to keep the test fast
			}
			for _, nd := range []int{DefaultNDet(n), DefaultNDet(n) + 1, max(n/2, 1), 3} {
				for _, ds := range []float64{0.5, 1, 1.7} {
					g := NewGeometry(n, as)
					g.NDet, g.DetSpacing = nd, ds
					gs = append(gs, g)
				}
			}
		}
	}
	return append(gs, fanCases()...)
}

// fanCases are fan-beam geometries for the same suite: flat and arc
// detectors, the source close to the image (wide fans, rays near 45° to the
// central ray) and far, the detector at the rotation centre and beyond,
// offset rotation axes, angles over the full circle, and random draws.
func fanCases() []Geometry {
	var gs []Geometry
	for _, n := range []int{1, 2, 8, 17, 64} {
		for _, sd := range []float64{float64(n), 4 * float64(n)} {
			for _, dd := range []float64{0, 1.5 * float64(n)} {
				for _, det := range []Detector{Flat, Arc} {
					for _, as := range [][]float64{deg(0), deg(33, 90, 181, 275), FullAngles(9)} {
						g := NewFanGeometry(n, as, sd, dd)
						g.Detector = det
						g.NDet = g.CoveringNDet()
						gs = append(gs, g)
					}
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(11, 3))
	for range 20 {
		n := 1 + rng.IntN(40)
		na := 1 + rng.IntN(6)
		as := make([]float64, na)
		for i := range as {
			as[i] = (rng.Float64()*2 - 0.5) * 2 * math.Pi
		}
		g := NewFanGeometry(n, as, float64(n)*(0.75+3*rng.Float64()), float64(n)*2*rng.Float64())
		g.Detector = Detector(rng.IntN(2))
		g.NDet = 1 + rng.IntN(2*n+4)
		g.DetSpacing *= 0.5 + rng.Float64()
		g.CenterOffset = 4 * (rng.Float64() - 0.5)
		gs = append(gs, g)
	}
	return gs
}

func TestAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var worst float64
	defer func() { t.Logf("largest adjoint error %.2g", worst) }()
	for _, g := range adjointCases() {
		p := NewProjector(g)
		// Exact transpose evaluated in float32: the error is rounding,
		// ~1e-7; a transpose that is only approximately right gives 1e-3 or
		// more (linop's AdjointErrorDetectsWrongTranspose).
		e := linop.AdjointError(p, rng)
		worst = math.Max(worst, e)
		if !(e <= 1e-5) {
			t.Errorf("N=%d angles=%.1f° NDet=%d spacing=%g: adjoint error %.3g",
				g.N, Degrees(g.Angles), g.NDet, g.DetSpacing, e)
		}
	}
}

// TestTransposeAssembled compares the assembled matrices of A and Aᵀ entry by
// entry: the adjoint identity on random vectors could hide a small set of
// wrong entries, this cannot.
func TestTransposeAssembled(t *testing.T) {
	for _, g := range []Geometry{
		{N: 6, Angles: deg(0, 27, 45, 90, 117, 250), NDet: 9, DetSpacing: 1},
		{N: 5, Angles: deg(-10, 60, 135), NDet: 12, DetSpacing: 0.6},
		{N: 6, Angles: deg(0, 80, 200, 300), NDet: 11, DetSpacing: 1.3, Beam: Fan, SourceDistance: 7, DetectorDistance: 5},
		{N: 5, Angles: deg(45, 170, 330), NDet: 9, DetSpacing: 1.1, Beam: Fan, SourceDistance: 12, DetectorDistance: 0, Detector: Arc, CenterOffset: 0.7},
	} {
		p := NewProjector(g)
		a := linop.Assemble(p)
		m, n := p.Dims()
		e := make([]float32, m)
		col := make([]float32, n)
		for i := 0; i < m; i++ {
			e[i] = 1
			p.Adjoint(col, e)
			e[i] = 0
			for j := 0; j < n; j++ {
				// The weights are the same numbers; only the last rounding of
				// (1−f) differs between a + f(b−a) and val − val·f.
				if d := math.Abs(float64(col[j] - a.Data[i*n+j])); !(d <= 1e-6) {
					t.Fatalf("N=%d: A[%d,%d]=%g but (Aᵀ)[%d,%d]=%g", g.N, i, j, a.Data[i*n+j], j, i, col[j])
				}
			}
		}
	}
}

func TestBatchEqualsSingle(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, g := range []Geometry{NewGeometry(20, EqualAngles(9)), NewGeometry(13, deg(33))} {
		p := NewProjector(g)
		m, n := p.Dims()
		const k = 11 // more than one batch chunk
		x, y := randVec(k*n, rng), randVec(k*m, rng)
		bx, by := make([]float32, k*m), make([]float32, k*n)
		p.ApplyBatch(bx, x, k)
		p.AdjointBatch(by, y, k)
		sx, sy := make([]float32, m), make([]float32, n)
		for b := 0; b < k; b++ {
			p.Apply(sx, x[b*n:(b+1)*n])
			p.Adjoint(sy, y[b*m:(b+1)*m])
			for i := range sx {
				if sx[i] != bx[b*m+i] {
					t.Fatalf("ApplyBatch slice %d entry %d: %g, Apply gives %g", b, i, bx[b*m+i], sx[i])
				}
			}
			for i := range sy {
				if sy[i] != by[b*n+i] {
					t.Fatalf("AdjointBatch slice %d entry %d: %g, Adjoint gives %g", b, i, by[b*n+i], sy[i])
				}
			}
		}
	}
}

func TestThreadCountDoesNotChangeResult(t *testing.T) {
	defer par.SetThreads(par.Threads())
	rng := rand.New(rand.NewPCG(3, 3))
	p := NewProjector(NewGeometry(33, EqualAngles(17)))
	m, n := p.Dims()
	x, y := randVec(n, rng), randVec(m, rng)
	var ref [2][]float32
	for _, th := range []int{1, 2, 3, 5} {
		par.SetThreads(th)
		ax, aty := make([]float32, m), make([]float32, n)
		p.Apply(ax, x)
		p.Adjoint(aty, y)
		if ref[0] == nil {
			ref = [2][]float32{ax, aty}
			continue
		}
		for i := range ax {
			if ax[i] != ref[0][i] {
				t.Fatalf("threads=%d: Apply differs at %d", th, i)
			}
		}
		for i := range aty {
			if aty[i] != ref[1][i] {
				t.Fatalf("threads=%d: Adjoint differs at %d", th, i)
			}
		}
	}
}

// TestSinglePixel checks A against exact intersection lengths. A Joseph
// projector is a line integral of the bilinear interpolant of the pixel
// values, so for a ray along a row (0°, 90°) through the centre of a lone
// unit pixel the integral is 1 and it falls off linearly to 0 one pixel away;
// at 45° the interpolation hat has 1/cos 45° = √2 at the centre.
func TestSinglePixel(t *testing.T) {
	const n = 9
	x := make([]float32, n*n)
	x[4*n+4] = 1 // the centre pixel, centre (0, 0)
	for _, c := range []struct {
		deg  float64
		s    float64 // ray offset
		want float64
	}{
		{0, 0, 1}, {0, 0.25, 0.75}, {0, -0.5, 0.5}, {0, 1, 0},
		{90, 0, 1}, {90, 0.3, 0.7}, {180, -0.25, 0.75}, {270, 0.5, 0.5},
		{45, 0, math.Sqrt2}, {45, 0.5 / math.Sqrt2, math.Sqrt2 / 2},
	} {
		// One bin, placed so its centre is at offset s.
		g := Geometry{N: n, Angles: deg(c.deg), NDet: 1, DetSpacing: 1}
		g.NDet, g.DetSpacing = 1, 1
		// Bin 0 of a one-bin detector is centred at 0; shift by using a
		// three-bin detector with spacing |s| when s ≠ 0.
		bin := 0
		if c.s != 0 {
			g.NDet, g.DetSpacing = 3, math.Abs(c.s)
			bin = 1 + int(math.Copysign(1, c.s))
		}
		p := NewProjector(g)
		out := make([]float32, g.SinoLen())
		p.Apply(out, x)
		if d := math.Abs(float64(out[bin]) - c.want); !(d <= 1e-5) {
			t.Errorf("θ=%g° s=%g: got %g, want %g", c.deg, c.s, out[bin], c.want)
		}
	}
}

func TestInvalidGeometry(t *testing.T) {
	good := NewGeometry(16, EqualAngles(4))
	for name, g := range map[string]Geometry{
		"N=0":         {N: 0, Angles: good.Angles, NDet: 5, DetSpacing: 1},
		"N<0":         {N: -3, Angles: good.Angles, NDet: 5, DetSpacing: 1},
		"NDet=0":      {N: 4, Angles: good.Angles, NDet: 0, DetSpacing: 1},
		"no angles":   {N: 4, NDet: 5, DetSpacing: 1},
		"NaN angle":   {N: 4, Angles: []float64{0, math.NaN()}, NDet: 5, DetSpacing: 1},
		"Inf angle":   {N: 4, Angles: []float64{math.Inf(1)}, NDet: 5, DetSpacing: 1},
		"spacing 0":   {N: 4, Angles: good.Angles, NDet: 5, DetSpacing: 0},
		"spacing NaN": {N: 4, Angles: good.Angles, NDet: 5, DetSpacing: math.NaN()},
	} {
		if err := g.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
		if _, err := NewProjectorChecked(g); err == nil {
			t.Errorf("%s: NewProjectorChecked accepted it", name)
		}
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid geometry refused: %v", err)
	}
}

func TestShapePanics(t *testing.T) {
	p := NewProjector(NewGeometry(8, EqualAngles(3)))
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !errors.Is(err, linop.ErrShape) {
			t.Fatalf("wrong-length Apply: recovered %v, want linop.ErrShape", r)
		}
	}()
	p.Apply(make([]float32, 5), make([]float32, 64))
}

func TestSubset(t *testing.T) {
	g := NewGeometry(12, EqualAngles(10))
	s := g.Subset([]int{7, 2})
	if len(s.Angles) != 2 || s.Angles[0] != g.Angles[7] || s.Angles[1] != g.Angles[2] {
		t.Fatalf("Subset angles %v", s.Angles)
	}
	s.Angles[0] = 99
	if g.Angles[7] == 99 {
		t.Fatal("Subset shares its angles with the parent")
	}
	// The subset's sinogram is the parent's rows.
	rng := rand.New(rand.NewPCG(4, 4))
	x := randVec(g.ImageLen(), rng)
	full := make([]float32, g.SinoLen())
	NewProjector(g).Apply(full, x)
	sub := g.Subset([]int{7, 2})
	part := make([]float32, sub.SinoLen())
	NewProjector(sub).Apply(part, x)
	for r, a := range []int{7, 2} {
		for k := 0; k < g.NDet; k++ {
			if part[r*g.NDet+k] != full[a*g.NDet+k] {
				t.Fatalf("subset row %d bin %d differs", r, k)
			}
		}
	}
}

func BenchmarkForwardN128A60(b *testing.B)  { benchProj(b, 128, 60, true) }
func BenchmarkForwardN256A180(b *testing.B) { benchProj(b, 256, 180, true) }
func BenchmarkForwardN512A180(b *testing.B) { benchProj(b, 512, 180, true) }
func BenchmarkBackN128A60(b *testing.B)     { benchProj(b, 128, 60, false) }
func BenchmarkBackN256A180(b *testing.B)    { benchProj(b, 256, 180, false) }
func BenchmarkBackN512A180(b *testing.B)    { benchProj(b, 512, 180, false) }

// Fan beam at the same sizes (source 2N from the centre, detector N beyond:
// a 41° fan), for the ratio to parallel beam.
func BenchmarkFanForwardN128A60(b *testing.B)  { benchFan(b, 128, 60, true) }
func BenchmarkFanForwardN256A180(b *testing.B) { benchFan(b, 256, 180, true) }
func BenchmarkFanForwardN512A180(b *testing.B) { benchFan(b, 512, 180, true) }
func BenchmarkFanBackN128A60(b *testing.B)     { benchFan(b, 128, 60, false) }
func BenchmarkFanBackN256A180(b *testing.B)    { benchFan(b, 256, 180, false) }
func BenchmarkFanBackN512A180(b *testing.B)    { benchFan(b, 512, 180, false) }

func benchFan(b *testing.B, n, na int, fwd bool) {
	g := NewFanGeometry(n, FullAngles(na), 2*float64(n), float64(n))
	benchGeometry(b, g, fwd)
}

func benchProj(b *testing.B, n, na int, fwd bool) {
	benchGeometry(b, NewGeometry(n, EqualAngles(na)), fwd)
}

func benchGeometry(b *testing.B, g Geometry, fwd bool) {
	BenchThreads(b)
	p := NewProjector(g)
	m, nn := p.Dims()
	rng := rand.New(rand.NewPCG(5, 5))
	x, y := randVec(nn, rng), randVec(m, rng)
	ox, oy := make([]float32, m), make([]float32, nn)
	for b.Loop() {
		if fwd {
			p.Apply(ox, x)
		} else {
			p.Adjoint(oy, y)
		}
	}
}

// BenchmarkSingleAngleN128 is what experimental design pays per candidate
// angle: make the projector of one angle, project and back-project.
func BenchmarkSingleAngleN128(b *testing.B) {
	BenchThreads(b)
	g := NewGeometry(128, EqualAngles(200))
	rng := rand.New(rand.NewPCG(6, 6))
	x, y := randVec(g.ImageLen(), rng), randVec(g.NDet, rng)
	ox, oy := make([]float32, g.NDet), make([]float32, g.ImageLen())
	i := 0
	for b.Loop() {
		p := NewProjector(g.Subset([]int{i % 200}))
		p.Apply(ox, x)
		p.Adjoint(oy, y)
		i++
	}
}

// TestConcurrentUse backs the claim that one Projector may serve several
// goroutines (run with -race to check for data races too).
func TestConcurrentUse(t *testing.T) {
	p := NewProjector(NewGeometry(24, EqualAngles(11)))
	m, n := p.Dims()
	rng := rand.New(rand.NewPCG(7, 7))
	x, y := randVec(n, rng), randVec(m, rng)
	wantAx, wantAty := make([]float32, m), make([]float32, n)
	p.Apply(wantAx, x)
	p.Adjoint(wantAty, y)
	errs := make(chan string, 8)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ax, aty := make([]float32, m), make([]float32, n)
			for it := 0; it < 20; it++ {
				p.Apply(ax, x)
				p.Adjoint(aty, y)
				if !slices.Equal(ax, wantAx) || !slices.Equal(aty, wantAty) {
					errs <- "concurrent call gave a different result"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// TestConventions pins DESIGN.md §2 with an off-centre pixel: pixel (1, 6)
// of a 9×9 image has centre x = 6 + 0.5 − 4.5 = 2, y = 4.5 − 1 − 0.5 = 3,
// and the ray x cos θ + y sin θ = s through it hits bin
// k = s/spacing + NDet/2 − 0.5 (NDet = 15): s = x at 0°, y at 90°, −x at
// 180°, −y at 270°. A flipped axis or a transposed image moves the peak.
func TestConventions(t *testing.T) {
	const n = 9
	x := make([]float32, n*n)
	x[1*n+6] = 1
	for _, c := range []struct {
		deg  float64
		s    float64
		want int
	}{{0, 2, 9}, {90, 3, 10}, {180, -2, 5}, {270, -3, 4}} {
		g := NewGeometry(n, deg(c.deg))
		out := make([]float32, g.SinoLen())
		NewProjector(g).Apply(out, x)
		best := 0
		for k := range out {
			if out[k] > out[best] {
				best = k
			}
		}
		if best != c.want || !(math.Abs(float64(out[best])-1) <= 1e-5) {
			t.Errorf("θ=%g°: peak %g at bin %d, want 1 at bin %d (s=%g)", c.deg, out[best], best, c.want, c.s)
		}
	}
}
