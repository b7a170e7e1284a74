package datasets

import (
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Volume is a stack of square slices, stored [slice][row][col] row-major.
type Volume struct {
	Slices, N int
	Data      []float32
	// Spacing is the voxel size in mm: row, column, slice; zero if unknown.
	Spacing [3]float64
}

// Slice returns slice k as a view (not a copy) of N·N values.
func (v *Volume) Slice(k int) []float32 { return v.Data[k*v.N*v.N : (k+1)*v.N*v.N] }

// craniumShape is what invesalius-examples ships; main.plist confirms it.
var craniumShape = [3]int{108, 256, 256}

// ReadCraniumHU reads slices [from, to) of the InVesalius head CT in
// Hounsfield units (slice 0 is at the jaw, 107 above the skull; 54 cuts
// through the brain and skull). path is the data folder's cranium/ directory or its
// matrix.dat; main.plist beside it, when present, gives the shape, data
// type and voxel spacing (and must say int16 and square slices).
func ReadCraniumHU(path string, from, to int) (*Volume, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "matrix.dat")
	}
	shape := craniumShape
	var spacing [3]float64
	if pl, err := readPlist(filepath.Join(filepath.Dir(path), "main.plist")); err == nil {
		if s, sp, err := craniumMeta(pl); err != nil {
			return nil, fmt.Errorf("datasets: %s: %w", filepath.Join(filepath.Dir(path), "main.plist"), err)
		} else {
			shape, spacing = s, sp
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	ns, n := shape[0], shape[1]
	if from < 0 || to > ns || from >= to {
		return nil, fmt.Errorf("datasets: cranium slices [%d, %d) out of range: the volume has %d", from, to, ns)
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("datasets: %s not found: %w; run `make data` to fetch it", path, ErrMissing)
		}
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	if want := int64(ns) * int64(n) * int64(n) * 2; st.Size() != want {
		return nil, fmt.Errorf("datasets: %s has %d bytes, want %d for int16 %v", path, st.Size(), want, shape)
	}
	raw := make([]byte, (to-from)*n*n*2)
	if _, err := f.ReadAt(raw, int64(from)*int64(n*n*2)); err != nil && err != io.EOF {
		return nil, fmt.Errorf("datasets: reading %s: %w", path, err)
	}
	v := &Volume{Slices: to - from, N: n, Data: make([]float32, (to-from)*n*n), Spacing: spacing}
	// InVesalius keeps VTK's bottom-up row order; rows are flipped so that
	// row 0 is the top of the usual radiological view (face up, the
	// headrest at the bottom).
	for k := range v.Slices {
		for i := range n {
			src := raw[((k*n+n-1-i)*n)*2:]
			dst := v.Data[(k*n+i)*n : (k*n+i+1)*n]
			for j := range dst {
				dst[j] = float32(int16(binary.LittleEndian.Uint16(src[2*j:])))
			}
		}
	}
	return v, nil
}

// CraniumSlices reads slices [from, to) of the head CT as scaled
// attenuation (MuFromHU, so about [0, 1]), resized to n×n by area
// averaging when n > 0 and n differs from the stored 256.
func CraniumSlices(path string, from, to, n int) (*Volume, error) {
	v, err := ReadCraniumHU(path, from, to)
	if err != nil {
		return nil, err
	}
	MuFromHU(v.Data, v.Data)
	if n <= 0 || n == v.N {
		return v, nil
	}
	out := &Volume{Slices: v.Slices, N: n, Data: make([]float32, v.Slices*n*n), Spacing: v.Spacing}
	f := float64(v.N) / float64(n)
	out.Spacing[0], out.Spacing[1] = v.Spacing[0]*f, v.Spacing[1]*f
	for k := range v.Slices {
		Resize(out.Slice(k), v.Slice(k), v.N, n)
	}
	return out, nil
}

func craniumMeta(pl map[string]any) (shape [3]int, spacing [3]float64, err error) {
	m, _ := pl["matrix"].(map[string]any)
	if m == nil {
		return shape, spacing, errors.New("no matrix entry")
	}
	if dt, _ := m["dtype"].(string); dt != "int16" {
		return shape, spacing, fmt.Errorf("matrix dtype %q, only int16 is supported", dt)
	}
	sh, _ := m["shape"].([]any)
	if len(sh) != 3 {
		return shape, spacing, fmt.Errorf("matrix shape %v is not 3-D", m["shape"])
	}
	for i, s := range sh {
		v, ok := s.(int64)
		if !ok || v < 1 {
			return shape, spacing, fmt.Errorf("matrix shape %v is not positive integers", sh)
		}
		shape[i] = int(v)
	}
	if shape[1] != shape[2] {
		return shape, spacing, fmt.Errorf("slices are %d×%d, only square slices are supported", shape[1], shape[2])
	}
	// InVesalius stores spacing as (x, y, z) = (column, row, slice).
	if sp, _ := pl["spacing"].([]any); len(sp) == 3 {
		x, _ := sp[0].(float64)
		y, _ := sp[1].(float64)
		z, _ := sp[2].(float64)
		spacing = [3]float64{y, x, z}
	}
	return shape, spacing, nil
}

// readPlist decodes an XML property list into map[string]any, []any,
// string, int64, float64 and bool values.
func readPlist(path string) (map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: no plist dict: %w", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "dict" {
			v, err := plistValue(d, se)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return v.(map[string]any), nil
		}
	}
}

func plistValue(d *xml.Decoder, se xml.StartElement) (any, error) {
	switch se.Name.Local {
	case "dict":
		m := map[string]any{}
		key := ""
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, err
			}
			switch t := tok.(type) {
			case xml.EndElement:
				return m, nil
			case xml.StartElement:
				if t.Name.Local == "key" {
					var k string
					if err := d.DecodeElement(&k, &t); err != nil {
						return nil, err
					}
					key = k
					continue
				}
				v, err := plistValue(d, t)
				if err != nil {
					return nil, err
				}
				m[key] = v
			}
		}
	case "array":
		var a []any
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, err
			}
			switch t := tok.(type) {
			case xml.EndElement:
				return a, nil
			case xml.StartElement:
				v, err := plistValue(d, t)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
		}
	case "true", "false":
		if err := d.Skip(); err != nil {
			return nil, err
		}
		return se.Name.Local == "true", nil
	}
	var s string
	if err := d.DecodeElement(&s, &se); err != nil {
		return nil, err
	}
	s = strings.TrimSpace(s)
	switch se.Name.Local {
	case "integer":
		return strconv.ParseInt(s, 10, 64)
	case "real":
		return strconv.ParseFloat(s, 64)
	}
	return s, nil
}
