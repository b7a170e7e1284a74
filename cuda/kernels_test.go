package cuda

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ctrecon/ctrecon/internal/fakecuda"
	"github.com/ctrecon/ctrecon/radon"
)

// TestKernelSourceParses checks the CUDA C of kernels.go with g++
// -fsyntax-only under stubs for the CUDA keywords, so that a typo is found
// here and not in a GPU session's few minutes (NVRTC compiles it there).
// Skips where g++ is missing.
func TestKernelSourceParses(t *testing.T) {
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++ to check the kernel source with")
	}
	f := filepath.Join(t.TempDir(), "joseph.cpp")
	if err := os.WriteFile(f, []byte(fakecuda.Stubs+KernelSource), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gxx, "-std=c++17", "-fsyntax-only", "-Wall", "-Werror", "-Wno-unused-function", f).CombinedOutput()
	if err != nil {
		t.Fatalf("the kernel source does not parse as C++:\n%s", out)
	}
}

// hostHarness runs the kernels on the CPU: it reads a ray table, images
// and sinograms (raw little-endian, in the order written by
// TestKernelsOnHost), launches joseph_forward and joseph_backward by
// looping over the grid as the GPU would, and writes both results.
const hostHarness = `
#include <cstdio>
// Runs one block of the transpose kernel with the barrier emulated.
static void transposeHost(const float* in, float* out, int n, unsigned bx, unsigned by, unsigned bz) {
    blockIdx.x = bx; blockIdx.y = by; blockIdx.z = bz;
    for (phase = 0; phase < 2; phase++)
        for (unsigned ty = 0; ty < 8; ty++)
            for (unsigned tx = 0; tx < 32; tx++) {
                threadIdx.x = tx; threadIdx.y = ty;
                transpose(in, out, n);
            }
    phase = 1;
}
#include <cstdint>
#include <vector>
template <class T> static void rd(FILE* f, std::vector<T>& v, size_t n) { v.resize(n); if (n && fread(v.data(), sizeof(T), n, f) != n) throw 1; }
int main(int argc, char** argv) {
    FILE* f = fopen(argv[1], "rb");
    int32_t h[7]; if (fread(h, 4, 7, f) != 7) return 2;
    int n = h[0], ndet = h[1], na = h[2], pad = h[3], nr = h[4], nruns = h[5], batch = h[6];
    std::vector<long long> q, g; std::vector<int> r0, r1, ro, rl, rh; std::vector<float> w, img, sino;
    std::vector<unsigned char> col, rc, rdir; std::vector<float> rhint;
    rd(f, q, nr); rd(f, g, nr); rd(f, r0, nr); rd(f, r1, nr); rd(f, w, nr); rd(f, col, nr);
    rd(f, ro, na + 1); rd(f, rl, nruns); rd(f, rh, nruns); rd(f, rc, nruns); rd(f, rhint, 4 * nruns); rd(f, rdir, nruns);
    rd(f, img, (size_t)batch * n * n); rd(f, sino, (size_t)batch * nr);
    fclose(f);
    std::vector<float> fwd((size_t)batch * nr, -1.0f), bwd((size_t)batch * n * n, -1.0f), imgT((size_t)batch * n * n, -1.0f);
    for (unsigned bz = 0; bz < (unsigned)batch; bz++)
        for (unsigned by = 0; by < (unsigned)(n + 31) / 32; by++)
            for (unsigned bx = 0; bx < (unsigned)(n + 31) / 32; bx++)
                transposeHost(img.data(), imgT.data(), n, bx, by, bz);
    // Blocks of 32×8 threads as the projector launches them; the sizes
    // below are not multiples of the block, so the edge checks are run.
    auto launch = [](unsigned nx, unsigned ny, unsigned nz, auto kernel) {
        blockDim.x = 32; blockDim.y = 8; blockDim.z = 1;
        for (unsigned bz = 0; bz < nz; bz++)
            for (unsigned by = 0; by < (ny + 7) / 8; by++)
                for (unsigned bx = 0; bx < (nx + 31) / 32; bx++)
                    for (unsigned ty = 0; ty < 8; ty++)
                        for (unsigned tx = 0; tx < 32; tx++) {
                            blockIdx.x = bx; blockIdx.y = by; blockIdx.z = bz;
                            threadIdx.x = tx; threadIdx.y = ty; threadIdx.z = 0;
                            kernel();
                        }
    };
    launch(ndet, na, batch, [&] {
        joseph_forward(img.data(), imgT.data(), fwd.data(), q.data(), g.data(), r0.data(), r1.data(), w.data(), col.data(), n, ndet, na, pad);
    });
    launch(n, n, (batch + SLICES - 1) / SLICES, [&] {
        joseph_backward(sino.data(), bwd.data(), q.data(), g.data(), w.data(), ro.data(), rl.data(), rh.data(), rc.data(), rhint.data(), rdir.data(), n, ndet, na, pad, batch);
    });
    // The pair-image forward (forwardPairs).
    std::vector<pair2> img2((size_t)batch * n * (n + 1)), imgT2((size_t)batch * n * (n + 1));
    std::vector<float> fwd2((size_t)batch * nr, -1.0f);
    launch(n + 1, n, batch, [&] { make_pairs(img.data(), img2.data(), n); });
    launch(n + 1, n, batch, [&] { make_pairs(imgT.data(), imgT2.data(), n); });
    launch(ndet, na, batch, [&] {
        joseph_forward_pairs(img2.data(), imgT2.data(), fwd2.data(), q.data(), g.data(), r0.data(), r1.data(), w.data(), col.data(), n, ndet, na, pad);
    });
    FILE* o = fopen(argv[2], "wb");
    fwrite(fwd.data(), 4, fwd.size(), o); fwrite(bwd.data(), 4, bwd.size(), o); fwrite(fwd2.data(), 4, fwd2.size(), o);
    fclose(o);
    return 0;
}
`

