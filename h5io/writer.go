package h5io

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"gonum.org/v1/hdf5"

	"github.com/ctrecon/ctrecon/internal/atomicfile"
	"github.com/ctrecon/ctrecon/internal/units"
)

// Attr is one attribute to write: Value is a float64, an int, or a string.
// (The HDF5 binding writes Go scalars or arrays, never slices.)
type Attr struct {
	Name  string
	Value any
}

// Writer builds an HDF5 file under a temporary name in the destination's
// folder; Commit renames it into place, Abort removes it. A run that fails
// or is interrupted therefore never leaves a partial output file. The file
// gets the usual permissions, 0666 less the umask.
type Writer struct {
	final, tmp string
	f          *hdf5.File
	groups     map[string]bool
	err        error
}

// Create starts writing path. Nothing appears at path until Commit.
func Create(path string) (*Writer, error) {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s: output folder %s does not exist", path, dir)
	}
	tmpf, err := atomicfile.CreateTemp(path) // 0666 less the umask; HDF5 truncates it and keeps the mode
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tmp := tmpf.Name()
	tmpf.Close()
	var f *hdf5.File
	quietly(func() { f, err = hdf5.CreateFile(tmp, hdf5.F_ACC_TRUNC) })
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("%s: cannot create HDF5 file: %v", path, err)
	}
	return &Writer{final: path, tmp: tmp, f: f, groups: map[string]bool{"/": true}}, nil
}

// Abort discards everything written so far. It is safe after Commit (a no-op).
func (w *Writer) Abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	if w.tmp != "" {
		os.Remove(w.tmp)
		w.tmp = ""
	}
}

// Commit closes the file and moves it to its final name, replacing any
// earlier file there. After an earlier write error it aborts and returns it.
func (w *Writer) Commit() error {
	if w.err != nil {
		w.Abort()
		return w.err
	}
	if err := w.f.Close(); err != nil {
		w.f = nil
		w.Abort()
		return fmt.Errorf("%s: closing HDF5 file: %v%s", w.final, err, spaceHint(w.tmp))
	}
	w.f = nil
	if err := os.Rename(w.tmp, w.final); err != nil {
		w.Abort()
		return fmt.Errorf("%s: %w", w.final, err)
	}
	w.tmp = ""
	return nil
}

// ensureGroups creates the parent groups of a dataset path.
func (w *Writer) ensureGroups(path string) error {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	cur := ""
	for _, p := range parts[:len(parts)-1] {
		cur += "/" + p
		if w.groups[cur] {
			continue
		}
		g, err := w.f.CreateGroup(cur)
		if err != nil {
			return fmt.Errorf("%s: cannot create group %s: %v", w.final, cur, err)
		}
		g.Close()
		w.groups[cur] = true
	}
	return nil
}

// DatasetOptions control storage of one dataset.
type DatasetOptions struct {
	// Chunk, when not nil, stores the dataset in chunks of this shape,
	// deflate-compressed (level 4). Use it for volumes.
	Chunk []int
}

// Float32 writes a float32 dataset of the given shape (row-major data).
func (w *Writer) Float32(path string, shape []int, data []float32, opt DatasetOptions, attrs ...Attr) {
	if w.err != nil {
		return
	}
	w.err = w.write(path, shape, len(data), hdf5.T_NATIVE_FLOAT, &data, opt, attrs)
}

// Float64 writes a float64 dataset of the given shape.
func (w *Writer) Float64(path string, shape []int, data []float64, opt DatasetOptions, attrs ...Attr) {
	if w.err != nil {
		return
	}
	w.err = w.write(path, shape, len(data), hdf5.T_NATIVE_DOUBLE, &data, opt, attrs)
}

// Err reports the first error met by Float32, Float64 or GroupAttrs.
func (w *Writer) Err() error { return w.err }

