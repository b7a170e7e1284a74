package linearised

import (
	"context"
	"math"
	"strings"
	"testing"
)

// laplaceProblem is linearProblem with trained weights and x̂ that are not
// the linear model's posterior mean (as for a real DIP).
func laplaceProblem(t *testing.T, seed uint64, my int) (*Problem, *Prior) {
	rng := newRNG(t, seed)
	p, pr := linearProblem(t, rng, my, 0.2)
	for i := range p.Theta {
		p.Theta[i] = float32(0.3 * rng.NormFloat64())
	}
	for i := range p.Xhat {
		p.Xhat[i] = float32(0.1 * rng.NormFloat64())
	}
	return p, pr
}

// At full rank (Q spans the measurement space) the subspace model is the
// full model: its fixed points — the Laplace MLL's and the linear model's
// evidence's — equal the exact regime's.
func TestSubspaceFullRankFitMatchesExact(t *testing.T) {
	for _, laplace := range []bool{true, false} {
		p, pr := laplaceProblem(t, 81, 60)
		h0 := pr.H.Clone()
		ctx := context.Background()
		e, err := NewExact(ctx, p, pr, ExactSettings{})
		if err != nil {
			t.Fatal(err)
		}
		em := EMSettings{Iters: 400, Laplace: laplace, Tol: 1e-9}
		if _, err := e.FitEM(ctx, em, nil); err != nil {
			t.Fatal(err)
		}
		want := pr.H.Clone()
		pr.H = h0
		mf, _ := NewMatrixFree(p, pr, MatrixFreeSettings{})
		if _, err := mf.FitSubspace(ctx, &em, newRNG(t, 82), nil); err != nil {
			t.Fatal(err)
		}
		info := mf.SubspaceInfo()
		if info.Rank != 60 || info.Capped {
			t.Fatalf("rank %d (capped %v), want the full 60", info.Rank, info.Capped)
		}
		// Both solve the same equations; the Gram matrices are float32
		// (relative rounding ~1e-7 per entry, summed over ≤ 200 weights),
		// which moves the fixed point by far less than 1e-3 in log σ².
		if d := math.Abs(pr.H.LogNoise - want.LogNoise); d > 1e-3 {
			t.Errorf("Laplace %v: log σ_y²: subspace %.5f, exact %.5f", laplace, pr.H.LogNoise, want.LogNoise)
		}
		for b := range want.LogVar {
			if d := math.Abs(pr.H.LogVar[b] - want.LogVar[b]); d > 1e-3 {
				t.Errorf("Laplace %v: block %d log σ²: subspace %.5f, exact %.5f", laplace, b, pr.H.LogVar[b], want.LogVar[b])
			}
		}
	}
}

// Samples of the subspace model: at full rank their variance converges to
// the exact posterior variance; at a smaller rank it is never below it
// (conditioning on fewer data), up to Monte-Carlo error.
func TestSubspaceSamples(t *testing.T) {
	p, pr := testProblem(t, newRNG(t, 83), 20)
	randomHyper(pr, newRNG(t, 84))
	ctx := context.Background()
	e, err := NewExact(ctx, p, pr, ExactSettings{})
	if err != nil {
		t.Fatal(err)
	}
	_, npix, _, _ := p.dims()
	exact := make([]float64, npix)
	if err := e.Variances(ctx, exact); err != nil {
		t.Fatal(err)
	}
	const k = 4000
	tol := 5 * math.Sqrt(2.0/k) // 5 relative standard errors of a sample variance
	for _, rank := range []int{20, 6} {
		mf, _ := NewMatrixFree(p, pr, MatrixFreeSettings{Batch: 500, Subspace: SubspaceSettings{Chunk: rank, MaxRank: rank}})
		rng := newRNG(t, uint64(85+rank))
		if _, err := mf.FitSubspace(ctx, nil, rng, nil); err != nil {
			t.Fatal(err)
		}
		if got := mf.SubspaceInfo().Rank; got != rank {
			t.Fatalf("rank %d, want %d", got, rank)
		}
		s := make([]float32, k*npix)
		if err := mf.SubspaceSamples(ctx, s, k, rng); err != nil {
			t.Fatal(err)
		}
		var widest float64
		for i := range exact {
			var v float64
			for r := 0; r < k; r++ {
				v += float64(s[r*npix+i]) * float64(s[r*npix+i])
			}
			v /= k
			widest = math.Max(widest, v/exact[i])
			if rank == 20 && relDiff(v, exact[i]) > tol {
				t.Errorf("full rank, pixel %d: sample variance %g, exact %g", i, v, exact[i])
			}
			if v < exact[i]*(1-tol) {
				t.Errorf("rank %d, pixel %d: sample variance %g below the exact %g", rank, i, v, exact[i])
			}
		}
		t.Logf("rank %d: largest sample/exact variance %.3f", rank, widest)
	}
}

