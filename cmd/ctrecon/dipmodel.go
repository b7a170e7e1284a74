package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ctrecon/ctrecon/dip"
	"github.com/ctrecon/ctrecon/h5io"
)

// dipModel is what a DIP reconstruction file stores under /dip so that the
// network can be rebuilt and linearised later: the architecture, the input
// and the trained parameters of every slice.
type dipModel struct {
	Preset      string
	Arch        dip.Arch
	N           int
	Input       []float32 // [slices][N][N]
	Params      []float32 // [slices][P]
	OutputScale []float32 // [slices]
	Slices      int
	Attrs       []h5io.Attr // fit settings and outcome, for the record
}

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

func (m *dipModel) group() h5io.Group {
	P := len(m.Params) / m.Slices
	attrs := []h5io.Attr{
		{Name: "preset", Value: m.Preset},
		{Name: "channels", Value: intsCSV(m.Arch.Channels)},
		{Name: "skip", Value: intsCSV(m.Arch.Skip)},
		{Name: "group_norm", Value: b2i(m.Arch.GroupNorm)},
		{Name: "sigmoid", Value: b2i(m.Arch.Sigmoid)},
		{Name: "image_size", Value: m.N},
	}
	return h5io.Group{Path: "/dip", Attrs: append(attrs, m.Attrs...), Arrays: []h5io.Array{
		{Name: "input", Shape: []int{m.Slices, m.N, m.N}, Data: m.Input},
		{Name: "params", Shape: []int{m.Slices, P}, Data: m.Params},
		{Name: "output_scale", Shape: []int{m.Slices}, Data: m.OutputScale},
	}}
}

// readDIPModel rebuilds the model stored in a reconstruction file.
func readDIPModel(path string, rc *h5io.Recon) (*dipModel, error) {
	grp := rc.Group("/dip")
	if grp == nil {
		return nil, fmt.Errorf("%s has no trained DIP model (/dip); make it with ctrecon dip", path)
	}
	m := &dipModel{}
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
	u, err := dip.NewUNet(m.Arch, m.N)
	if err != nil {
		return nil, fmt.Errorf("%s: /dip: %v", path, err)
	}
	if u.NumParams() != pa.Shape[1] {
		return nil, fmt.Errorf("%s: /dip params has %d values per slice, the architecture has %d", path, pa.Shape[1], u.NumParams())
	}

	return m, nil
}

// network returns the U-Net of slice k with its parameters and input.
func (m *dipModel) network(k int) (*dip.UNet, []float32, []float32, error) {
	u, err := dip.NewUNet(m.Arch, m.N)
	if err != nil {
		return nil, nil, nil, err
	}
	P := u.NumParams()
	u.SetOutputScale(m.OutputScale[k])
	return u, m.Params[k*P : (k+1)*P], m.Input[k*m.N*m.N : (k+1)*m.N*m.N], nil
}
