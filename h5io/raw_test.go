package h5io

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// writeRawFile writes a raw scan as h5py would: the datasets only, no
// ctrecon attributes.
func writeRawFile(t *testing.T, path string, data, white, dark []float32, na, nw, nd, slices, ndet int) {
	t.Helper()
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Float32("/exchange/data", []int{na, slices, ndet}, data, DatasetOptions{})
	if nw > 0 {
		w.Float32("/exchange/data_white", []int{nw, slices, ndet}, white, DatasetOptions{})
	}
	if nd > 0 {
		w.Float32("/exchange/data_dark", []int{nd, slices, ndet}, dark, DatasetOptions{})
	}
	theta := make([]float64, na)
	for i := range theta {
		theta[i] = float64(i) * 180 / float64(na)
	}
	w.Float64("/exchange/theta", []int{na}, theta, DatasetOptions{})
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestReadRawScan: counts with two flats and two darks load as
// −log((data − mean dark)/(mean white − mean dark)); a count at or below
// the dark field is clipped to half a count above it and counted; the noise
// level is estimated from the counts.
func TestReadRawScan(t *testing.T) {
	const na, slices, ndet = 2, 1, 5
	white := []float32{1000, 1000, 1000, 1000, 1000, 1010, 990, 1000, 1000, 1000}
	dark := []float32{10, 10, 10, 10, 10, 20, 0, 10, 10, 10}
	data := []float32{1010, 510, 110, 10, 5, 1010, 378.8, 20, 11, 10.5}
	path := filepath.Join(t.TempDir(), "raw.h5")
	writeRawFile(t, path, data, white, dark, na, 2, 2, slices, ndet)
	s, err := ReadScan(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Raw == nil || s.Raw.NWhite != 2 || s.Raw.NDark != 2 {
		t.Fatalf("raw counts not recorded: %+v", s.Raw)
	}
	// Mean white − mean dark is 990 in every bin; mean dark is 15, 5, 10,
	// 10, 10, so data − dark is 995, 505, 100, 0, −5 and 995, 373.8, 10, 1,
	// 0.5.
	above := []float64{995, 505, 100, 0.5, 0.5, 995, 373.8, 10, 1, 0.5}
	want := make([]float64, len(above))
	for i, c := range above {
		want[i] = -math.Log(c / 990)
	}
	for i, w := range want {
		if math.Abs(float64(s.Data[i])-w) > 1e-5*math.Max(1, w) {
			t.Errorf("line integral %d = %v, want %v", i, s.Data[i], w)
		}
	}
	// 10 − 10 = 0 and 5 − 10 < 0 are clipped; 10.5 − 10 = 0.5 is at the
	// floor but measured, so not counted.
	if s.ClippedCounts != 2 {
		t.Errorf("clipped %d counts, want 2", s.ClippedCounts)
	}
	var inv float64
	for _, c := range above {
		inv += 1 / c
	}
	if !s.NoiseFromCounts || math.Abs(s.NoiseStd-math.Sqrt(inv/10)) > 1e-6 {
		t.Errorf("noise std %v (from counts %v), want %v", s.NoiseStd, s.NoiseFromCounts, math.Sqrt(inv/10))
	}
	// Without dark fields, dark = 0.
	writeRawFile(t, path, data, white, nil, na, 2, 0, slices, ndet)
	if s, err = ReadScan(path); err != nil || math.Abs(float64(s.Data[1])-math.Log(995.0/510)) > 1e-5 {
		t.Fatalf("no darks: %v, %v", err, s.Data[1])
	}
	// Round trip through WriteScan keeps the counts.
	out := filepath.Join(t.TempDir(), "copy.h5")
	if err := WriteScan(out, s); err != nil {
		t.Fatal(err)
	}
	c, err := ReadScan(out)
	if err != nil || c.Raw == nil || c.Raw.Data[6] != data[6] || c.Data[1] != s.Data[1] {
		t.Fatalf("round trip: %v", err)
	}
}

func TestReadRawScanRefusals(t *testing.T) {
	const na, ndet = 2, 4
	data := []float32{100, 100, 100, 100, 100, 100, 100, 100}
	d := t.TempDir()
	for _, c := range []struct {
		name        string
		white, dark []float32
		nw, nd      int
		want        string
	}{
		{"zero flat", []float32{1000, 0, 1000, 1000}, nil, 1, 0, "not above the dark field at 1 of 4 detector bins (first: slice 0, bin 1"},
		{"dark above flat", []float32{1000, 1000, 1000, 1000}, []float32{0, 0, 0, 1000}, 1, 1, "bin 3"},
		{"dark without flat", nil, []float32{0, 0, 0, 0}, 0, 1, "data_dark without /exchange/data_white"},
	} {
		path := filepath.Join(d, c.name+".h5")
		writeRawFile(t, path, data, c.white, c.dark, na, c.nw, c.nd, 1, ndet)
		_, err := ReadScan(path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// A flat field of the wrong shape names the dataset.
	path := filepath.Join(d, "shape.h5")
	w, _ := Create(path)
	w.Float32("/exchange/data", []int{na, 1, ndet}, data, DatasetOptions{})
	w.Float32("/exchange/data_white", []int{1, 1, 3}, []float32{1, 1, 1}, DatasetOptions{})
	w.Float64("/exchange/theta", []int{na}, []float64{0, 90}, DatasetOptions{})
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadScan(path); err == nil || !strings.Contains(err.Error(), "/exchange/data_white has shape") {
		t.Errorf("wrong flat shape: %v", err)
	}
}

// TestReadH5pyRawScan reads a raw scan written by h5py (testdata/
// make_h5py_raw.py): uint16 counts above 32767 must not wrap, and the
// normalisation is −log((data − dark)/(mean white − dark)).
func TestReadH5pyRawScan(t *testing.T) {
	s, err := ReadScan("testdata/h5py_raw.h5")
	if err != nil {
		t.Fatal(err)
	}
	flat := []float64{59900, 59700, 49900, 39900} // mean white − dark per bin
	dark := []float64{200, 200, 100, 100}
	data := [][]float64{{60100, 30100, 25050, 100}, {40000, 20000, 5000, 50}, {200, 1000, 100, 39000}}
	clipped := 0
	for a, row := range data {
		for k, v := range row {
			c := v - dark[k]
			if c < MinCountAboveDark {
				c = MinCountAboveDark
				clipped++
			}
			want := -math.Log(c / flat[k])
			if got := float64(s.Data[a*4+k]); math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Errorf("angle %d bin %d: %v, want %v", a, k, got, want)
			}
		}
	}
	// Four counts are at or below the dark field (two at it, two below).
	if s.ClippedCounts != clipped || clipped != 4 {
		t.Errorf("clipped %d counts, want %d", s.ClippedCounts, clipped)
	}
}
