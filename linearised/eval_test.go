package linearised

import (
	"context"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestCalibrateGaussianTruth(t *testing.T) {
	rng := newRNG(t, 40)
	const n = 40000
	truth := make([]float32, n)
	mean := make([]float32, n)
	v := make([]float64, n)
	var wantLL float64
	for i := range truth {
		s := 0.01 + 0.2*rng.Float64()
		v[i] = s * s
		mean[i] = float32(rng.Float64())
		truth[i] = mean[i] + float32(s*rng.NormFloat64())
		e := float64(truth[i] - mean[i])
		wantLL += -0.5*e*e/v[i] - 0.5*math.Log(2*math.Pi*v[i])
	}
	c, err := Calibrate(truth, mean, v, nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	if relDiff(c.LogLik, wantLL/n) > 1e-9 {
		t.Fatalf("LogLik %g, want %g", c.LogLik, wantLL/n)
	}
	// Binomial standard errors √(p(1−p)/n) ≈ 0.0023 and 0.0010; 5 of them.
	if math.Abs(c.Cover1-0.6827) > 0.012 || math.Abs(c.Cover2-0.9545) > 0.006 {
		t.Fatalf("coverage %g, %g for a calibrated Gaussian", c.Cover1, c.Cover2)
	}
	// Calibrated: RMS error ≈ RMS σ per bin (8000 pixels: relative sd of an
	// RMS ≈ 1/√(2·8000) ≈ 0.008; allow 5%).
	for _, b := range c.Bins {
		if relDiff(b.RMSError, b.RMSSigma) > 0.05 {
			t.Fatalf("bin %+v: RMS error far from RMS σ", b)
		}
	}
	if c.Spearman < 0.3 {
		t.Fatalf("Spearman(|e|, σ) = %g; with σ spread 20× it must be clearly positive", c.Spearman)
	}
	// The same with variances 4× too large is worse.
	big := make([]float64, n)
	for i := range big {
		big[i] = 4 * v[i]
	}
	cb, _ := Calibrate(truth, mean, big, nil, 5)
	if !(cb.LogLik < c.LogLik) || !(cb.Cover1 > 0.9) {
		t.Fatalf("overdispersed σ: LL %g (calibrated %g), cover1 %g", cb.LogLik, c.LogLik, cb.Cover1)
	}
}

// TestSpearmanCalibratedReference checks that SpearmanCalibrated is what a
// calibrated std map actually scores, and that it falls as σ varies less.
func TestSpearmanCalibratedReference(t *testing.T) {
	rng := newRNG(t, 41)
	const n = 40000
	for _, spread := range []float64{20, 2} {
		truth := make([]float32, n)
		mean := make([]float32, n)
		v := make([]float64, n)
		for i := range truth {
			s := 0.01 * (1 + (spread-1)*rng.Float64())
			v[i] = s * s
			truth[i] = float32(s * rng.NormFloat64())
		}
		c, err := Calibrate(truth, mean, v, nil, 5)
		if err != nil {
			t.Fatal(err)
		}
		// Both are Spearman coefficients of 40000 pixels: standard error
		// about 1/√n = 0.005 each.
		if math.Abs(c.Spearman-c.SpearmanCalibrated) > 0.02 {
			t.Fatalf("spread %g: calibrated σ scores %.3f, reference says %.3f", spread, c.Spearman, c.SpearmanCalibrated)
		}
		t.Logf("σ spread %g×: Spearman %.3f, reference %.3f", spread, c.Spearman, c.SpearmanCalibrated)
		if spread == 2 && c.SpearmanCalibrated > 0.3 {
			t.Fatalf("σ spread 2×: reference %.3f, want well below the 20× case", c.SpearmanCalibrated)
		}
		if spread == 20 && c.SpearmanCalibrated < 0.4 {
			t.Fatalf("σ spread 20×: reference %.3f, want clearly positive", c.SpearmanCalibrated)
		}
	}
	// A constant σ ranks nothing.
	c, err := Calibrate([]float32{1, -1, 2, 0.5}, make([]float32, 4), ConstantVariance(4, 1), nil, 2)
	if err != nil || c.SpearmanCalibrated != 0 || c.Spearman != 0 {
		t.Fatalf("constant σ: Spearman %g, reference %g, %v", c.Spearman, c.SpearmanCalibrated, err)
	}
}

// TestPatchSpearman builds errors whose σ is constant on 4×4 blocks: the
// patch statistic must find the blocks (which the pixel statistic sees
// only dimly), must not find them when σ is shuffled between blocks, and
// must keep only patches inside the mask.
func TestPatchSpearman(t *testing.T) {
	rng := newRNG(t, 42)
	const n, size = 64, 4
	nb := n / size
	blockSigma := make([]float64, nb*nb)
	for b := range blockSigma {
		blockSigma[b] = 0.01 * (1 + 2*rng.Float64())
	}
	truth := make([]float32, n*n)
	mean := make([]float32, n*n)
	v := make([]float64, n*n)
	shuffled := make([]float64, n*n)
	perm := rng.Perm(nb * nb)
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			b := (r/size)*nb + c/size
			i := r*n + c
			v[i] = blockSigma[b] * blockSigma[b]
			shuffled[i] = blockSigma[perm[b]] * blockSigma[perm[b]]
			truth[i] = float32(blockSigma[b] * rng.NormFloat64())
		}
	}
	pix, err := Calibrate(truth, mean, v, nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	got, err := PatchSpearman(truth, mean, v, n, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 16 pixels per patch: the RMS error's relative scatter is about
	// 1/√32 ≈ 0.18 against a σ range of 3×, so the ranking mostly survives.
	if got < 0.7 || got < pix.Spearman+0.3 {
		t.Fatalf("patch Spearman %.3f (pixel %.3f): the blocks were not found", got, pix.Spearman)
	}
	sh, err := PatchSpearman(truth, mean, shuffled, n, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 256 patches: a correlation of independent rankings has sd 1/√255.
	t.Logf("pixel Spearman %.3f, 4×4 patches %.3f, σ shuffled between patches %.3f", pix.Spearman, got, sh)
	if math.Abs(sh) > 0.25 {
		t.Fatalf("σ shuffled between blocks still scores %.3f", sh)
	}
	// Keep the left half only: the patches there are as found as before;
	// fewer than 3 patches is an error.
	mask := make([]bool, n*n)
	for i := range mask {
		mask[i] = i%n < n/2
	}
	if half, err := PatchSpearman(truth, mean, v, n, size, mask); err != nil || half < 0.6 {
		t.Fatalf("left half: %.3f, %v", half, err)
	}
	small := make([]bool, n*n)
	for r := 0; r < 2*size; r++ {
		for c := 0; c < size; c++ {
			small[r*n+c] = true
		}
	}
	if _, err := PatchSpearman(truth, mean, v, n, size, small); err == nil {
		t.Fatal("two patches inside the mask: want an error")
	}
	v[0] = math.NaN()
	if _, err := PatchSpearman(truth, mean, v, n, size, nil); err == nil {
		t.Fatal("NaN variance: want an error")
	}
}

func TestSpearmanTies(t *testing.T) {
	// Ranks [1, 2.5, 2.5, 4] and [1, 3, 2, 4]: correlation 4.5/√(4.5·5).
	got := spearman([]float64{1, 2, 2, 3}, []float64{1, 3, 2, 4})
	if want := 4.5 / math.Sqrt(22.5); math.Abs(got-want) > 1e-12 {
		t.Fatalf("spearman = %g, want %g", got, want)
	}
	if s := spearman([]float64{1, 2, 3}, []float64{30, 20, 10}); s != -1 {
		t.Fatalf("reversed order: %g", s)
	}
}

func TestPatches(t *testing.T) {
	p := Patches(5, 2)
	sizes := []int{4, 4, 2, 4, 4, 2, 2, 2, 1}
	seen := make([]int, 25)
	if len(p) != len(sizes) {
		t.Fatalf("%d patches, want 9", len(p))
	}
	for i, q := range p {
		if len(q) != sizes[i] {
			t.Fatalf("patch %d has %d pixels, want %d", i, len(q), sizes[i])
		}
		for _, j := range q {
			seen[j]++
		}
	}
	for j, s := range seen {
		if s != 1 {
			t.Fatalf("pixel %d in %d patches", j, s)
		}
	}
}

func TestPatchLogLik(t *testing.T) {
	rng := newRNG(t, 41)
	p, pr := testProblemQ(t, rng, 20)
	randomHyper(pr, rng)
	e, err := NewExact(context.Background(), p, pr, ExactSettings{})
	if err != nil {
		t.Fatal(err)
	}
	truth := randVec(rng, 36, 1)
	const delta = 1e-3
	ctx := context.Background()
	// Size 1 with the diagonal equals the per-pixel LL of Calibrate.
	v := make([]float64, 36)
	e.Variances(ctx, v)
	for i := range v {
		v[i] += delta
	}
	c, _ := Calibrate(truth, p.Xhat, v, nil, 0)
	ll1, err := PatchLogLik(ctx, truth, p.Xhat, 6, 1, nil, e.CovFunc(delta))
	if err != nil {
		t.Fatal(err)
	}
	if relDiff(ll1, c.LogLik) > 1e-9 {
		t.Fatalf("patch-1 LL %g, per-pixel LL %g", ll1, c.LogLik)
	}
	// One 6×6 patch equals the multivariate normal log-density of the whole
	// image under the dense posterior covariance + δI.
	llAll, err := PatchLogLik(ctx, truth, p.Xhat, 6, 6, nil, e.CovFunc(delta))
	if err != nil {
		t.Fatal(err)
	}
	post := newDenseModel(p, pr).post
	sym := mat.NewSymDense(36, nil)
	for i := 0; i < 36; i++ {
		for j := i; j < 36; j++ {
			sym.SetSym(i, j, 0.5*(post.At(i, j)+post.At(j, i)))
		}
		sym.SetSym(i, i, sym.At(i, i)+delta)
	}
	// log N(x|μ,C) = −½ dᵀC⁻¹d − ½ log|C| − 18 log 2π, via the dense inverse.
	var inv mat.Dense
	if err := inv.Inverse(sym); err != nil {
		t.Fatal(err)
	}
	d := mat.NewVecDense(36, nil)
	for i := 0; i < 36; i++ {
		d.SetVec(i, float64(truth[i])-float64(p.Xhat[i]))
	}
	var cd mat.VecDense
	cd.MulVec(&inv, d)
	ld, sign := mat.LogDet(sym)
	if sign <= 0 {
		t.Fatal("dense covariance not positive definite")
	}
	want := (-0.5*mat.Dot(d, &cd) - 0.5*ld - 18*math.Log(2*math.Pi)) / 36
	// Same float64 numbers in both (quantised J, A): agreement to float64
	// rounding amplified by cond(C) ≲ 1e4 (δ = 1e-3).
	tol := 1e-9 * math.Abs(want)
	if math.Abs(llAll-want) > tol {
		t.Fatalf("whole-image LL %g, dense %g", llAll, want)
	}
	// A mask that excludes a pixel of every 2×2 patch leaves no patch.
	mask := make([]bool, 36)
	for i := range mask {
		mask[i] = (i/6)%2 == 0
	}
	if _, err := PatchLogLik(ctx, truth, p.Xhat, 6, 2, mask, e.CovFunc(delta)); err == nil {
		t.Fatal("empty patch set accepted")
	}
}

func TestExactCovFuncChunksPatches(t *testing.T) {
	// Patches grouped into chunks (PixelChunk 5 forces several per call and
	// one patch per chunk for the 3×3 ones) give the same blocks as one
	// Covariance call per patch.
	rng := newRNG(t, 42)
	p, pr := testProblemQ(t, rng, 20)
	randomHyper(pr, rng)
	e, _ := NewExact(context.Background(), p, pr, ExactSettings{PixelChunk: 5})
	ctx := context.Background()
	patches := append(Patches(6, 2)[:3], Patches(6, 3)...)
	covs, err := e.CovFunc(0.5)(ctx, patches)
	if err != nil {
		t.Fatal(err)
	}
	for i, pt := range patches {
		want, _ := e.Covariance(ctx, pt)
		for a := range pt {
			want[a*len(pt)+a] += 0.5
		}
		for j := range want {
			if math.Abs(covs[i][j]-want[j]) > 1e-12*math.Abs(want[j])+1e-14 {
				t.Fatalf("patch %d entry %d: %g, want %g", i, j, covs[i][j], want[j])
			}
		}
	}
}

func TestPatchesInside(t *testing.T) {
	// 5×5 in 2×2 patches, mask = the first three columns: only the left
	// column of patches (rows 0–1, 2–3 and the short row 4) lies inside.
	mask := make([]bool, 25)
	for i := range mask {
		mask[i] = i%5 < 3
	}
	got := PatchesInside(5, 2, mask)
	want := [][]int{{0, 1, 5, 6}, {10, 11, 15, 16}, {20, 21}}
	if len(got) != len(want) {
		t.Fatalf("%d patches inside, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("patch %d = %v, want %v", i, got[i], want[i])
		}
	}
	if len(PatchesInside(5, 2, nil)) != len(Patches(5, 2)) {
		t.Fatal("a nil mask must keep every patch")
	}
}