// Growth stops once the probes' bound on the missed effective dimension is
// within TailTol·γ, and the reported bound says so; a tighter tolerance
// never gives a smaller subspace. J's rows decay geometrically, so K0's
// spectrum has a long tail and no finite rank below m_y misses nothing.
func TestSubspaceGrowthStopsAtTail(t *testing.T) {
	rng := newRNG(t, 87)
	blocks, n := testBlocks()
	const npix, my = 150, 200
	J := randDense(rng, npix, n, 0.3)
	for i := 0; i < npix; i++ {
		for j := 0; j < n; j++ {
			J.Data[i*n+j] *= float32(math.Pow(0.85, float64(i)))
		}
	}
	A := randDense(rng, my, npix, 0.5)
	p := &Problem{J: J, Blocks: blocks, A: A, Y: randVec(rng, my, 1), Xhat: make([]float32, npix), Theta: randVec(rng, n, 0.3)}
	ctx := context.Background()
	for _, krylov := range []bool{false, true} {
		var ranks []int
		for _, tol := range []float64{0.2, 0.01} {
			pr, _ := NewPrior(blocks, n)
			pr.H.LogNoise = math.Log(0.1)
			mf, _ := NewMatrixFree(p, pr, MatrixFreeSettings{Subspace: SubspaceSettings{Chunk: 8, TailTol: tol, RandomProbes: !krylov}})
			if _, err := mf.FitSubspace(ctx, nil, newRNG(t, 88), nil); err != nil {
				t.Fatal(err)
			}
			info := mf.SubspaceInfo()
			t.Logf("Krylov %v, TailTol %.2f: rank %d, γ %.2f, tail bound %.3f", krylov, tol, info.Rank, info.Gamma, info.TailDim)
			if info.Capped || info.TailDim > tol*info.Gamma {
				t.Errorf("TailTol %g: stopped with tail %g > %g·γ (%g), capped %v", tol, info.TailDim, tol, info.Gamma, info.Capped)
			}
			if info.Rank >= npix {
				t.Errorf("TailTol %g: rank %d, the whole range of K0", tol, info.Rank)
			}
			ranks = append(ranks, info.Rank)
		}
		if ranks[1] <= ranks[0] {
			t.Errorf("Krylov %v: TailTol 0.01 gave rank %d ≤ rank %d of TailTol 0.2", krylov, ranks[1], ranks[0])
		}
	}
}

// A memory cap that cannot hold full-size growth rounds shrinks the rounds,
// not the rank: the model is built uncapped where the old rule (rounds of
// 512 always budgeted) left room for a rank of about 50 of 100; a cap that
// cannot hold even the minimum rank is refused with a message, not used.
func TestSubspaceMemoryCapShrinksRoundsFirst(t *testing.T) {
	ctx := context.Background()
	rng := newRNG(t, 90)
	p, pr := testProblem(t, rng, 100)
	randomHyper(pr, rng)
	h := pr.H.Clone()
	nb := len(pr.Blocks)
	full32, full512 := SubspaceBytes(100, 70, nb, 100, minChunk), SubspaceBytes(100, 70, nb, 100, maxChunk)
	limit := (full32 + full512) / 2
	if limit >= full512 || limit < full32 {
		t.Fatalf("test sizes: %d, %d", full32, full512)
	}
	set := Settings{Regime: MatrixFreeRegime, SkipFit: true}
	set.MatrixFree.Subspace.MaxBytes = limit
	set.MatrixFree.Subspace.TailTol = 1e-9 // grow to the full rank
	res, err := Run(ctx, p, pr, set, rng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Subspace.Capped || res.Subspace.Rank != 100 {
		t.Fatalf("rank %d (capped %v) under a cap that holds the full rank with smaller rounds", res.Subspace.Rank, res.Subspace.Capped)
	}
	pr.H = h.Clone()
	set.MatrixFree.Subspace.MaxBytes = SubspaceBytes(100, 70, nb, minSubspaceRank, minChunk) - 1
	if _, err := Run(ctx, p, pr, set, rng, nil); err == nil || !strings.Contains(err.Error(), "--memory") {
		t.Fatalf("a cap below the minimum rank: err = %v", err)
	}
}
