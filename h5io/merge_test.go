package h5io

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// wholeRecon is a 5-slice reconstruction with a std, 2 samples, a model
// group and a per-slice table, every value distinct.
func wholeRecon() *Recon {
	const s, n = 5, 3
	rc := &Recon{Method: "uncertainty", Image: NewVolume(s, n)}
	sd := NewVolume(s, n)
	rc.Std = &sd
	rc.Samples = make([]float32, 2*s*n*n)
	for i := range rc.Image.Data {
		rc.Image.Data[i], sd.Data[i] = float32(i), float32(1000+i)
	}
	for i := range rc.Samples {
		rc.Samples[i] = float32(2000 + i)
	}
	params := make([]float32, s*4)
	for i := range params {
		params[i] = float32(3000 + i)
	}
	psnr := []float32{30, 31, 32, 33, 34}
	rc.Groups = []Group{
		{Path: "/dip", Attrs: []Attr{{"preset", "small"}}, Arrays: []Array{{Name: "params", Shape: []int{s, 4}, Data: params}}},
		{Path: SlicesGroup, Arrays: []Array{{Name: "psnr", Shape: []int{s}, Data: psnr}}},
	}
	rc.Attrs = []Attr{{AttrScanHash, "abc"}, {AttrSettings, "tv=1"}, {"psnr", 32.0}, {"seconds", 10.0}}
	return rc
}

// part cuts slices [a, b) out of whole, as a process given --slices a:b
// would write them (its own mean PSNR and time).
func part(whole *Recon, a, b int) *Recon {
	n := whole.Image.N
	ns := b - a
	p := &Recon{Method: whole.Method, Image: Volume{Slices: ns, N: n, Data: whole.Image.Data[a*n*n : b*n*n]}}
	sd := Volume{Slices: ns, N: n, Data: whole.Std.Data[a*n*n : b*n*n]}
	p.Std = &sd
	s := whole.Image.Slices
	for r := 0; r < 2; r++ {
		p.Samples = append(p.Samples, whole.Samples[(r*s+a)*n*n:(r*s+b)*n*n]...)
	}
	for _, g := range whole.Groups {
		ng := Group{Path: g.Path, Attrs: g.Attrs}
		for _, ar := range g.Arrays {
			row := len(ar.Data) / ar.Shape[0]
			ng.Arrays = append(ng.Arrays, Array{Name: ar.Name, Shape: append([]int{ns}, ar.Shape[1:]...), Data: ar.Data[a*row : b*row]})
		}
		p.Groups = append(p.Groups, ng)
	}
	var mean float64
	for _, v := range whole.Group(SlicesGroup).Arrays[0].Data[a:b] {
		mean += float64(v) / float64(ns)
	}
	p.Attrs = []Attr{{AttrScanHash, "abc"}, {AttrSettings, "tv=1"}, {"psnr", mean}, {"seconds", float64(ns)}}
	p.SetSliceRange(a, s)
	return p
}

func TestMergeReconJoinsParts(t *testing.T) {
	whole := wholeRecon()
	// Out of order, through files, as ctrecon merge reads them.
	d := t.TempDir()
	var parts []*Recon
	var names []string
	for _, r := range [][2]int{{3, 5}, {0, 1}, {1, 3}} {
		path := filepath.Join(d, "p.h5")
		if err := WriteRecon(path, part(whole, r[0], r[1])); err != nil {
			t.Fatal(err)
		}
		p, err := ReadRecon(path)
		if err != nil {
			t.Fatal(err)
		}
		parts, names = append(parts, p), append(names, path)
	}
	m, err := MergeRecon(parts, names)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Image.Data, whole.Image.Data) || !slices.Equal(m.Std.Data, whole.Std.Data) || !slices.Equal(m.Samples, whole.Samples) {
		t.Fatal("merged image, std or samples differ from the whole")
	}
	for _, g := range whole.Groups {
		mg := m.Group(g.Path)
		if mg == nil || !slices.Equal(mg.Arrays[0].Data, g.Arrays[0].Data) || !slices.Equal(mg.Arrays[0].Shape, g.Arrays[0].Shape) {
			t.Fatalf("group %s not reassembled", g.Path)
		}
	}
	if s, ss := m.SliceRange(); s != 0 || ss != 5 {
		t.Fatalf("merged range %d of %d", s, ss)
	}
	if v, _ := m.AttrFloat("seconds"); v != 5 {
		t.Errorf("seconds %v, want the parts' sum 5", v)
	}
	if v, _ := m.AttrFloat("psnr"); math.Abs(v-32) > 1e-6 {
		t.Errorf("psnr %v, want the mean of the per-slice table 32", v)
	}
	if v, _ := m.AttrString(AttrScanHash); v != "abc" {
		t.Errorf("scan hash %q", v)
	}
	// SliceRows cuts the same parts back out.
	for _, r := range [][2]int{{0, 1}, {1, 3}, {3, 5}} {
		got, want := m.SliceRows(r[0], r[1]), part(whole, r[0], r[1])
		if !slices.Equal(got.Image.Data, want.Image.Data) || !slices.Equal(got.Samples, want.Samples) ||
			!slices.Equal(got.Groups[0].Arrays[0].Data, want.Groups[0].Arrays[0].Data) {
			t.Fatalf("SliceRows(%d, %d) differs from the part", r[0], r[1])
		}
		if s, _ := got.SliceRange(); s != r[0] {
			t.Fatalf("SliceRows(%d, %d) starts at %d", r[0], r[1], s)
		}
	}
	// A merge of a sub-range is itself a part.
	sub, err := MergeRecon([]*Recon{part(whole, 2, 3), part(whole, 3, 4)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := sub.SliceRange(); s != 2 || sub.Image.Slices != 2 {
		t.Fatalf("sub-range merge covers %d slices from %d", sub.Image.Slices, s)
	}
}

func TestMergeReconRefuses(t *testing.T) {
	whole := wholeRecon()
	other := func(f func(*Recon)) *Recon { p := part(whole, 2, 5); f(p); return p }
	for _, c := range []struct {
		name  string
		parts []*Recon
		want  string
	}{
		{"gap", []*Recon{part(whole, 0, 2), part(whole, 3, 5)}, "gap: slices 2:3"},
		{"overlap", []*Recon{part(whole, 0, 3), part(whole, 2, 5)}, "overlap"},
		{"other scan", []*Recon{part(whole, 0, 2), other(func(p *Recon) { p.SetAttr(AttrScanHash, "xyz") })}, "different scan"},
		{"other settings", []*Recon{part(whole, 0, 2), other(func(p *Recon) { p.SetAttr(AttrSettings, "tv=2") })}, "different settings"},
		{"other method", []*Recon{part(whole, 0, 2), other(func(p *Recon) { p.Method = "dip" })}, "reconstruction"},
		{"no std", []*Recon{part(whole, 0, 2), other(func(p *Recon) { p.Std = nil })}, "/recon/std"},
		{"other model", []*Recon{part(whole, 0, 2), other(func(p *Recon) { p.Groups[0].Attrs = []Attr{{"preset", "large"}} })}, "different attributes"},
		{"missing group", []*Recon{part(whole, 0, 2), other(func(p *Recon) { p.Groups = p.Groups[:1] })}, "different groups"},
		{"other scan size", []*Recon{part(whole, 0, 2), other(func(p *Recon) { p.SetSliceRange(2, 7) })}, "scan of 7 slices"},
	} {
		_, err := MergeRecon(c.parts, []string{"a.h5", "b.h5"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
