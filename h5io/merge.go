package h5io

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Slice ranges. A reconstruction file may hold a contiguous range of a
// scan's slices: its /recon attributes slice_start (the scan index of its
// first slice) and scan_slices (how many the scan has) say which; a file
// without them holds the whole scan. Every dataset in it is per slice along
// its first axis (/recon/image, /recon/std, and every array of every extra
// group: the trained network per slice, the fitted hyperparameters, the
// per-slice table /slices), except /recon/samples, per slice along its
// second. MergeRecon joins such files; it is how a volume job assembles its
// per-slice results and how parts from several processes become one volume.
const (
	AttrSliceStart = "slice_start"
	AttrScanSlices = "scan_slices"
	// AttrScanHash identifies the scan a file was made from and AttrSettings
	// the settings that make its slices comparable; parts with different
	// values are not merged.
	AttrScanHash = "scan_hash"
	AttrSettings = "settings"
	// SlicesGroup holds the per-slice table: one array of [slices] values
	// per quantity (iterations, PSNR, σ_y, ...).
	SlicesGroup = "/slices"
)

// SliceRange returns the scan slices [start, start+Image.Slices) that rc
// holds and how many the scan has.
func (rc *Recon) SliceRange() (start, scanSlices int) {
	start, scanSlices = 0, rc.Image.Slices
	if v, ok := rc.AttrFloat(AttrSliceStart); ok {
		start = int(v)
	}
	if v, ok := rc.AttrFloat(AttrScanSlices); ok {
		scanSlices = int(v)
	}
	return start, scanSlices
}

// SetSliceRange records that rc holds the scan slices from start on, of
// scanSlices in all.
func (rc *Recon) SetSliceRange(start, scanSlices int) {
	rc.SetAttr(AttrSliceStart, start)
	rc.SetAttr(AttrScanSlices, scanSlices)
}

// AttrFloat returns the numeric /recon attribute name.
func (rc *Recon) AttrFloat(name string) (float64, bool) { return attrFloat(rc.Attrs, name) }

// AttrString returns the string /recon attribute name.
func (rc *Recon) AttrString(name string) (string, bool) { return attrString(rc.Attrs, name) }

// attrFloat returns the numeric attribute name of attrs.
func attrFloat(attrs []Attr, name string) (float64, bool) {
	if v, ok := findAttr(attrs, name); ok {
		return attrNumber(v)
	}
	return 0, false
}

// attrString returns the string attribute name of attrs.
func attrString(attrs []Attr, name string) (string, bool) {
	if v, ok := findAttr(attrs, name); ok {
		s, ok := v.(string)
		return s, ok
	}
	return "", false
}

// SetAttr sets (adds or replaces) the /recon attribute name.
func (rc *Recon) SetAttr(name string, v any) {
	for i := range rc.Attrs {
		if rc.Attrs[i].Name == name {
			rc.Attrs[i].Value = v
			return
		}
	}
	rc.Attrs = append(rc.Attrs, Attr{name, v})
}

func attrNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	}
	return 0, false
}

