package linearised

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/radon"
)

// TestNewDIPModel: the one DIP → linearised path checks the stored image
// against the network, centres the prior at θ₀ = dip.InitialParams(seed)
// (zero without a seed, or an error when the seed is required), and sets
// the regime it chose.
func TestNewDIPModel(t *testing.T) {
	rng := newRNG(t, 60)
	arch, _ := dip.Preset("small")
	const n = 16
	u, err := dip.NewUNet(arch, n)
	if err != nil {
		t.Fatal(err)
	}
	const seed = 7
	params := dip.InitialParams(u, seed)
	for i := range params {
		params[i] += float32(0.01 * rng.NormFloat64()) // "trained"
	}
	input := randVec(rng, n*n, 0.1)
	A := radon.NewProjector(radon.NewGeometry(n, radon.EqualAngles(5)))
	my, _ := A.Dims()
	y := randVec(rng, my, 1)
	ctx := context.Background()
	sl := DIPSlice{Net: u, Params: params, Input: input, Seed: seed, HasSeed: true}
	set := DefaultDIPSettings(0)
	m, err := NewDIPModel(ctx, sl, A, y, set, rng)
	if err != nil {
		t.Fatal(err)
	}
	if m.Regime != ExactRegime || m.Centre != CentreInit {
		t.Fatalf("regime %v, centre %v; want exact, init", m.Regime, m.Centre)
	}
	init := dip.InitialParams(u, seed)
	for i, v := range m.Problem.PriorMean {
		if v != init[i] {
			t.Fatalf("prior mean %d = %g, θ₀ has %g", i, v, init[i])
		}
	}
	if len(m.Problem.Theta) != u.NumConvWeights() {
		t.Fatalf("θ̄ has %d values, want the %d conv weights", len(m.Problem.Theta), u.NumConvWeights())
	}
	// The stored image must be the network's output.
	sl.Image = append([]float32(nil), m.Problem.Xhat...)
	if _, err := NewDIPModel(ctx, sl, A, y, set, rng); err != nil {
		t.Fatalf("the network's own output refused: %v", err)
	}
	sl.Image[3] += 0.1
	if _, err := NewDIPModel(ctx, sl, A, y, set, rng); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("an edited image: err = %v", err)
	}
	sl.Image = nil
	sl.HasSeed = false
	if m, err = NewDIPModel(ctx, sl, A, y, set, rng); err != nil || m.Centre != CentreZero || m.Problem.PriorMean != nil {
		t.Fatalf("without a seed: err %v, centre %v", err, m.Centre)
	}
	set.RequireSeed = true
	if _, err := NewDIPModel(ctx, sl, A, y, set, rand.New(rand.NewPCG(1, 2))); err == nil {
		t.Fatal("RequireSeed without a seed accepted")
	}
}