// TestKernelsOnHost compiles the kernels as host C++ (g++, no contraction
// into FMA, as --fmad=false on the GPU), runs them over the whole grid on
// a parallel and a fan geometry, and compares with radon's projector bit
// for bit. What it cannot check is CUDA itself (memory, launches); the
// indexing, the bisection and the arithmetic are the kernels' own.
func TestKernelsOnHost(t *testing.T) {
	bin := hostProgram(t, hostHarness)
	rng := rand.New(rand.NewPCG(14, 3))
	fan := radon.NewFanGeometry(37, radon.FullAngles(23), 60, 30)
	fan.Detector, fan.CenterOffset = radon.Arc, 0.4
	// A source close to the image: runs whose direction the kernel decides
	// per pixel (TestRunHints).
	close := radon.NewFanGeometry(37, radon.FullAngles(23), 26.5, 30)
	for i, g := range []radon.Geometry{radon.NewGeometry(41, radon.EqualAngles(19)), fan, radon.NewGeometry(41, radon.EqualAngles(19)), close} {
		p := radon.NewProjector(g)
		tab := p.RayTable()
		hint, dir := runHints(tab)
		if i == 2 { // hints are guesses: wrong ones may cost time, never change a result
			for k := range hint {
				hint[k] = float32(rng.NormFloat64() * 1e3)
			}
		}
		m, n := p.Dims()
		const batch = 11 // one full chunk of SLICES = 8 and a remainder
		x, y := randVec(batch*n, rng), randVec(batch*m, rng)
		for i := range y { // zero bins, which the CPU skips and the kernel adds
			if rng.IntN(3) == 0 {
				y[i] = 0
			}
		}
		res := runHost(t, bin, batch*(2*m+n),
			[]int32{int32(tab.N), int32(tab.NDet), int32(tab.NAngles), int32(tab.Pad), int32(m), int32(len(tab.RunLo)), batch},
			tab.Q, tab.G, tab.R0, tab.R1, tab.W, tab.Col, tab.RunOff, tab.RunLo, tab.RunHi, tab.RunCol, hint, dir, x, y)
		wantF, wantB := make([]float32, batch*m), make([]float32, batch*n)
		p.ApplyBatch(wantF, x, batch)
		p.AdjointBatch(wantB, y, batch)
		for i, v := range res[:batch*m] {
			if v != wantF[i] {
				t.Fatalf("%v: forward kernel, slice %d ray %d: %g, radon %g", g.Beam, i/m, i%m, v, wantF[i])
			}
		}
		for i, v := range res[batch*m : batch*(m+n)] {
			if v != wantB[i] {
				t.Fatalf("%v: backward kernel, slice %d pixel %d: %g, radon %g", g.Beam, i/n, i%n, v, wantB[i])
			}
		}
		for i, v := range res[batch*(m+n):] {
			if v != wantF[i] {
				t.Fatalf("%v: pair-image forward kernel, slice %d ray %d: %g, radon %g", g.Beam, i/m, i%m, v, wantF[i])
			}
		}
	}
}

