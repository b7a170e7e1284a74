package dip

import (
	"context"
	"slices"
	"testing"
)

// TestMCDropoutBaseline: the passes differ (dropout is on: the variance is not
// just its floor), the run is reproducible from its seed, and another seed
// gives other passes.
func TestMCDropoutBaseline(t *testing.T) {
	n := 16
	A := testProjector(n, 8)
	y, _ := simulate(A, phantom(n), 0.05, newRng(t))
	a := Arch{Channels: []int{8, 8}, Skip: []int{0, 4}, Sigmoid: true}
	s := FitSettings{MaxIter: 20, Gamma: 1e-4, LR: 1e-3, Seed: 7}
	m1, v1, err := MCDropout(context.Background(), a, n, A, y, s, 8, 5)
	if err != nil {
		t.Fatal(err)
	}
	above := 0
	for _, v := range v1 {
		if v > 1e-9 {
			above++
		}
	}
	if above < n*n/2 {
		t.Errorf("only %d of %d pixels vary between dropout passes", above, n*n)
	}
	m2, v2, _ := MCDropout(context.Background(), a, n, A, y, s, 8, 5)
	if !slices.Equal(m1, m2) || !slices.Equal(v1, v2) {
		t.Error("the same seed gave other passes")
	}
	m3, _, _ := MCDropout(context.Background(), a, n, A, y, s, 8, 6)
	if slices.Equal(m1, m3) {
		t.Error("another seed gave the same passes")
	}
}