func (w *Writer) write(path string, shape []int, n int, dtype *hdf5.Datatype, data any, opt DatasetOptions, attrs []Attr) error {
	if prod(shape) != n {
		return fmt.Errorf("%s: dataset %s: shape %v holds %d values, data has %d", w.final, path, shape, prod(shape), n)
	}
	if err := w.ensureGroups(path); err != nil {
		return err
	}
	dims := make([]uint, len(shape))
	for i, d := range shape {
		dims[i] = uint(d)
	}
	space, err := hdf5.CreateSimpleDataspace(dims, nil)
	if err != nil {
		return fmt.Errorf("%s: dataset %s: %v", w.final, path, err)
	}
	defer space.Close()
	dcpl, err := hdf5.NewPropList(hdf5.P_DATASET_CREATE)
	if err != nil {
		return err
	}
	defer dcpl.Close()
	if opt.Chunk != nil && n > 0 {
		cd := make([]uint, len(opt.Chunk))
		for i, c := range opt.Chunk {
			cd[i] = uint(max(1, min(c, shape[i])))
		}
		if err := dcpl.SetChunk(cd); err != nil {
			return fmt.Errorf("%s: dataset %s: chunking: %v", w.final, path, err)
		}
		if err := dcpl.SetDeflate(4); err != nil {
			return fmt.Errorf("%s: dataset %s: compression: %v", w.final, path, err)
		}
	}
	ds, err := w.f.CreateDatasetWith(path, dtype, space, dcpl)
	if err != nil {
		return fmt.Errorf("%s: cannot create dataset %s: %v", w.final, path, err)
	}
	defer ds.Close()
	if n > 0 {
		if err := ds.Write(data); err != nil {
			return fmt.Errorf("%s: writing dataset %s: %v%s", w.final, path, err, spaceHint(w.tmp))
		}
	}
	return writeAttrs(ds.CreateAttribute, w.final, path, attrs)
}

// GroupAttrs writes attributes on a group, creating it when needed.
func (w *Writer) GroupAttrs(path string, attrs ...Attr) {
	if w.err != nil {
		return
	}
	if err := w.ensureGroups(path + "/x"); err != nil {
		w.err = err
		return
	}
	g, err := w.f.OpenGroup(path)
	if err != nil {
		w.err = fmt.Errorf("%s: cannot open group %s: %v", w.final, path, err)
		return
	}
	defer g.Close()
	w.err = writeAttrs(g.CreateAttribute, w.final, path, attrs)
}

func writeAttrs(create func(string, *hdf5.Datatype, *hdf5.Dataspace) (*hdf5.Attribute, error), file, obj string, attrs []Attr) error {
	for _, a := range attrs {
		if err := writeAttr(create, a); err != nil {
			return fmt.Errorf("%s: attribute %s of %s: %v", file, a.Name, obj, err)
		}
	}
	return nil
}

func writeAttr(create func(string, *hdf5.Datatype, *hdf5.Dataspace) (*hdf5.Attribute, error), a Attr) error {
	scalar, err := hdf5.CreateDataspace(hdf5.S_SCALAR)
	if err != nil {
		return err
	}
	defer scalar.Close()
	switch v := a.Value.(type) {
	case float64:
		at, err := create(a.Name, hdf5.T_NATIVE_DOUBLE, scalar)
		if err != nil {
			return err
		}
		defer at.Close()
		return at.Write(&v, hdf5.T_NATIVE_DOUBLE)
	case int:
		x := int64(v)
		at, err := create(a.Name, hdf5.T_NATIVE_INT64, scalar)
		if err != nil {
			return err
		}
		defer at.Close()
		return at.Write(&x, hdf5.T_NATIVE_INT64)
	case string:
		at, err := create(a.Name, hdf5.T_GO_STRING, scalar)
		if err != nil {
			return err
		}
		defer at.Close()
		return at.Write(&v, hdf5.T_GO_STRING)
	default:
		return fmt.Errorf("unsupported attribute type %T", a.Value)
	}
}

func prod(shape []int) int {
	p := 1
	for _, d := range shape {
		p *= d
	}
	return p
}

// checkFinite32 returns an error naming the first NaN or Inf value.
func checkFinite32(data []float32) error {
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("value %d is %v (NaN or Inf values are not accepted)", i, v)
		}
	}
	return nil
}

func checkFinite64(data []float64) error {
	for i, v := range data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("value %d is %v (NaN or Inf values are not accepted)", i, v)
		}
	}
	return nil
}

// spaceHint says what commonly makes a write fail, since HDF5 reports only
// "code -1": the free space of the file system holding path and, when the
// process has one, its file-size limit (ulimit -f). Empty when neither can
// be read.
func spaceHint(path string) string {
	var hints []string
	var fs syscall.Statfs_t
	if syscall.Statfs(filepath.Dir(path), &fs) == nil {
		hints = append(hints, units.Bytes(int64(fs.Bavail)*int64(fs.Bsize))+" free on its file system")
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim) == nil && lim.Cur < math.MaxInt64 {
		hints = append(hints, "files limited to "+units.Bytes(int64(lim.Cur))+" (ulimit -f)")
	}
	if len(hints) == 0 {
		return ""
	}
	return " (" + strings.Join(hints, "; ") + ")"
}