// fbpHarness runs fbp_backproject over its grid on the host.
const fbpHarness = `
#include <cstdio>
#include <cstdint>
#include <vector>
int main(int argc, char** argv) {
    FILE* f = fopen(argv[1], "rb");
    int32_t h[3]; if (fread(h, 4, 3, f) != 3) return 2;
    int n = h[0], na = h[1], stride = h[2];
    std::vector<float> q((size_t)na * stride); std::vector<long long> u0((size_t)na * n), c(na);
    if (fread(q.data(), 4, q.size(), f) != q.size() || fread(u0.data(), 8, u0.size(), f) != u0.size() ||
        fread(c.data(), 8, c.size(), f) != c.size()) return 3;
    fclose(f);
    std::vector<float> img((size_t)n * n, -1.0f);
    blockDim.x = 128; blockIdx.y = 0;
    for (unsigned bx = 0; bx < (unsigned)(n * n + 127) / 128; bx++)
        for (unsigned tx = 0; tx < 128; tx++) {
            blockIdx.x = bx; threadIdx.x = tx;
            fbp_backproject(q.data(), img.data(), u0.data(), c.data(), n, na, stride);
        }
    FILE* o = fopen(argv[2], "wb");
    fwrite(img.data(), 4, img.size(), o);
    fclose(o);
    return 0;
}
`

// TestFBPKernelOnHost: fbp_backproject run on the host equals radon.FBP
// bit for bit (odd and even angle counts, an axis offset).
func TestFBPKernelOnHost(t *testing.T) {
	bin := hostProgram(t, fbpHarness)
	rng := rand.New(rand.NewPCG(14, 4))
	for _, g := range []radon.Geometry{radon.NewGeometry(45, radon.EqualAngles(31)), radon.NewGeometry(30, radon.EqualAngles(12))} {
		g.CenterOffset = -0.6
		y := randVec(g.SinoLen(), rng)
		s := radon.FBPSettings{Filter: radon.Hann, Cutoff: 0.7}
		r, err := radon.NewFBPRows(y, g, s)
		if err != nil {
			t.Fatal(err)
		}
		got := runHost(t, bin, g.ImageLen(), []int32{int32(r.N), int32(r.NAngles), int32(r.Stride)}, r.Q, r.U0, r.C)
		want := make([]float32, g.ImageLen())
		if err := radon.FBP(want, y, g, s); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("N=%d: pixel %d: kernel %g, FBP %g", g.N, i, got[i], want[i])
			}
		}
	}
}

// fanHarness runs fan_backproject over its grid on the host.
const fanHarness = `
#include <cstdio>
#include <cstdint>
#include <vector>
int main(int argc, char** argv) {
    FILE* f = fopen(argv[1], "rb");
    int32_t h[4]; if (fread(h, 4, 4, f) != 4) return 2;
    int n = h[0], na = h[1], stride = h[2], arc = h[3];
    double p[5]; if (fread(p, 8, 5, f) != 5) return 2;
    std::vector<float> q((size_t)na * stride); std::vector<double> dir(4 * (size_t)na);
    if (fread(q.data(), 4, q.size(), f) != q.size() || fread(dir.data(), 8, dir.size(), f) != dir.size()) return 3;
    fclose(f);
    std::vector<float> img((size_t)n * n, -1.0f);
    blockDim.x = 32; blockDim.y = 8;
    for (unsigned by = 0; by < (unsigned)(n + 7) / 8; by++)
        for (unsigned bx = 0; bx < (unsigned)(n + 31) / 32; bx++)
            for (unsigned ty = 0; ty < 8; ty++)
                for (unsigned tx = 0; tx < 32; tx++) {
                    blockIdx.x = bx; blockIdx.y = by; threadIdx.x = tx; threadIdx.y = ty;
                    fan_backproject(q.data(), img.data(), dir.data(), n, na, stride, p[0], p[1], p[2], p[3], p[4], arc);
                }
    FILE* o = fopen(argv[2], "wb");
    fwrite(img.data(), 4, img.size(), o);
    fclose(o);
    return 0;
}
`

// fanGeometries are a flat and an arc fan beam with an axis offset (full
// circle) and a short scan with Parker's weights.
func fanGeometries() []radon.Geometry {
	flat := radon.NewFanGeometry(45, radon.FullAngles(40), 90, 60)
	flat.CenterOffset = 0.4
	arc := radon.NewFanGeometry(38, radon.FullAngles(33), 70, 50)
	arc.Detector, arc.CenterOffset = radon.Arc, -0.3
	short := radon.NewFanGeometry(40, make([]float64, 50), 80, 40)
	for i := range short.Angles {
		short.Angles[i] = float64(i) * 4.2 / 49
	}
	return []radon.Geometry{flat, arc, short}
}

