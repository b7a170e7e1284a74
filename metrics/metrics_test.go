package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPSNRKnownValue(t *testing.T) {
	// Every pixel off by 0.1 on a range of 1: MSE 0.01, PSNR exactly 20 dB.
	ref := []float32{0, 1, 0.5, 0.25}
	x := []float32{0.1, 1.1, 0.6, 0.35}
	if p := PSNR(x, ref, 1); math.Abs(p-20) > 1e-5 {
		t.Fatalf("PSNR %v, want 20", p)
	}
	if p := PSNR(x, ref, 0); math.Abs(p-20) > 1e-5 { // range of ref is 1
		t.Fatalf("PSNR with inferred range %v, want 20", p)
	}
}

func TestSSIMProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 16
	ref := make([]float32, n*n)
	for i := range ref {
		ref[i] = float32(rng.Float64())
	}
	if s := SSIM(ref, ref, n, 1); math.Abs(s-1) > 1e-12 {
		t.Fatalf("SSIM(x,x) = %v, want 1", s)
	}
	small := make([]float32, n*n)
	big := make([]float32, n*n)
	for i := range ref {
		e := float32(rng.NormFloat64())
		small[i] = ref[i] + 0.02*e
		big[i] = ref[i] + 0.3*e
	}
	s1, s2 := SSIM(small, ref, n, 1), SSIM(big, ref, n, 1)
	if !(s1 < 1 && s2 < s1) {
		t.Fatalf("SSIM should fall with noise: %v (small) %v (large)", s1, s2)
	}
	if a, b := SSIM(big, ref, n, 1), SSIM(ref, big, n, 1); math.Abs(a-b) > 1e-12 {
		t.Fatalf("SSIM not symmetric: %v vs %v", a, b)
	}
	// A constant offset of the mean only: contrast/structure terms stay 1,
	// luminance term (2·m·(m+d)+c1)/(m²+(m+d)²+c1) for every window.
	flat := make([]float32, n*n)
	off := make([]float32, n*n)
	for i := range flat {
		flat[i], off[i] = 0.5, 0.6
	}
	c1 := 0.0001
	want := (2*0.5*0.6 + c1) / (0.25 + 0.36 + c1)
	if s := SSIM(off, flat, n, 1); math.Abs(s-want) > 1e-6 {
		t.Fatalf("SSIM of offset flat images %v, want %v", s, want)
	}
}

// TestMeanSE: mean and √(s²/n) of 1..4 (s² = 5/3), NaN standard error for
// one value, NaN for none.
func TestMeanSE(t *testing.T) {
	m, se := MeanSE([]float64{1, 2, 3, 4})
	if m != 2.5 || math.Abs(se-math.Sqrt(5.0/3/4)) > 1e-15 {
		t.Errorf("MeanSE(1..4) = %g, %g", m, se)
	}
	if m, se := MeanSE([]float64{7}); m != 7 || !math.IsNaN(se) {
		t.Errorf("one value: %g, %g", m, se)
	}
	if m, se := MeanSE(nil); !math.IsNaN(m) || !math.IsNaN(se) {
		t.Errorf("no value: %g, %g", m, se)
	}
}
