package h5io

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"

	"gonum.org/v1/hdf5"
)

// Reader reads datasets from an existing HDF5 file, opened read-only.
// Every error names the file and, where there is one, the dataset.
type Reader struct {
	path string
	f    *hdf5.File
}

// Open opens path read-only after checking that it exists and is HDF5.
func Open(path string) (*Reader, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: file does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a folder, not an HDF5 file", path)
	}
	if fh, err := os.Open(path); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	} else {
		fh.Close()
	}
	if !hdf5.IsHDF5(path) {
		return nil, fmt.Errorf("%s: not an HDF5 file (no HDF5 signature)", path)
	}
	var f *hdf5.File
	quietly(func() { f, err = hdf5.OpenFile(path, hdf5.F_ACC_RDONLY) })
	if err != nil {
		return nil, fmt.Errorf("%s: cannot open HDF5 file (truncated or corrupt?)", path)
	}
	return &Reader{path: path, f: f}, nil
}

// Path is the file's name as given to Open.
func (r *Reader) Path() string { return r.path }

// Close releases the file.
func (r *Reader) Close() error { return r.f.Close() }

// Has reports whether an object (group or dataset) exists at path.
func (r *Reader) Has(path string) bool {
	cur := ""
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		cur += "/" + p
		if !r.f.LinkExists(cur) {
			return false
		}
	}
	return true
}

func (r *Reader) open(path string) (*hdf5.Dataset, error) {
	if !r.Has(path) {
		return nil, fmt.Errorf("%s: dataset %s is missing", r.path, path)
	}
	var ds *hdf5.Dataset
	var err error
	quietly(func() { ds, err = r.f.OpenDataset(path) })
	if err != nil {
		return nil, fmt.Errorf("%s: %s is not a readable dataset (truncated or corrupt file?)", r.path, path)
	}
	return ds, nil
}

// Shape returns the dimensions of the dataset at path.
func (r *Reader) Shape(path string) ([]int, error) {
	ds, err := r.open(path)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	return datasetShape(ds)
}

func datasetShape(ds *hdf5.Dataset) ([]int, error) {
	sp := ds.Space()
	if sp == nil {
		return nil, fmt.Errorf("no dataspace")
	}
	defer sp.Close()
	dims, _, err := sp.SimpleExtentDims()
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(dims))
	for i, d := range dims {
		shape[i] = int(d)
	}
	return shape, nil
}

// numeric opens a numeric dataset and checks its rank (rank < 0: any).
func (r *Reader) numeric(path string, rank int) (*hdf5.Dataset, []int, error) {
	ds, err := r.open(path)
	if err != nil {
		return nil, nil, err
	}
	shape, err := datasetShape(ds)
	if err != nil {
		ds.Close()
		return nil, nil, fmt.Errorf("%s: dataset %s: %v", r.path, path, err)
	}
	if rank >= 0 && len(shape) != rank {
		ds.Close()
		return nil, nil, fmt.Errorf("%s: dataset %s has rank %d (shape %v), want rank %d", r.path, path, len(shape), shape, rank)
	}
	if c, _ := h5dsetClass(ds.ID()); c != classFloat && c != classInteger {
		ds.Close()
		return nil, nil, fmt.Errorf("%s: dataset %s is not numeric", r.path, path)
	}
	return ds, shape, nil
}

// Float32 reads a numeric dataset of the given rank (any rank if rank < 0)
// converted to float32, and refuses NaN or Inf values.
func (r *Reader) Float32(path string, rank int) ([]float32, []int, error) {
	ds, shape, err := r.numeric(path, rank)
	if err != nil {
		return nil, nil, err
	}
	defer ds.Close()
	data := make([]float32, prod(shape))
	if err := h5readF32(ds.ID(), data); err != nil {
		return nil, nil, fmt.Errorf("%s: dataset %s: %v", r.path, path, err)
	}
	if err := checkFinite32(data); err != nil {
		return nil, nil, fmt.Errorf("%s: dataset %s: %v", r.path, path, err)
	}
	return data, shape, nil
}

