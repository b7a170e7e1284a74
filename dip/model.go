package dip

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ctrecon/ctrecon/h5io"
)

// Model is a trained DIP as a reconstruction file stores it under /dip, so
// that the network can be rebuilt and linearised later: the architecture,
// and per slice the input, the trained parameters and the output scale.
type Model struct {
	Preset      string
	Arch        Arch
	N           int
	Slices      int
	Input       []float32 // [slices][N][N]
	Params      []float32 // [slices][P]
	OutputScale []float32 // [slices]
	// Attrs are the fit's settings and outcome, for the record (gamma, seed,
	// scan_hash, ...); ReadModel returns all of /dip's attributes but the
	// architecture's.
	Attrs []h5io.Attr
}

// ModelGroup is the HDF5 group a Model is stored under.
const ModelGroup = "/dip"

func intsCSV(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

var archAttrs = map[string]bool{"preset": true, "channels": true, "skip": true,
	"group_norm": true, "sigmoid": true, "image_size": true}

// Group returns the model as the /dip group of a reconstruction file.
func (m *Model) Group() h5io.Group {
	P := len(m.Params) / m.Slices
	attrs := []h5io.Attr{
		{Name: "preset", Value: m.Preset},
		{Name: "channels", Value: intsCSV(m.Arch.Channels)},
		{Name: "skip", Value: intsCSV(m.Arch.Skip)},
		{Name: "group_norm", Value: b2i(m.Arch.GroupNorm)},
		{Name: "sigmoid", Value: b2i(m.Arch.Sigmoid)},
		{Name: "image_size", Value: m.N},
	}
	return h5io.Group{Path: ModelGroup, Attrs: append(attrs, m.Attrs...), Arrays: []h5io.Array{
		{Name: "input", Shape: []int{m.Slices, m.N, m.N}, Data: m.Input},
		{Name: "params", Shape: []int{m.Slices, P}, Data: m.Params},
		{Name: "output_scale", Shape: []int{m.Slices}, Data: m.OutputScale},
	}}
}

// ReadModel rebuilds the model stored in a reconstruction file (path is for
// the messages) and checks it for consistency: the architecture is valid
// for the size and the parameter count matches it.
func ReadModel(path string, rc *h5io.Recon) (*Model, error) {
	grp := rc.Group(ModelGroup)
	if grp == nil {
		return nil, fmt.Errorf("%s has no trained DIP model (/dip); make it with ctrecon dip", path)
	}
	m := &Model{}
	for _, a := range grp.Attrs {
		if !archAttrs[a.Name] { // Group writes them from Arch
			m.Attrs = append(m.Attrs, a)
		}
	}
	m.Preset, _ = grp.AttrString("preset")
	ch, ok1 := grp.AttrString("channels")
	sk, ok2 := grp.AttrString("skip")
	gn, ok3 := grp.AttrFloat("group_norm")
	sg, ok4 := grp.AttrFloat("sigmoid")
	n, ok5 := grp.AttrFloat("image_size")
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return nil, fmt.Errorf("%s: /dip lacks its architecture attributes (channels, skip, group_norm, sigmoid, image_size)", path)
	}
	var err error
	if m.Arch.Channels, err = parseInts(ch); err != nil {
		return nil, fmt.Errorf("%s: /dip channels %q: %v", path, ch, err)
	}
	if m.Arch.Skip, err = parseInts(sk); err != nil {
		return nil, fmt.Errorf("%s: /dip skip %q: %v", path, sk, err)
	}
	m.Arch.GroupNorm, m.Arch.Sigmoid, m.N = gn != 0, sg != 0, int(n)
	in, pa, sc := grp.Get("input"), grp.Get("params"), grp.Get("output_scale")
	if in == nil || pa == nil || sc == nil {
		return nil, fmt.Errorf("%s: /dip needs the datasets input, params and output_scale", path)
	}
	if len(in.Shape) != 3 || in.Shape[1] != m.N || in.Shape[2] != m.N || len(pa.Shape) != 2 || pa.Shape[0] != in.Shape[0] || len(sc.Data) != in.Shape[0] {
		return nil, fmt.Errorf("%s: /dip datasets have inconsistent shapes (input %v, params %v, output_scale %v)", path, in.Shape, pa.Shape, sc.Shape)
	}
	m.Slices, m.Input, m.Params, m.OutputScale = in.Shape[0], in.Data, pa.Data, sc.Data
	if err := m.Arch.Validate(m.N); err != nil {
		return nil, fmt.Errorf("%s: /dip: %v", path, err)
	}
	u, err := NewUNet(m.Arch, m.N)
	if err != nil {
		return nil, fmt.Errorf("%s: /dip: %v", path, err)
	}
	if u.NumParams() != pa.Shape[1] {
		return nil, fmt.Errorf("%s: /dip params has %d values per slice, the architecture has %d", path, pa.Shape[1], u.NumParams())
	}
	return m, nil
}

// Seed is the seed of the fit's initial draw (InitialParams), when the
// model records one.
func (m *Model) Seed() (uint64, bool) {
	v, ok := m.Attr("seed")
	return uint64(v), ok
}

// Attr returns the numeric attribute name of the fit, when recorded.
func (m *Model) Attr(name string) (float64, bool) {
	g := h5io.Group{Attrs: m.Attrs}
	return g.AttrFloat(name)
}

// Slice returns the U-Net of slice k (its output scale set) with that
// slice's parameters and input. The slices alias the model's.
func (m *Model) Slice(k int) (*UNet, []float32, []float32, error) {
	if k < 0 || k >= m.Slices {
		return nil, nil, nil, fmt.Errorf("dip: slice %d of a %d-slice model", k, m.Slices)
	}
	u, err := NewUNet(m.Arch, m.N)
	if err != nil {
		return nil, nil, nil, err
	}
	P := u.NumParams()
	u.SetOutputScale(m.OutputScale[k])
	return u, m.Params[k*P : (k+1)*P], m.Input[k*m.N*m.N : (k+1)*m.N*m.N], nil
}
