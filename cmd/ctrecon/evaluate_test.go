package main

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/evaluation"
	"github.com/ctrecon/ctrecon/h5io"
)

// evalNumber returns the first number after label in the all-pixels column
// of an evaluate report.
func evalNumber(t *testing.T, out, label string) float64 {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(label) + `\s+(-?[0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in\n%s", label, out)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestEvaluate scores a std map that is calibrated by construction (truth
// = image + σ·z): the report must say so (coverage near nominal, LL above
// the constant-σ oracle, Spearman near its calibrated reference, patches
// clearly ranked). A std map 3× too wide must lose its LL; bad inputs are
// refused.
func TestEvaluate(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	const n = 96
	rng := rand.New(rand.NewPCG(7, 11))
	truth, img := h5io.NewVolume(1, n), h5io.NewVolume(1, n)
	std, wide := h5io.NewVolume(1, n), h5io.NewVolume(1, n)
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			i := r*n + c
			// σ grows smoothly from left to right, 0.01 → 0.05.
			s := 0.01 + 0.04*float64(c)/float64(n-1)
			img.Data[i] = 0.5 + 0.3*float32(math.Sin(float64(r)/7))
			truth.Data[i] = img.Data[i] + float32(s*rng.NormFloat64())
			std.Data[i], wide.Data[i] = float32(s), float32(3*s)
		}
	}
	if err := h5io.WriteImage(p("truth.h5"), h5io.ImageFile{Image: truth}); err != nil {
		t.Fatal(err)
	}
	for name, sd := range map[string]h5io.Volume{"uq.h5": std, "wide.h5": wide} {
		if err := h5io.WriteRecon(p(name), &h5io.Recon{Method: "test", Image: img, Std: &sd}); err != nil {
			t.Fatal(err)
		}
	}
	out := mustRun(t, "evaluate", "-i", p("uq.h5"), "--truth", p("truth.h5"))
	t.Log(out)
	ll, oracle := evalNumber(t, out, "test LL per pixel"), evalNumber(t, out, "(oracle)")
	cover := evalNumber(t, out, "coverage")
	rho, ref := evalNumber(t, out, "Spearman(|error|, σ)"), evalNumber(t, out, "calibrated σ of this map")
	patch := evalNumber(t, out, "patches (RMS)")
	// 9216 pixels: binomial sd of the coverage 0.005; of a Spearman 0.01.
	if !(ll > oracle) || math.Abs(cover-0.683) > 0.02 || math.Abs(rho-ref) > 0.04 || !(patch > 0.8) {
		t.Fatalf("calibrated map: LL %g (oracle %g), ±1σ %g, Spearman %g (reference %g), patches %g\n%s", ll, oracle, cover, rho, ref, patch, out)
	}
	outWide := mustRun(t, "evaluate", "-i", p("wide.h5"), "--truth", p("truth.h5"))
	if w := evalNumber(t, outWide, "test LL per pixel"); !(w < ll) || evalNumber(t, outWide, "coverage") < 0.95 {
		t.Fatalf("3× too wide: LL %g (calibrated %g)\n%s", w, ll, outWide)
	}
	// Spearman is blind to the scale of σ: the wide map ranks as well.
	if w := evalNumber(t, outWide, "Spearman(|error|, σ)"); w != rho {
		t.Fatalf("Spearman %g for 3σ, %g for σ", w, rho)
	}

	// Without a std map: accuracy only.
	if err := h5io.WriteRecon(p("plain.h5"), &h5io.Recon{Method: "test", Image: img}); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "evaluate", "-i", p("plain.h5"), "--truth", p("truth.h5")); !strings.Contains(out, "accuracy only") || !strings.Contains(out, "PSNR") {
		t.Fatalf("no std map:\n%s", out)
	}
	// Bad inputs: missing flags, other size, NaN, a scan without a truth.
	if _, err := run(t, context.Background(), "evaluate", "-i", p("uq.h5")); !errors.As(err, new(usageError)) {
		t.Fatalf("no --truth: %v", err)
	}
	small := h5io.NewVolume(1, n/2)
	if err := h5io.WriteImage(p("small.h5"), h5io.ImageFile{Image: small}); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, context.Background(), "evaluate", "-i", p("uq.h5"), "--truth", p("small.h5")); err == nil || !strings.Contains(err.Error(), "ground truth is") {
		t.Fatalf("size mismatch: %v", err)
	}
	// h5io refuses to write NaN, so a NaN reconstruction can only come
	// from another tool; evaluation.EvaluateSlice refuses it too.
	img.Data[5] = float32(math.NaN())
	if _, err := evaluation.EvaluateSlice(truth.Data, img.Data, std.Data, n, evaluation.DefaultSettings()); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("NaN in the reconstruction: %v", err)
	}
	scan := &h5io.Scan{ThetaDeg: []float64{0, 90}, Slices: 1, NDet: 3, Data: make([]float32, 6), ImageSize: n, DetSpacing: 1}
	if err := h5io.WriteScan(p("s.h5"), scan); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, context.Background(), "evaluate", "-i", p("uq.h5"), "--truth", p("s.h5")); err == nil || !strings.Contains(err.Error(), "no /exchange/ground_truth") {
		t.Fatalf("scan without a truth: %v", err)
	}
	// A reconstruction file as the truth is named as such.
	if _, err := run(t, context.Background(), "evaluate", "-i", p("uq.h5"), "--truth", p("uq.h5")); err == nil || !strings.Contains(err.Error(), "holds no ground truth") {
		t.Fatalf("a reconstruction as the truth: %v", err)
	}
	// The defaults (8×8 patches, patch LL 1,2,10) suit an 8×8 image: the
	// patch shrinks to 4 and the 10×10 patch LL is left out; given
	// explicitly, sizes above n/2 are refused.
	tiny := h5io.NewVolume(1, 8)
	for i := range tiny.Data {
		tiny.Data[i] = float32(i%5) / 4
	}
	if err := h5io.WriteImage(p("tiny.h5"), h5io.ImageFile{Image: tiny}); err != nil {
		t.Fatal(err)
	}
	if err := h5io.WriteRecon(p("tinyrec.h5"), &h5io.Recon{Method: "test", Image: tiny}); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, context.Background(), "evaluate", "-i", p("tinyrec.h5"), "--truth", p("tiny.h5")); err != nil {
		t.Fatalf("defaults on an 8×8 image: %v", err)
	}
	for _, flag := range [][]string{{"--patch", "8"}, {"--patch-ll", "10"}} {
		if _, err := run(t, context.Background(), append([]string{"evaluate", "-i", p("tinyrec.h5"), "--truth", p("tiny.h5")}, flag...)...); !errors.As(err, new(usageError)) {
			t.Fatalf("%v on an 8×8 image: %v, want a usage error", flag, err)
		}
	}
}

// TestEvaluatePatchLL builds errors that share one value per 2×2 block
// (plus a little independent noise) and stores samples drawn the same way:
// the patch LL under the samples' covariance must see the correlation
// (2×2 patches well above independent pixels) and not invent one (1×1
// patches level with the std map's LL).
func TestEvaluatePatchLL(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	const n, k, sb, se = 32, 64, 0.02, 0.002
	rng := rand.New(rand.NewPCG(9, 13))
	draw := func(dst []float32) {
		for r := 0; r < n; r += 2 {
			for c := 0; c < n; c += 2 {
				b := sb * rng.NormFloat64()
				for _, i := range []int{r*n + c, r*n + c + 1, (r+1)*n + c, (r+1)*n + c + 1} {
					dst[i] = float32(b + se*rng.NormFloat64())
				}
			}
		}
	}
	truth, img, std := h5io.NewVolume(1, n), h5io.NewVolume(1, n), h5io.NewVolume(1, n)
	draw(truth.Data)
	for i := range truth.Data {
		img.Data[i] = 0.5
		truth.Data[i] += 0.5
		std.Data[i] = float32(math.Hypot(sb, se))
	}
	samples := make([]float32, k*n*n)
	for r := 0; r < k; r++ {
		s := samples[r*n*n : (r+1)*n*n]
		draw(s)
		for i := range s {
			s[i] += img.Data[i]
		}
	}
	if err := h5io.WriteImage(p("truth.h5"), h5io.ImageFile{Image: truth}); err != nil {
		t.Fatal(err)
	}
	rc := &h5io.Recon{Method: "test", Image: img, Std: &std, Samples: samples, Attrs: []h5io.Attr{{Name: "delta", Value: 1e-9}}}
	if err := h5io.WriteRecon(p("uq.h5"), rc); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "evaluate", "-i", p("uq.h5"), "--truth", p("truth.h5"), "--patch-ll", "1,2")
	t.Log(out)
	pair := func(label string) (float64, float64) {
		m := regexp.MustCompile(regexp.QuoteMeta(label) + `\s+(-?[0-9.]+) \((-?[0-9.]+)\)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %q row in\n%s", label, out)
		}
		a, _ := strconv.ParseFloat(m[1], 64)
		b, _ := strconv.ParseFloat(m[2], 64)
		return a, b
	}
	full1, diag1 := pair("1×1")
	full2, diag2 := pair("2×2")
	// Per pixel, the correlated 2×2 Gaussian gains ⅛·log(det ratio) ≈ 1.56
	// nats over independent pixels (eigenvalues 4σ_b²+σ_e² and σ_e² ×3
	// against (σ_b²+σ_e²) ×4); 64 samples estimate it to ~0.1.
	if !(full2 > diag2+1) {
		t.Fatalf("2×2 patches: samples' covariance %g, independent pixels %g; the correlation was missed", full2, diag2)
	}
	if math.Abs(full1-diag1) > 0.15 {
		t.Fatalf("1×1 patches: samples' variance gives %g, the std map %g", full1, diag1)
	}
	// --json holds the printed numbers, and evaluation.ReadReports (which
	// figures uses) reads them back.
	mustRun(t, "evaluate", "-i", p("uq.h5"), "--truth", p("truth.h5"), "--patch-ll", "1,2,10", "--json", p("uq.json"))
	reps, err := evaluation.ReadReports(p("uq.json"))
	if err != nil || len(reps) != 1 || reps[0].PatchSamples != 64 {
		t.Fatalf("--json: %v, %+v", err, reps)
	}
	rows := map[int]evaluation.PatchLLRow{}
	for _, r := range reps[0].PatchLL {
		rows[r.Size] = r
	}
	for size, want := range map[int][2]float64{1: {full1, diag1}, 2: {full2, diag2}} {
		r := rows[size]
		if r.All == nil || r.Object == nil || math.Abs(r.All.Joint-want[0]) > 6e-4 || math.Abs(r.All.Independent-want[1]) > 6e-4 {
			t.Fatalf("%d×%d in --json: %+v, printed %v", size, size, r, want)
		}
	}
	if r := rows[10]; !r.TooFewSamples || r.All != nil {
		t.Fatalf("10×10 from 64 samples has a value in --json: %+v", r)
	}
	if _, err := run(t, context.Background(), "evaluate", "-i", p("uq.h5"), "--truth", p("truth.h5"), "--json", p("uq.h5")); err == nil {
		t.Fatal("--json onto the input file was accepted")
	}
	// A std map written with --no-delta (with_delta = 0) gets no δ in the
	// patch covariance either, however large the recorded δ.
	rc.Attrs = []h5io.Attr{{Name: "delta", Value: 0.01}, {Name: "with_delta", Value: 0}}
	if err := h5io.WriteRecon(p("nodelta.h5"), rc); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, "evaluate", "-i", p("nodelta.h5"), "--truth", p("truth.h5"), "--patch-ll", "1")
	if f, d := pair("1×1"); math.Abs(f-d) > 0.15 {
		t.Fatalf("--no-delta file: 1×1 patch LL %g against the std map's %g; δ was added\n%s", f, d, out)
	}
	// Too few samples for a patch is said, not computed.
	if out := mustRun(t, "evaluate", "-i", p("uq.h5"), "--truth", p("truth.h5"), "--patch-ll", "10"); !strings.Contains(out, "only 64 samples") {
		t.Fatalf("10×10 patches from 64 samples:\n%s", out)
	}
	if _, err := run(t, context.Background(), "evaluate", "-i", p("uq.h5"), "--truth", p("truth.h5"), "--patch-ll", "0"); !errors.As(err, new(usageError)) {
		t.Fatalf("--patch-ll 0: %v", err)
	}
}