// TestFanFBPKernelOnHost: fan_backproject run on the host equals radon.FBP
// on fan beams: bit for bit on a flat detector; on an arc within 1e-6,
// since the host's atan2 (the C library's) and Go's may differ in the last
// bit.
func TestFanFBPKernelOnHost(t *testing.T) {
	bin := hostProgram(t, fanHarness)
	rng := rand.New(rand.NewPCG(14, 6))
	for _, g := range fanGeometries() {
		y := randVec(g.SinoLen(), rng)
		s := radon.FBPSettings{Filter: radon.Hann}
		r, err := radon.NewFanFBPRows(y, g, s)
		if err != nil {
			t.Fatal(err)
		}
		arc := int32(0)
		if r.Arc {
			arc = 1
		}
		got := runHost(t, bin, g.ImageLen(), []int32{int32(r.N), int32(r.NAngles), int32(r.Stride), arc},
			[]float64{r.SourceDistance, r.Spacing, r.Off, r.Up, r.Last}, r.Q, r.Dir)
		want := make([]float32, g.ImageLen())
		if err := radon.FBP(want, y, g, s); err != nil {
			t.Fatal(err)
		}
		same := 0
		for i := range want {
			e := math.Abs(float64(got[i] - want[i]))
			if !r.Arc && e != 0 || !(e <= 1e-6*(1+math.Abs(float64(want[i])))) {
				t.Fatalf("%v: pixel %d: kernel %g, FBP %g", g.Detector, i, got[i], want[i])
			}
			if e == 0 {
				same++
			}
		}
		t.Logf("%v detector, %d angles: %d of %d pixels identical", g.Detector, g.NumAngles(), same, len(want))
	}
}

// hostProgram compiles the kernels with a harness into a host program
// (g++, no contraction into FMA, as --fmad=false on the GPU), or skips the
// test without g++.
func hostProgram(t *testing.T, harness string) string {
	t.Helper()
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++ to run the kernels on the host with")
	}
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "host.cpp"), filepath.Join(dir, "host")
	if err := os.WriteFile(src, []byte(fakecuda.Stubs+KernelSource+harness), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gxx, "-std=c++17", "-O1", "-ffp-contract=off", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("g++: %v\n%s", err, out)
	}
	return bin
}

// runHost writes the inputs (little-endian, in order) to a file, runs the
// host program on it and returns the first n float32 it writes.
func runHost(t *testing.T, bin string, n int, inputs ...any) []float32 {
	t.Helper()
	var buf bytes.Buffer
	for _, v := range inputs {
		binary.Write(&buf, binary.LittleEndian, v)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.bin"), filepath.Join(dir, "out.bin")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, err := exec.Command(bin, in, out).CombinedOutput(); err != nil {
		t.Fatalf("host kernels: %v\n%s", err, o)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	res := make([]float32, n)
	if err := binary.Read(bytes.NewReader(raw), binary.LittleEndian, res); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRunHints: a run's direction is the sign the kernel would find at
// every working row (and "per pixel" only where that sign changes), and the
// guess puts each run's end rays where their fixed-point positions are.
func TestRunHints(t *testing.T) {
	var gs []radon.Geometry
	for _, d := range []float64{22.5, 45, 200} {
		gs = append(gs, radon.NewFanGeometry(31, radon.FullAngles(40), d, 2*d))
	}
	gs = append(gs, radon.NewGeometry(31, radon.FullAngles(40)))
	mixed := 0
	for _, g := range gs {
		tab := radon.NewProjector(g).RayTable()
		hint, dir := runHints(tab)
		for a := 0; a < tab.NAngles; a++ {
			for u := tab.RunOff[a]; u < tab.RunOff[a+1]; u++ {
				ka, kb := a*tab.NDet+int(tab.RunLo[u]), a*tab.NDet+int(tab.RunHi[u])-1
				var up, down bool
				for r := int64(0); r < int64(tab.N); r++ {
					if tab.Q[kb]+r*tab.G[kb] >= tab.Q[ka]+r*tab.G[ka] {
						up = true
					} else {
						down = true
					}
				}
				want := uint8(2)
				if up && !down {
					want = 1
				} else if down && !up {
					want = 0
				}
				if dir[u] != want {
					t.Fatalf("%v source %g: angle %d run %d: direction %d, rows say %d", g.Beam, g.SourceDistance, a, u, dir[u], want)
				}
				if want == 2 {
					mixed++
				}
				r := float32(tab.N - 1)
				if got, exact := hint[4*u]+r*hint[4*u+1], float64(tab.Q[ka]+int64(tab.N-1)*tab.G[ka])/(1<<32); math.Abs(float64(got)-exact) > 1e-3*(1+math.Abs(exact)) {
					t.Fatalf("angle %d run %d: first ray guessed at %g on the last row, is at %g", a, u, got, exact)
				}
			}
		}
	}
	t.Logf("%d runs decided per pixel", mixed)
}