// Float32Slab reads the hyperslab [off, off+cnt) of a numeric dataset.
func (r *Reader) Float32Slab(path string, off, cnt []int) ([]float32, error) {
	ds, shape, err := r.numeric(path, len(off))
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	for i := range off {
		if off[i] < 0 || cnt[i] < 0 || off[i]+cnt[i] > shape[i] {
			return nil, fmt.Errorf("%s: dataset %s: slab %v+%v outside shape %v", r.path, path, off, cnt, shape)
		}
	}
	data := make([]float32, prod(cnt))
	if err := h5readF32Slab(ds.ID(), off, cnt, data); err != nil {
		return nil, fmt.Errorf("%s: dataset %s: %v", r.path, path, err)
	}
	if err := checkFinite32(data); err != nil {
		return nil, fmt.Errorf("%s: dataset %s: %v", r.path, path, err)
	}
	return data, nil
}

// Float64 reads a numeric dataset converted to float64, refusing NaN or Inf.
func (r *Reader) Float64(path string, rank int) ([]float64, []int, error) {
	return r.float64(path, rank, false)
}

// Float64NaN is Float64 for datasets where NaN means "no value" (a plan's
// scores of measured candidates); it still refuses Inf.
func (r *Reader) Float64NaN(path string, rank int) ([]float64, []int, error) {
	return r.float64(path, rank, true)
}

func (r *Reader) float64(path string, rank int, nan bool) ([]float64, []int, error) {
	ds, shape, err := r.numeric(path, rank)
	if err != nil {
		return nil, nil, err
	}
	defer ds.Close()
	data := make([]float64, prod(shape))
	if err := h5readF64(ds.ID(), data); err != nil {
		return nil, nil, fmt.Errorf("%s: dataset %s: %v", r.path, path, err)
	}
	for i, v := range data {
		if math.IsInf(v, 0) || (!nan && math.IsNaN(v)) {
			return nil, nil, fmt.Errorf("%s: dataset %s: value %d is %v (not accepted here)", r.path, path, i, v)
		}
	}
	return data, shape, nil
}

// objectID opens a group or dataset and returns its id and a closer.
func (r *Reader) objectID(path string) (int64, func(), error) {
	if path == "/" || path == "" {
		g, err := r.f.OpenGroup("/")
		if err != nil {
			return 0, nil, err
		}
		return g.ID(), func() { g.Close() }, nil
	}
	if !r.Has(path) {
		return 0, nil, fmt.Errorf("%s: %s is missing", r.path, path)
	}
	var ds *hdf5.Dataset
	var err error
	quietly(func() { ds, err = r.f.OpenDataset(path) })
	if err == nil {
		return ds.ID(), func() { ds.Close() }, nil
	}
	var g *hdf5.Group
	quietly(func() { g, err = r.f.OpenGroup(path) })
	if err != nil {
		return 0, nil, fmt.Errorf("%s: cannot open %s", r.path, path)
	}
	return g.ID(), func() { g.Close() }, nil
}

// AttrFloat reads a numeric scalar attribute of the object at path; ok is
// false when the attribute is absent.
func (r *Reader) AttrFloat(path, name string) (v float64, ok bool, err error) {
	id, done, err := r.objectID(path)
	if err != nil {
		return 0, false, err
	}
	defer done()
	a, ok, err := h5attr(id, name)
	if err != nil || !ok {
		return 0, false, err
	}
	if a.IsText || len(a.Nums) == 0 {
		return 0, false, fmt.Errorf("%s: attribute %s of %s is not a number", r.path, name, path)
	}
	return a.Nums[0], true, nil
}

// AttrString reads a string attribute; ok is false when it is absent.
func (r *Reader) AttrString(path, name string) (v string, ok bool, err error) {
	id, done, err := r.objectID(path)
	if err != nil {
		return "", false, err
	}
	defer done()
	a, ok, err := h5attr(id, name)
	if err != nil || !ok {
		return "", false, err
	}
	if !a.IsText {
		return "", false, fmt.Errorf("%s: attribute %s of %s is not a string", r.path, name, path)
	}
	return a.Str, true, nil
}