// MergeRecon joins reconstruction files of contiguous slice ranges of one
// scan into one file of their union (names[i] names parts[i] in errors). It
// refuses gaps, overlaps, and parts from different scans, methods, image
// sizes or settings (AttrScanHash, AttrSettings), or with different
// datasets. /recon attributes equal in every part are kept; "seconds" is
// summed; any other that differs is set to the mean over slices of the
// per-slice table's array of the same name when there is one, and dropped
// otherwise (it described one part). The parts are not modified.
func MergeRecon(parts []*Recon, names []string) (*Recon, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("merge: no parts")
	}
	if len(names) != len(parts) {
		names = make([]string, len(parts))
		for i := range names {
			names[i] = fmt.Sprintf("part %d", i+1)
		}
	}
	order := make([]int, len(parts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		sa, _ := parts[a].SliceRange()
		sb, _ := parts[b].SliceRange()
		return sa - sb
	})
	p0 := parts[order[0]]
	start0, scanSlices := p0.SliceRange()
	rng := func(i int) string {
		s, _ := parts[i].SliceRange()
		return fmt.Sprintf("%s (slices %d:%d)", names[i], s, s+parts[i].Image.Slices)
	}
	for _, i := range order {
		p := parts[i]
		s, ss := p.SliceRange()
		switch {
		case p.Method != p0.Method:
			return nil, fmt.Errorf("merge: %s is a %q reconstruction, %s a %q one", names[i], p.Method, names[order[0]], p0.Method)
		case p.Image.N != p0.Image.N:
			return nil, fmt.Errorf("merge: %s has %d² images, %s %d²", names[i], p.Image.N, names[order[0]], p0.Image.N)
		case ss != scanSlices:
			return nil, fmt.Errorf("merge: %s is from a scan of %d slices, %s from one of %d", names[i], ss, names[order[0]], scanSlices)
		case s < 0 || s+p.Image.Slices > ss:
			return nil, fmt.Errorf("merge: %s claims slices %d:%d of a %d-slice scan", names[i], s, s+p.Image.Slices, ss)
		}
		for _, key := range []string{AttrScanHash, AttrSettings} {
			a, okA := p.AttrString(key)
			b, okB := p0.AttrString(key)
			if okA != okB || a != b {
				what := "scan"
				if key == AttrSettings {
					what = "settings"
				}
				return nil, fmt.Errorf("merge: %s and %s were made from different %s (%s %q vs %q)", names[i], names[order[0]], what, key, a, b)
			}
		}
		if (p.Std == nil) != (p0.Std == nil) {
			return nil, fmt.Errorf("merge: %s and %s differ in having /recon/std", names[i], names[order[0]])
		}
		if len(p.Samples)/len(p.Image.Data) != len(p0.Samples)/len(p0.Image.Data) {
			return nil, fmt.Errorf("merge: %s holds %d posterior samples per slice, %s %d", names[i],
				len(p.Samples)/len(p.Image.Data), names[order[0]], len(p0.Samples)/len(p0.Image.Data))
		}
		if err := sameGroups(p, p0); err != nil {
			return nil, fmt.Errorf("merge: %s and %s: %v", names[i], names[order[0]], err)
		}
	}
	for j := 1; j < len(order); j++ {
		a, b := order[j-1], order[j]
		sa, _ := parts[a].SliceRange()
		sb, _ := parts[b].SliceRange()
		end := sa + parts[a].Image.Slices
		switch {
		case sb < end:
			return nil, fmt.Errorf("merge: %s and %s overlap", rng(a), rng(b))
		case sb > end:
			return nil, fmt.Errorf("merge: a gap: slices %d:%d are in no part (between %s and %s)", end, sb, rng(a), rng(b))
		}
	}

	n := p0.Image.N
	total := 0
	for _, p := range parts {
		total += p.Image.Slices
	}
	out := &Recon{Method: p0.Method, Image: NewVolume(total, n)}
	if p0.Std != nil {
		sd := NewVolume(total, n)
		out.Std = &sd
	}
	k := len(p0.Samples) / len(p0.Image.Data)
	if k > 0 {
		out.Samples = make([]float32, k*total*n*n)
	}
	at := 0
	for _, i := range order {
		p := parts[i]
		ns := p.Image.Slices
		copy(out.Image.Data[at*n*n:], p.Image.Data)
		if out.Std != nil {
			copy(out.Std.Data[at*n*n:], p.Std.Data)
		}
		for r := 0; r < k; r++ {
			copy(out.Samples[(r*total+at)*n*n:(r*total+at+ns)*n*n], p.Samples[r*ns*n*n:(r+1)*ns*n*n])
		}
		at += ns
	}
	for _, g0 := range p0.Groups {
		g := Group{Path: g0.Path, Attrs: append([]Attr(nil), g0.Attrs...)}
		for ai, a0 := range g0.Arrays {
			shape := append([]int{total}, a0.Shape[1:]...)
			var data []float32
			for _, i := range order {
				data = append(data, parts[i].Group(g0.Path).Arrays[ai].Data...)
			}
			g.Arrays = append(g.Arrays, Array{Name: a0.Name, Shape: shape, Data: data})
		}
		out.Groups = append(out.Groups, g)
	}
	out.Attrs = mergeAttrs(parts, order, out)
	out.SetSliceRange(start0, scanSlices)
	return out, nil
}

