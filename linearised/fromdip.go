package linearised

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/linop"
)

// PriorCentre says where the prior on the conv weights is centred
// (Problem.PriorMean).
type PriorCentre int

const (
	// CentreInit centres the prior at the DIP's initial weights θ₀
	// (dip.InitialParams of the fit's seed): it then describes how far
	// training moved the network. The default: it beats zero on all pixels
	// of every 128² scan measured (docs/studies/uq-128.md).
	CentreInit PriorCentre = iota
	// CentreZero centres it at zero, as bayes_dip does.
	CentreZero
)

func (c PriorCentre) String() string {
	if c == CentreZero {
		return "zero"
	}
	return "init"
}

// DIPSlice is one slice of a trained DIP: what the linearised model is
// built from.
type DIPSlice struct {
	Net    *dip.UNet // with its output scale set
	Params []float32 // all parameters, conv weights first (θ*)
	Input  []float32 // the network input z
	// Seed is the seed of the fit's initial draw, which recovers θ₀ for
	// CentreInit; HasSeed says whether it is known.
	Seed    uint64
	HasSeed bool
	// Image, when set, is the stored reconstruction; NewDIPModel refuses it
	// unless it is what the network computes.
	Image []float32
}

// SliceOf returns slice k of a stored model as a DIPSlice.
func SliceOf(m *dip.Model, k int) (DIPSlice, error) {
	u, params, input, err := m.Slice(k)
	if err != nil {
		return DIPSlice{}, err
	}
	seed, ok := m.Seed()
	return DIPSlice{Net: u, Params: params, Input: input, Seed: seed, HasSeed: ok}, nil
}

// DIPSettings configure NewDIPModel: how the model is fitted and evaluated
// (Settings) and how the problem is set up from the DIP. The zero value is
// not the default: start from DefaultDIPSettings.
type DIPSettings struct {
	Settings
	// Centre is the prior mean; CentreInit falls back to zero (and says so
	// in DIPModel.Centre) when the slice has no seed, unless RequireSeed.
	Centre      PriorCentre
	RequireSeed bool
	// GPrior normalises every weight by its scale in the data (GPrior):
	// exact scales in the exact regime, GPriorProbes Rademacher probes in
	// the matrix-free one.
	GPrior       bool
	GPriorProbes int
	// NoiseStd, when > 0, is the initial σ_y (kept there by FixNoise in
	// MLL or EM); 0 keeps the prior's initial σ_y² = 1.
	NoiseStd float64
}

// DefaultGPriorProbes is the number of random probes behind the g-prior's
// weight scales in the matrix-free regime: relative error √(2/64) ≈ 0.18 per
// weight scale, for 64 VJPs (6 s on a 128² slice, against minutes for the
// rest). Other counts were not compared.
const DefaultGPriorProbes = 64

// DefaultDIPSettings are the settings of `ctrecon uncertainty` without
// flags, which `study` and the experimental design use too: the Laplace
// MLL (1000 Adam steps in the exact regime, its fixed point with at most
// 60 iterations to DefaultEMTol in the matrix-free one), the prior centred
// at θ₀, and the subspace model allowed half of memAvailable bytes (0:
// its own default).
func DefaultDIPSettings(memAvailable int64) DIPSettings {
	s := DIPSettings{Centre: CentreInit, GPriorProbes: DefaultGPriorProbes}
	s.MLL.Steps = 1000
	s.EM = EMSettings{Tol: DefaultEMTol, Iters: 60}
	if memAvailable > 0 {
		s.MatrixFree.Subspace.MaxBytes = memAvailable / 2
	}
	return s
}

// DIPModel is a linearised DIP ready to run: the problem, its prior and
// the regime it will use.
type DIPModel struct {
	Problem  *Problem
	Prior    *Prior
	Regime   Regime
	Settings Settings
	// Centre is where the prior is centred in fact.
	Centre PriorCentre
	// GPriorFrom says where the g-prior's scales came from ("" without it).
	GPriorFrom string
}

// NewDIPModel is the one path from a trained DIP slice and its measurement
// y = A x + ε to the linearised model: it checks that the network computes
// the stored image, linearises at θ* (the Jacobian with respect to the
// conv weights), centres the prior, chooses the regime and applies the
// g-prior when asked. rng drives the g-prior's probes only.
func NewDIPModel(ctx context.Context, sl DIPSlice, A linop.Operator, y []float32, set DIPSettings, rng *rand.Rand) (*DIPModel, error) {
	u := sl.Net
	J, err := u.Jacobian(sl.Params, sl.Input)
	if err != nil {
		return nil, err
	}
	out := J.Output()
	xhat := out
	if sl.Image != nil {
		if len(sl.Image) != len(out) {
			return nil, fmt.Errorf("linearised: the image has %d pixels, the network %d", len(sl.Image), len(out))
		}
		var maxd, maxv float64
		for i, v := range out {
			maxd = math.Max(maxd, math.Abs(float64(v-sl.Image[i])))
			maxv = math.Max(maxv, math.Abs(float64(v)))
		}
		if maxd > 1e-4*(1+maxv) { // float32 forward passes agree to ~1e-6 relative
			return nil, fmt.Errorf("the image differs from the stored network's output by %.3g; the file is inconsistent", maxd)
		}
		xhat = sl.Image
	} else {
		xhat = append([]float32(nil), out...)
	}
	nw := u.NumConvWeights()
	prob := &Problem{J: J, Blocks: J.PriorBlocks(), A: A, Y: y, Xhat: xhat, Theta: sl.Params[:nw]}
	m := &DIPModel{Problem: prob, Settings: set.Settings, Centre: set.Centre}
	if set.Centre == CentreInit {
		switch {
		case sl.HasSeed:
			prob.PriorMean = dip.InitialParams(u, sl.Seed)[:nw]
		case set.RequireSeed:
			return nil, fmt.Errorf("the prior cannot be centred at the DIP's initial weights: the fit's seed is not recorded")
		default:
			m.Centre = CentreZero
		}
	}
	if m.Prior, err = NewPrior(prob.Blocks, nw); err != nil {
		return nil, err
	}
	if set.NoiseStd > 0 {
		m.Prior.H.LogNoise = 2 * math.Log(set.NoiseStd)
	}
	if m.Regime, err = ChooseRegime(prob, m.Prior, set.Settings); err != nil {
		return nil, err
	}
	m.Settings.Regime = m.Regime
	if set.GPrior {
		gs := GPriorSettings{}
		m.GPriorFrom = "the exact A·J"
		if m.Regime == MatrixFreeRegime {
			probes := set.GPriorProbes
			if probes <= 0 {
				probes = DefaultGPriorProbes
			}
			gs.Probes = probes
			m.GPriorFrom = fmt.Sprintf("%d probes", probes)
		}
		if m.Problem, _, err = GPrior(ctx, prob, gs, rng); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Bytes estimates the model's largest allocation: the exact regime's
// (ExactBytes), or the subspace cap of the matrix-free one (0 when unset).
func (m *DIPModel) Bytes() int64 {
	my, _, n, err := m.Problem.dims()
	if err != nil {
		return 0
	}
	if m.Regime == ExactRegime {
		return ExactBytes(my, n, m.Prior)
	}
	return m.Settings.MatrixFree.Subspace.MaxBytes
}

// Run fits and evaluates the model (Run).
func (m *DIPModel) Run(ctx context.Context, rng *rand.Rand, progress Progress) (*Result, error) {
	return Run(ctx, m.Problem, m.Prior, m.Settings, rng, progress)
}
