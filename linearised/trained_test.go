package linearised

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/radon"
)

// trainedProblem loads a trained DIP (ctrecon dip output) and its scan,
// named by $CTRECON_UQ_RECON and $CTRECON_UQ_SCAN; the test is skipped
// without them. It also returns the scan's ground truth (nil if none).
func trainedProblem(t testing.TB) (*Problem, []float32, float64) {
	rp, sp := os.Getenv("CTRECON_UQ_RECON"), os.Getenv("CTRECON_UQ_SCAN")
	if rp == "" || sp == "" {
		t.Skip("set CTRECON_UQ_RECON and CTRECON_UQ_SCAN to a trained DIP and its scan")
	}
	scan, err := h5io.ReadScan(sp)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := h5io.ReadRecon(rp)
	if err != nil {
		t.Fatal(err)
	}
	g := rc.Group("/dip")
	ints := func(name string) []int {
		s, _ := g.AttrString(name)
		var out []int
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
			v, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	var arch dip.Arch
	arch.Channels, arch.Skip = ints("channels"), ints("skip")
	gn, _ := g.AttrFloat("group_norm")
	sg, _ := g.AttrFloat("sigmoid")
	arch.GroupNorm, arch.Sigmoid = gn != 0, sg != 0
	n := scan.ImageSize
	u, err := dip.NewUNet(arch, n)
	if err != nil {
		t.Fatal(err)
	}
	u.SetOutputScale(g.Get("output_scale").Data[0])
	params := g.Get("params").Data[:u.NumParams()]
	input := g.Get("input").Data[:n*n]
	J, err := u.Jacobian(params, input)
	if err != nil {
		t.Fatal(err)
	}
	rad := make([]float64, len(scan.ThetaDeg))
	for i, d := range scan.ThetaDeg {
		rad[i] = d * math.Pi / 180
	}
	A := radon.NewProjector(radon.Geometry{N: n, Angles: rad, NDet: scan.NDet, DetSpacing: scan.DetSpacing})
	y := scan.Sinogram(nil, 0)
	var truth []float32
	if scan.GroundTruth != nil {
		truth = scan.GroundTruth.Slice(0)
	}
	return &Problem{J: J, Blocks: J.PriorBlocks(), A: A, Y: y, Xhat: rc.Image.Slice(0), Theta: params[:u.NumConvWeights()]},
		truth, scan.NoiseStd
}

// TestProfileTrained reports where the matrix-free time goes on a trained
// network: product costs, EM iterations with CG counts, sampling.
func TestProfileTrained(t *testing.T) {
	prob, truth, noiseStd := trainedProblem(t)
	ctx := context.Background()
	my, npix, n, _ := prob.dims()
	t.Logf("m_y %d, N² %d, n %d, %d blocks, scan noise std %.4g", my, npix, n, len(prob.Blocks), noiseStd)
	pr, err := NewPrior(prob.Blocks, n)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, b := range []int{16} {
		mf, _ := NewMatrixFree(prob, pr, MatrixFreeSettings{Batch: b})
		v := randVec(rng, b*my, 1)
		d := make([]float32, b*my)
		t0 := time.Now()
		mf.ApplyK0(d, v, b)
		t.Logf("batch %d: K0 product %.1f ms/vector", b, 1e3*time.Since(t0).Seconds()/float64(b))
	}
	set := MatrixFreeSettings{}
	if s := os.Getenv("CTRECON_UQ_RANK"); s != "" {
		set.CG.PrecondRank, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("CTRECON_UQ_RTOL"); s != "" {
		set.CG.RTol, _ = strconv.ParseFloat(s, 64)
	}
	if s := os.Getenv("CTRECON_UQ_BATCH"); s != "" {
		set.Batch, _ = strconv.Atoi(s)
	}
	mf, _ := NewMatrixFree(prob, pr, set)
	t0 := time.Now()
	if err := mf.RefreshPreconditioner(ctx, rng); err != nil {
		t.Fatal(err)
	}
	t.Logf("preconditioner rank %d: %.1f s; λ_1 %.3g λ_r %.3g σ_y² %.3g", mf.pre.r, time.Since(t0).Seconds(), mf.pre.lambda[0], mf.pre.lambda[mf.pre.r-1], pr.H.NoiseVar())
	InitFromWeights(pr, prob, false)
	t.Logf("moment init: σ_y %.4g, logvar %.2f", math.Sqrt(pr.H.NoiseVar()), pr.H.LogVar)
	t0 = time.Now()
	tl := t0
	emIters := 1
	if s := os.Getenv("CTRECON_UQ_EMITERS"); s != "" {
		emIters, _ = strconv.Atoi(s)
	}
	res, err := mf.FitEM(ctx, EMSettings{Tol: DefaultEMTol, Iters: emIters}, rng, func(it int, g float64) {
		t.Logf("EM %d: %.1f s, γ %.1f, σ_y %.4g, CG iters %v, logvar %.2f", it, time.Since(tl).Seconds(), g, math.Sqrt(pr.H.NoiseVar()), mf.lastCG.Iters, pr.H.LogVar)
		tl = time.Now()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("EM fit: %d iterations, %.1f s", res.Steps, time.Since(t0).Seconds())
	t0 = time.Now()
	if err := mf.RefreshPreconditioner(ctx, rng); err != nil {
		t.Fatal(err)
	}
	mu := pr.H.NoiseVar()
	var q []string
	for _, j := range []int{1, 25, 50, 100, 200, 300, 400, 600, 800, 1000} {
		if j <= mf.pre.r {
			q = append(q, strconv.Itoa(j)+":"+strconv.FormatFloat(mf.pre.lambda[j-1]/mu, 'g', 3, 64))
		}
	}
	t.Logf("preconditioner rank %d: %.1f s; λ_j/σ_y² %v", mf.pre.r, time.Since(t0).Seconds(), q)
	for _, tol := range []float64{1e-2, 1e-3} {
		b := randVec(rng, 16*my, 1)
		u := make([]float32, 16*my)
		t0 = time.Now()
		info, err := mf.pcgTol(ctx, u, b, 16, nil, tol)
		t.Logf("CG 16 rhs to %g: %.1f s, iterations %v (%v)", tol, time.Since(t0).Seconds(), info.Iters, err)
	}
	k := 16
	s := make([]float32, k*npix)
	t0 = time.Now()
	info, err := mf.Samples(ctx, s, k, rng)
	t.Logf("%d samples: %.1f s, CG iterations max %d (err %v)", k, time.Since(t0).Seconds(), info.MaxIters(), err)
	if truth != nil {
		v := make([]float64, npix)
		for r := 0; r < k; r++ {
			for i, x := range s[r*npix : (r+1)*npix] {
				v[i] += float64(x) * float64(x) / float64(k)
			}
		}
		c, _ := Calibrate(truth, prob.Xhat, v, nil, 10)
		rm := RMSE(truth, prob.Xhat, nil)
		cc, _ := Calibrate(truth, prob.Xhat, ConstantVariance(npix, rm*rm), nil, 10)
		t.Logf("calibration (no δ, %d samples): LL %.3f vs const %.3f, spearman %.2f, cover1 %.2f", k, c.LogLik, cc.LogLik, c.Spearman, c.Cover1)
	}
}

// TestCalibrateFile reports the calibration of a written std map
// ($CTRECON_UQ_OUT, from ctrecon uncertainty) against the scan's ground
// truth ($CTRECON_UQ_SCAN) on all pixels and on the object region
// (ObjectMask(truth, N, 0.01, 1)), with the constant-σ oracle (σ = the
// region's true RMSE) alongside and the |error| against σ bins.
func TestCalibrateFile(t *testing.T) {
	op, sp := os.Getenv("CTRECON_UQ_OUT"), os.Getenv("CTRECON_UQ_SCAN")
	if op == "" || sp == "" {
		t.Skip("set CTRECON_UQ_OUT and CTRECON_UQ_SCAN")
	}
	scan, err := h5io.ReadScan(sp)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := h5io.ReadRecon(op)
	if err != nil {
		t.Fatal(err)
	}
	if scan.GroundTruth == nil || rc.Std == nil {
		t.Fatal("need a ground truth and a std map")
	}
	for _, a := range rc.Attrs {
		t.Logf("attribute %s = %v", a.Name, a.Value)
	}
	n := scan.ImageSize
	truth, mean := scan.GroundTruth.Slice(0), rc.Image.Slice(0)
	v := make([]float64, n*n)
	for i, s := range rc.Std.Slice(0) {
		v[i] = float64(s) * float64(s)
	}
	for _, reg := range []struct {
		name string
		mask []bool
	}{{"all", nil}, {"object", metrics.ObjectRegion(truth, n)}} {
		c, err := Calibrate(truth, mean, v, reg.mask, 5)
		if err != nil {
			t.Fatal(err)
		}
		r := RMSE(truth, mean, reg.mask)
		cc, _ := Calibrate(truth, mean, ConstantVariance(n*n, r*r), reg.mask, 5)
		t.Logf("%s (%d px): LL %.3f (const σ = RMSE %.4f: %.3f), ±1σ %.2f, ±2σ %.2f, Spearman %.2f", reg.name, c.Pixels, c.LogLik, r, cc.LogLik, c.Cover1, c.Cover2, c.Spearman)
		for _, b := range c.Bins {
			t.Logf("   σ %.4f–%.4f: RMS σ %.4f, RMS error %.4f", b.SigmaLo, b.SigmaHi, b.RMSSigma, b.RMSError)
		}
	}
}

// TestRunTrainedRank runs Run's matrix-free default on a trained DIP file
// with the preconditioner/sketch rank $CTRECON_UQ_RANK and reports the
// object-region calibration (separates the sketch's rank from the fit).
func TestRunTrainedRank(t *testing.T) {
	prob, truth, _ := trainedProblem(t)
	rank, _ := strconv.Atoi(os.Getenv("CTRECON_UQ_RANK"))
	rng := rand.New(rand.NewPCG(1, 3))
	res, err := Run(context.Background(), prob, nil, Settings{Regime: MatrixFreeRegime,
		MatrixFree: MatrixFreeSettings{CG: CGSettings{PrecondRank: rank}}}, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := int(math.Sqrt(float64(len(truth))))
	v := make([]float64, len(truth))
	for i, s := range res.Std {
		v[i] = float64(s) * float64(s)
	}
	for _, mask := range [][]bool{nil, metrics.ObjectRegion(truth, n)} {
		c, _ := Calibrate(truth, prob.Xhat, v, mask, 5)
		r := RMSE(truth, prob.Xhat, mask)
		cc, _ := Calibrate(truth, prob.Xhat, ConstantVariance(len(truth), r*r), mask, 5)
		t.Logf("rank %d, σ_y %.4g, %d EM it.: LL %.3f (const %.3f), ±1σ %.2f, Spearman %.2f", rank, math.Sqrt(res.Hyper.NoiseVar()), res.Fit.Steps, c.LogLik, cc.LogLik, c.Cover1, c.Spearman)
	}
}
