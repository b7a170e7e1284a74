package h5io

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/hdf5"
)

// Entry describes one object of a file, for `ctrecon info`.
type Entry struct {
	Path    string
	IsGroup bool
	Shape   []int  // datasets only
	Type    string // "float32", "int16", "string", ...
	// Min, Max and Mean of numeric datasets (NaN counted separately).
	Min, Max, Mean float64
	NaNs           int
	Attrs          []AttrText
}

// AttrText is an attribute rendered for display.
type AttrText struct{ Name, Value string }

// Walk lists every group and dataset in the file, depth first, with
// statistics of numeric datasets. It reads every numeric dataset once.
func (r *Reader) Walk() ([]Entry, error) {
	var out []Entry
	err := r.walk("/", &out)
	return out, err
}

func depth(path string) int { return strings.Count(strings.Trim(path, "/"), "/") + 1 }

func (r *Reader) walk(path string, out *[]Entry) error {
	g, err := r.f.OpenGroup(path)
	if err != nil {
		return fmt.Errorf("%s: cannot open group %s", r.path, path)
	}
	defer g.Close()
	e := Entry{Path: path, IsGroup: true}
	e.Attrs = attrTexts(g.ID())
	*out = append(*out, e)
	n, err := g.NumObjects()
	if err != nil {
		return fmt.Errorf("%s: cannot list group %s", r.path, path)
	}
	for i := uint(0); i < n; i++ {
		name, err := g.ObjectNameByIndex(i)
		if err != nil {
			return fmt.Errorf("%s: cannot list group %s", r.path, path)
		}
		child := strings.TrimSuffix(path, "/") + "/" + name
		typ, err := g.ObjectTypeByIndex(i)
		if err != nil {
			continue
		}
		switch typ {
		case hdf5.H5G_GROUP:
			if err := r.walk(child, out); err != nil {
				return err
			}
		case hdf5.H5G_DATASET:
			e, err := r.describe(child)
			if err != nil {
				return err
			}
			*out = append(*out, e)
		}
	}
	return nil
}

func attrTexts(id int64) []AttrText {
	attrs, err := h5attrs(id)
	if err != nil {
		return []AttrText{{"(error)", err.Error()}}
	}
	out := make([]AttrText, len(attrs))
	for i, a := range attrs {
		out[i].Name = a.Name
		switch {
		case a.IsText:
			out[i].Value = fmt.Sprintf("%q", a.Str)
		case len(a.Nums) == 1:
			out[i].Value = fmt.Sprintf("%g", a.Nums[0])
		case len(a.Nums) <= 8:
			out[i].Value = fmt.Sprintf("%g", a.Nums)
		default:
			out[i].Value = fmt.Sprintf("[%d values]", len(a.Nums))
		}
	}
	return out
}

func (r *Reader) describe(path string) (Entry, error) {
	e := Entry{Path: path}
	ds, err := r.open(path)
	if err != nil {
		return e, err
	}
	defer ds.Close()
	if e.Shape, err = datasetShape(ds); err != nil {
		return e, fmt.Errorf("%s: dataset %s: %v", r.path, path, err)
	}
	e.Attrs = attrTexts(ds.ID())
	class, size := h5dsetClass(ds.ID())
	switch class {
	case classFloat:
		e.Type = fmt.Sprintf("float%d", 8*size)
	case classInteger:
		e.Type = fmt.Sprintf("int%d", 8*size)
		if h5dsetUnsigned(ds.ID()) {
			e.Type = "u" + e.Type
		}
	case classString:
		e.Type = "string"
		return e, nil
	default:
		e.Type = "other"
		return e, nil
	}
	data := make([]float64, prod(e.Shape))
	if err := h5readF64(ds.ID(), data); err != nil {
		return e, fmt.Errorf("%s: dataset %s: %v", r.path, path, err)
	}
	e.Min, e.Max = math.Inf(1), math.Inf(-1)
	var sum float64
	for _, v := range data {
		if math.IsNaN(v) {
			e.NaNs++
			continue
		}
		e.Min, e.Max = math.Min(e.Min, v), math.Max(e.Max, v)
		sum += v
	}
	if k := len(data) - e.NaNs; k > 0 {
		e.Mean = sum / float64(k)
	}
	return e, nil
}

// GroupAttrs reads the attributes of the group at path (numbers as
// float64, text as string).
func (r *Reader) GroupAttrs(path string) ([]Attr, error) {
	grp, err := r.f.OpenGroup(path)
	if err != nil {
		return nil, fmt.Errorf("%s: group %s is missing", r.path, path)
	}
	defer grp.Close()
	return groupAttrs(r.path, path, grp.ID())
}

func groupAttrs(file, path string, id int64) ([]Attr, error) {
	attrs, err := h5attrs(id)
	if err != nil {
		return nil, fmt.Errorf("%s: group %s: %v", file, path, err)
	}
	var out []Attr
	for _, a := range attrs {
		switch {
		case a.IsText:
			out = append(out, Attr{a.Name, a.Str})
		case len(a.Nums) == 1:
			out = append(out, Attr{a.Name, a.Nums[0]})
		}
	}
	return out, nil
}

// ReadGroup reads every numeric dataset directly under path as float32
// arrays, and the group's attributes (numbers as float64, text as string).
func (r *Reader) ReadGroup(path string) (Group, error) {
	g := Group{Path: path}
	grp, err := r.f.OpenGroup(path)
	if err != nil {
		return g, fmt.Errorf("%s: group %s is missing", r.path, path)
	}
	defer grp.Close()
	if g.Attrs, err = groupAttrs(r.path, path, grp.ID()); err != nil {
		return g, err
	}
	n, err := grp.NumObjects()
	if err != nil {
		return g, fmt.Errorf("%s: cannot list group %s", r.path, path)
	}
	for i := uint(0); i < n; i++ {
		name, err := grp.ObjectNameByIndex(i)
		if err != nil {
			return g, fmt.Errorf("%s: cannot list group %s", r.path, path)
		}
		if typ, err := grp.ObjectTypeByIndex(i); err != nil || typ != hdf5.H5G_DATASET {
			continue
		}
		data, shape, err := r.Float32(path+"/"+name, -1)
		if err != nil {
			return g, err
		}
		g.Arrays = append(g.Arrays, Array{Name: name, Shape: shape, Data: data})
	}
	return g, nil
}

// AttrFloat returns the numeric attribute name of the group, if present.
func (g *Group) AttrFloat(name string) (float64, bool) { return attrFloat(g.Attrs, name) }

// AttrString returns the text attribute name of the group, if present.
func (g *Group) AttrString(name string) (string, bool) { return attrString(g.Attrs, name) }
