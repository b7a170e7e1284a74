package linearised

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/linop"
)

// StoredGroup is where an uncertainty file keeps what rebuilds its model:
// the fitted hyperparameters of every slice and the settings that shaped
// the problem (prior centre, g-prior and the seed of its probes).
const StoredGroup = "/linearised"

// Stored is the fitted linearised model of a reconstruction file, less
// what the /dip group already holds.
type Stored struct {
	Hyper        []Hyper // per slice
	Centre       PriorCentre
	GPrior       bool
	GPriorProbes int
	Seed         uint64 // the uncertainty run's seed (GPriorRNG)
}

// GPriorRNG is the random stream behind slice k's g-prior probes for a run
// seeded with seed: uncertainty and Rebuild draw the same probes.
func GPriorRNG(seed uint64, k int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x67707200+uint64(k)))
}

// Group returns the stored model as an HDF5 group (log-hyperparameters as
// float32 arrays [slices][blocks] and [slices]).
func (s *Stored) Group() h5io.Group {
	S := len(s.Hyper)
	B := 0
	if S > 0 {
		B = len(s.Hyper[0].LogVar)
	}
	lv, ll, ln := make([]float32, 0, S*B), make([]float32, 0, S*B), make([]float32, 0, S)
	for _, h := range s.Hyper {
		for b := 0; b < B; b++ {
			lv, ll = append(lv, float32(h.LogVar[b])), append(ll, float32(h.LogLen[b]))
		}
		ln = append(ln, float32(h.LogNoise))
	}
	b2i := 0
	if s.GPrior {
		b2i = 1
	}
	return h5io.Group{Path: StoredGroup,
		Attrs: []h5io.Attr{{Name: "prior_mean", Value: s.Centre.String()}, {Name: "g_prior", Value: b2i},
			{Name: "g_prior_probes", Value: s.GPriorProbes}, {Name: "seed", Value: int(s.Seed)}},
		Arrays: []h5io.Array{{Name: "log_var", Shape: []int{S, B}, Data: lv}, {Name: "log_len", Shape: []int{S, B}, Data: ll},
			{Name: "log_noise", Shape: []int{S}, Data: ln}}}
}

// ReadStored reads the stored model of a reconstruction file (path names
// it in errors); ok is false when the file has none.
func ReadStored(path string, rc *h5io.Recon) (s *Stored, ok bool, err error) {
	g := rc.Group(StoredGroup)
	if g == nil {
		return nil, false, nil
	}
	lv, ll, ln := g.Get("log_var"), g.Get("log_len"), g.Get("log_noise")
	if lv == nil || ll == nil || ln == nil || len(lv.Shape) != 2 || len(ll.Data) != len(lv.Data) || len(ln.Data) != lv.Shape[0] {
		return nil, false, fmt.Errorf("%s: %s lacks consistent log_var, log_len and log_noise", path, StoredGroup)
	}
	s = &Stored{}
	S, B := lv.Shape[0], lv.Shape[1]
	for k := 0; k < S; k++ {
		h := Hyper{LogVar: make([]float64, B), LogLen: make([]float64, B), LogNoise: float64(ln.Data[k])}
		for b := 0; b < B; b++ {
			h.LogVar[b], h.LogLen[b] = float64(lv.Data[k*B+b]), float64(ll.Data[k*B+b])
		}
		s.Hyper = append(s.Hyper, h)
	}
	if c, _ := g.AttrString("prior_mean"); c == "zero" {
		s.Centre = CentreZero
	}
	gp, _ := g.AttrFloat("g_prior")
	probes, _ := g.AttrFloat("g_prior_probes")
	seed, _ := g.AttrFloat("seed")
	s.GPrior, s.GPriorProbes, s.Seed = gp != 0, int(probes), uint64(seed)
	return s, true, nil
}

// Rebuild returns slice k's linearised model with the stored
// hyperparameters, set not to refit: its Run gives the posterior the file
// was made from (for samples or the dense covariance). set supplies the
// evaluation settings (regime choice, memory); its fit is switched off.
func (s *Stored) Rebuild(ctx context.Context, m *dip.Model, k int, image []float32, A linop.Operator, y []float32, set DIPSettings) (*DIPModel, error) {
	if k < 0 || k >= len(s.Hyper) {
		return nil, fmt.Errorf("linearised: the stored model has %d slice(s), not %d", len(s.Hyper), k+1)
	}
	sl, err := SliceOf(m, k)
	if err != nil {
		return nil, err
	}
	sl.Image = image
	set.Centre, set.GPrior, set.GPriorProbes = s.Centre, s.GPrior, s.GPriorProbes
	set.RequireSeed = s.Centre == CentreInit
	lm, err := NewDIPModel(ctx, sl, A, y, set, GPriorRNG(s.Seed, k))
	if err != nil {
		return nil, err
	}
	h := s.Hyper[k]
	if len(h.LogVar) != len(lm.Prior.H.LogVar) {
		return nil, fmt.Errorf("linearised: the stored hyperparameters have %d blocks, the network %d", len(h.LogVar), len(lm.Prior.H.LogVar))
	}
	lm.Prior.H = h.Clone()
	lm.Settings.SkipFit = true
	return lm, nil
}