// sameGroups checks that p has q's groups, in the same order, with the same
// attributes and arrays whose first axis is the part's slice count.
func sameGroups(p, q *Recon) error {
	if len(p.Groups) != len(q.Groups) {
		return fmt.Errorf("they hold different groups (%s vs %s)", groupNames(p), groupNames(q))
	}
	for i, gp := range p.Groups {
		gq := q.Groups[i]
		if gp.Path != gq.Path || len(gp.Arrays) != len(gq.Arrays) {
			return fmt.Errorf("they hold different groups (%s vs %s)", groupNames(p), groupNames(q))
		}
		if !sameAttrs(gp.Attrs, gq.Attrs) {
			return fmt.Errorf("group %s has different attributes (different settings or models)", gp.Path)
		}
		for j, a := range gp.Arrays {
			b := gq.Arrays[j]
			if a.Name != b.Name || len(a.Shape) == 0 || len(a.Shape) != len(b.Shape) || !slices.Equal(a.Shape[1:], b.Shape[1:]) {
				return fmt.Errorf("%s/%s differs in name or shape", gp.Path, a.Name)
			}
			if a.Shape[0] != p.Image.Slices {
				return fmt.Errorf("%s/%s has %d rows for %d slices: not per slice", gp.Path, a.Name, a.Shape[0], p.Image.Slices)
			}
		}
	}
	return nil
}

func groupNames(r *Recon) string {
	var s []string
	for _, g := range r.Groups {
		s = append(s, g.Path)
	}
	return "[" + strings.Join(s, " ") + "]"
}

func sameAttrs(a, b []Attr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || fmt.Sprint(a[i].Value) != fmt.Sprint(b[i].Value) {
			return false
		}
	}
	return true
}

// mergeAttrs builds the merged file's /recon attributes (see MergeRecon).
func mergeAttrs(parts []*Recon, order []int, out *Recon) []Attr {
	p0 := parts[order[0]]
	table := out.Group(SlicesGroup)
	var attrs []Attr
	for _, a := range p0.Attrs {
		if a.Name == AttrSliceStart || a.Name == AttrScanSlices {
			continue
		}
		same := true
		for _, i := range order[1:] {
			v, ok := findAttr(parts[i].Attrs, a.Name)
			if !ok || fmt.Sprint(v) != fmt.Sprint(a.Value) {
				same = false
				break
			}
		}
		switch {
		case same:
			attrs = append(attrs, a)
		case a.Name == "seconds":
			var sum float64
			for _, i := range order {
				v, _ := findAttr(parts[i].Attrs, a.Name)
				x, _ := attrNumber(v)
				sum += x
			}
			attrs = append(attrs, Attr{a.Name, sum})
		case table != nil && table.Get(a.Name) != nil:
			var sum float64
			var cnt int
			for _, v := range table.Get(a.Name).Data {
				if !math.IsNaN(float64(v)) {
					sum += float64(v)
					cnt++
				}
			}
			if cnt > 0 {
				attrs = append(attrs, Attr{a.Name, sum / float64(cnt)})
			}
		}
	}
	return attrs
}

func findAttr(attrs []Attr, name string) (any, bool) {
	for _, a := range attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return nil, false
}

// SliceRows returns the slices [lo, hi) of rc (indices within rc) as a new
// reconstruction, the inverse of MergeRecon: image, std, samples and every
// group array's rows, with the /recon attributes and the slice range
// updated. It copies the data.
func (rc *Recon) SliceRows(lo, hi int) *Recon {
	s, n := rc.Image.Slices, rc.Image.N
	if lo < 0 || hi > s || lo >= hi {
		panic(fmt.Sprintf("h5io: SliceRows(%d, %d) of %d slices", lo, hi, s))
	}
	ns := hi - lo
	out := &Recon{Method: rc.Method, Image: Volume{Slices: ns, N: n, Data: append([]float32(nil), rc.Image.Data[lo*n*n:hi*n*n]...)},
		Attrs: append([]Attr(nil), rc.Attrs...)}
	if rc.Std != nil {
		out.Std = &Volume{Slices: ns, N: n, Data: append([]float32(nil), rc.Std.Data[lo*n*n:hi*n*n]...)}
	}
	for r := 0; r < len(rc.Samples)/len(rc.Image.Data); r++ {
		out.Samples = append(out.Samples, rc.Samples[(r*s+lo)*n*n:(r*s+hi)*n*n]...)
	}
	for _, g := range rc.Groups {
		ng := Group{Path: g.Path, Attrs: append([]Attr(nil), g.Attrs...)}
		for _, a := range g.Arrays {
			row := len(a.Data) / a.Shape[0]
			ng.Arrays = append(ng.Arrays, Array{Name: a.Name, Shape: append([]int{ns}, a.Shape[1:]...),
				Data: append([]float32(nil), a.Data[lo*row:hi*row]...)})
		}
		out.Groups = append(out.Groups, ng)
	}
	start, total := rc.SliceRange()
	out.SetSliceRange(start+lo, total)
	return out
}
