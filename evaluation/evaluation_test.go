package evaluation

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// noisy returns a truth (a disc on zero), the truth plus N(0, σ²) noise,
// and a std map of σ everywhere: a calibrated std map by construction.
func noisy(n int, sigma float64, rng *rand.Rand) (truth, img, std []float32) {
	truth, img, std = make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range truth {
		x, y := float64(i%n)-float64(n)/2, float64(i/n)-float64(n)/2
		if x*x+y*y < float64(n*n)/9 {
			truth[i] = 1
		}
		img[i] = truth[i] + float32(sigma*rng.NormFloat64())
		std[i] = float32(sigma)
	}
	return truth, img, std
}

// TestCalibratedMapScoresAsTheory: with errors drawn from N(0, σ²) and a
// std map of σ, coverage is 68.3%/95.4% and the test LL is
// −½log(2πσ²) − ½, close to the constant-σ oracle's, on both regions.
func TestCalibratedMapScoresAsTheory(t *testing.T) {
	const n, sigma = 128, 0.05
	truth, img, std := noisy(n, sigma, rand.New(rand.NewPCG(1, 2)))
	e, err := EvaluateSlice(truth, img, std, n, DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Regions) != 2 || e.Regions[0].Pixels != n*n || !(e.Regions[1].Pixels > 0 && e.Regions[1].Pixels < n*n) {
		t.Fatalf("regions %+v", e.Regions)
	}
	want := -0.5*math.Log(2*math.Pi*sigma*sigma) - 0.5
	for _, r := range e.Regions {
		c := r.Cal
		if math.Abs(c.Cover1-0.683) > 0.03 || math.Abs(c.Cover2-0.954) > 0.02 {
			t.Errorf("%s: coverage %.3f / %.3f, want 0.683 / 0.954", r.Name, c.Cover1, c.Cover2)
		}
		if math.Abs(c.LogLik-want) > 0.05 || math.Abs(r.OracleLL-c.LogLik) > 0.05 {
			t.Errorf("%s: test LL %.3f, oracle %.3f, theory %.3f", r.Name, c.LogLik, r.OracleLL, want)
		}
		if math.Abs(r.RMSE-sigma) > 0.1*sigma {
			t.Errorf("%s: RMSE %.4f, σ %.4f", r.Name, r.RMSE, sigma)
		}
	}
	// A std map twice too wide covers more and scores a lower test LL.
	for i := range std {
		std[i] *= 2
	}
	w, err := EvaluateSlice(truth, img, std, n, DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	if !(w.Regions[0].Cal.Cover1 > 0.9) || !(w.Regions[0].Cal.LogLik < e.Regions[0].Cal.LogLik-0.1) {
		t.Errorf("a 2σ map: coverage %.3f, test LL %.3f (calibrated %.3f)", w.Regions[0].Cal.Cover1, w.Regions[0].Cal.LogLik, e.Regions[0].Cal.LogLik)
	}
}

// TestCalibrateVolumeAveragesSlices: the volume's numbers are the means of
// its slices' all-pixel numbers.
func TestCalibrateVolumeAveragesSlices(t *testing.T) {
	const n = 32
	rng := rand.New(rand.NewPCG(3, 4))
	t1, i1, s1 := noisy(n, 0.02, rng)
	t2, i2, s2 := noisy(n, 0.2, rng)
	c, err := CalibrateVolume(append(t1, t2...), append(i1, i2...), append(s1, s2...), n)
	if err != nil {
		t.Fatal(err)
	}
	var ll float64
	for _, s := range [][3][]float32{{t1, i1, s1}, {t2, i2, s2}} {
		e, err := EvaluateSlice(s[0], s[1], s[2], n, Settings{Object: 0.01, Patch: 8, Bins: 10})
		if err != nil {
			t.Fatal(err)
		}
		ll += e.Regions[0].Cal.LogLik / 2
	}
	if math.Abs(c.TestLL-ll) > 1e-12 {
		t.Errorf("volume test LL %.6f, mean of slices %.6f", c.TestLL, ll)
	}
	if c.PatchSize != 8 {
		t.Errorf("patch size %d at 32², want 8", c.PatchSize)
	}
	if _, err := CalibrateVolume(t1, i1, s2[:10], n); err == nil {
		t.Error("mismatched lengths accepted")
	}
}

// TestNonFiniteIsRefused: a NaN in the image or the truth is an error.
func TestNonFiniteIsRefused(t *testing.T) {
	truth, img, std := noisy(16, 0.1, rand.New(rand.NewPCG(5, 6)))
	img[7] = float32(math.NaN())
	if _, err := EvaluateSlice(truth, img, std, 16, DefaultSettings()); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN image: %v", err)
	}
	img[7], truth[3] = 0, float32(math.Inf(1))
	if _, err := EvaluateSlice(truth, img, std, 16, DefaultSettings()); err == nil || !strings.Contains(err.Error(), "Inf") {
		t.Errorf("Inf truth: %v", err)
	}
}
