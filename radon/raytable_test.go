package radon

import (
	"math/rand/v2"
	"testing"
)

// TestAdjointGatherEqualsScatter: the pixel-driven back-projection (the GPU
// kernel's formulation; and applyRays, the forward kernel's) equals the scatter Adjoint bit for bit on every
// geometry of the adjoint suite, parallel and fan (same terms, same order),
// and on unit sinograms entry by entry.
func TestAdjointGatherEqualsScatter(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for ci, g := range adjointCases() {
		p := NewProjector(g)
		tab := p.RayTable()
		m, n := p.Dims()
		y := randVec(m, rng)
		want, got := make([]float32, n), make([]float32, n)
		p.Adjoint(want, y)
		tab.adjointGather(got, y)
		x := randVec(n, rng)
		fw, fg := make([]float32, m), make([]float32, m)
		p.Apply(fw, x)
		tab.applyRays(fg, x)
		for i := range fw {
			if fg[i] != fw[i] {
				t.Fatalf("case %d (%v, N=%d): ray %d: applyRays %g, Apply %g", ci, g.Beam, g.N, i, fg[i], fw[i])
			}
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("case %d (%v, N=%d, NDet=%d, %d angles): pixel %d: gather %g, scatter %g", ci, g.Beam, g.N, g.NDet, len(g.Angles), i, got[i], want[i])
			}
		}
	}
	for _, g := range []Geometry{
		{N: 6, Angles: deg(0, 27, 45, 90, 117, 250), NDet: 9, DetSpacing: 1},
		{N: 5, Angles: deg(-10, 60, 135), NDet: 12, DetSpacing: 0.6},
		{N: 7, Angles: deg(0, 90, 180), NDet: 7, DetSpacing: 1},
		{N: 6, Angles: deg(0, 80, 200, 300), NDet: 11, DetSpacing: 1.3, Beam: Fan, SourceDistance: 7, DetectorDistance: 5},
		{N: 5, Angles: deg(45, 170, 330), NDet: 9, DetSpacing: 1.1, Beam: Fan, SourceDistance: 12, DetectorDistance: 0, Detector: Arc, CenterOffset: 0.7},
	} {
		p := NewProjector(g)
		tab := p.RayTable()
		m, n := p.Dims()
		e := make([]float32, m)
		want, got := make([]float32, n), make([]float32, n)
		for i := 0; i < m; i++ {
			e[i] = 1
			p.Adjoint(want, e)
			tab.adjointGather(got, e)
			e[i] = 0
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("%v N=%d: ray %d, pixel %d: gather %g, scatter %g", g.Beam, g.N, i, j, got[j], want[j])
				}
			}
		}
	}
}

// TestRayTableRuns: runs cover each angle's bins in order with one Col
// each, and X is monotonic in k within a run on every working row the
// run's rays meet (what the bisection assumes).
func TestRayTableRuns(t *testing.T) {
	for ci, g := range adjointCases() {
		tab := NewProjector(g).RayTable()
		for a := 0; a < tab.NAngles; a++ {
			next := int32(0)
			for u := tab.RunOff[a]; u < tab.RunOff[a+1]; u++ {
				if tab.RunLo[u] != next || tab.RunHi[u] <= tab.RunLo[u] {
					t.Fatalf("case %d angle %d: run %d is [%d, %d), want it to start at %d", ci, a, u, tab.RunLo[u], tab.RunHi[u], next)
				}
				for k := tab.RunLo[u]; k < tab.RunHi[u]; k++ {
					if tab.Col[a*tab.NDet+int(k)] != tab.RunCol[u] {
						t.Fatalf("case %d angle %d bin %d: Col differs from its run's", ci, a, k)
					}
				}
				for r := 0; r < tab.N; r++ {
					var sgn int
					for k := int(tab.RunLo[u]) + 1; k < int(tab.RunHi[u]); k++ {
						i := a*tab.NDet + k
						d := (tab.Q[i] + int64(r)*tab.G[i]) - (tab.Q[i-1] + int64(r)*tab.G[i-1])
						s := 0
						if d > 0 {
							s = 1
						} else if d < 0 {
							s = -1
						}
						if s != 0 && sgn != 0 && s != sgn {
							t.Fatalf("case %d angle %d row %d: X not monotonic at bin %d", ci, a, r, k)
						}
						if s != 0 {
							sgn = s
						}
					}
				}
				next = tab.RunHi[u]
			}
			if next != int32(tab.NDet) {
				t.Fatalf("case %d angle %d: runs end at %d of %d bins", ci, a, next, tab.NDet)
			}
		}
	}
}

// TestFBPRowsEqualFBP: the GPU FBP's formulation (positions tabulated on
// the host, one pixel at a time, angles in pairs) equals FBP bit for bit,
// with an odd and an even number of angles and an axis offset.
func TestFBPRowsEqualFBP(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, g := range []Geometry{NewGeometry(37, EqualAngles(23)), NewGeometry(20, deg(3, 50, 91, 170))} {
		g.CenterOffset = 0.3
		y := randVec(g.SinoLen(), rng)
		want, got := make([]float32, g.ImageLen()), make([]float32, g.ImageLen())
		if err := FBP(want, y, g, FBPSettings{Filter: Hann}); err != nil {
			t.Fatal(err)
		}
		fbpRows(y, g, Hann, 1).backprojectRows(got)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("N=%d, %d angles: pixel %d: %g, FBP %g", g.N, len(g.Angles), i, got[i], want[i])
			}
		}
	}
}
