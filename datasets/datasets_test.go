package datasets

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// need returns the path of a fetched data file. Without it the test is
// skipped, except under CI=true, where a missing file is a failure: CI
// runs `make data` first, so absence there is a bug, never a silent skip.
func need(t *testing.T, rel string) string {
	t.Helper()
	p, err := Locate(rel)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %v", err)
		}
		t.Skip(err)
	}
	return p
}

func TestLocateMissingSaysMakeData(t *testing.T) {
	dir := t.TempDir()
	_, err := LocateIn(dir, CraniumFile)
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("error %v does not wrap ErrMissing", err)
	}
	if !strings.Contains(err.Error(), "run `make data`") {
		t.Errorf("error %q does not say to run `make data`", err)
	}
	t.Setenv("CTRECON_DATA", dir)
	if got := DefaultDir(); got != dir {
		t.Errorf("DefaultDir() = %q with CTRECON_DATA=%q", got, dir)
	}
	if _, err := ReadCraniumHU(filepath.Join(dir, "cranium"), 0, 1); !errors.Is(err, ErrMissing) {
		t.Errorf("ReadCraniumHU on an empty folder: %v, want ErrMissing", err)
	}
	if _, _, err := MNISTImage(filepath.Join(dir, MNISTTestImages), 0); !errors.Is(err, ErrMissing) {
		t.Errorf("MNISTImage on an empty folder: %v, want ErrMissing", err)
	}
}

func TestMuFromHU(t *testing.T) {
	hu := []float32{-1000, -1024, -3000, 0, 1000, 2000}
	want := []float32{0, 0, 0, 1.0 / 3, 2.0 / 3, 1}
	got := make([]float32, len(hu))
	MuFromHU(got, hu)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-7 {
			t.Errorf("HU %g: %g, want %g", hu[i], got[i], want[i])
		}
	}
}

func TestResize(t *testing.T) {
	// Halving is the 2×2 block mean.
	src := []float32{
		1, 3, 0, 0,
		5, 7, 0, 4,
		1, 1, 2, 2,
		1, 1, 2, 2,
	}
	dst := make([]float32, 4)
	Resize(dst, src, 4, 2)
	if want := []float32{4, 1, 1, 2}; !slices.Equal(dst, want) {
		t.Errorf("4→2: %v, want %v", dst, want)
	}
	// Any factor preserves the mean (area weights sum to one per output
	// pixel and each input pixel's weights sum to (to/from)²) and constants.
	for _, c := range [][2]int{{7, 5}, {5, 7}, {256, 100}, {28, 64}} {
		from, to := c[0], c[1]
		s := make([]float32, from*from)
		var ms float64
		for i := range s {
			s[i] = float32((i*37)%11) / 11
			ms += float64(s[i])
		}
		d := make([]float32, to*to)
		Resize(d, s, from, to)
		var md float64
		for _, v := range d {
			md += float64(v)
		}
		ms, md = ms/float64(len(s)), md/float64(len(d))
		if math.Abs(ms-md) > 1e-5 { // float32 storage of each output
			t.Errorf("%d→%d: mean %g, want %g", from, to, md, ms)
		}
		for i := range s {
			s[i] = 0.25
		}
		Resize(d, s, from, to)
		for _, v := range d {
			if math.Abs(float64(v)-0.25) > 1e-6 {
				t.Fatalf("%d→%d: constant 0.25 became %g", from, to, v)
			}
		}
	}
}

func TestCranium(t *testing.T) {
	path := filepath.Dir(need(t, CraniumFile))
	v, err := ReadCraniumHU(path, 54, 55)
	if err != nil {
		t.Fatal(err)
	}
	if v.Slices != 1 || v.N != 256 || len(v.Data) != 256*256 {
		t.Fatalf("slice 54: %d slices of %d², %d values", v.Slices, v.N, len(v.Data))
	}
	if math.Abs(v.Spacing[0]-0.957) > 1e-3 || math.Abs(v.Spacing[2]-1.5) > 1e-9 {
		t.Errorf("spacing %v, want main.plist's 0.957, 0.957, 1.5 mm", v.Spacing)
	}
	s := slices.Clone(v.Data)
	slices.Sort(s)
	// Air around the head is about −1000 HU and the skull is bone
	// (> 300 HU): the darkest and brightest percent must show both. A
	// wrong byte order or offset gives noise spread over ±32768.
	if lo := s[len(s)/100]; lo > -950 || s[0] < -1100 {
		t.Errorf("1st percentile %g HU, min %g: no air near −1000", lo, s[0])
	}
	if hi := s[len(s)*99/100]; hi < 300 || s[len(s)-1] > 3100 {
		t.Errorf("99th percentile %g HU, max %g: no bone, or beyond the scanner range", hi, s[len(s)-1])
	}
	mu, err := CraniumSlices(path, 54, 55, 0)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := slices.Min(mu.Data), slices.Max(mu.Data)
	if lo != 0 || hi > 1 || hi < 0.5 {
		t.Errorf("attenuation of slice 54 spans [%g, %g], want air at 0 and bone up to about 1", lo, hi)
	}
	small, err := CraniumSlices(path, 54, 55, 128)
	if err != nil {
		t.Fatal(err)
	}
	if small.N != 128 || len(small.Data) != 128*128 || math.Abs(small.Spacing[0]-2*v.Spacing[0]) > 1e-9 {
		t.Fatalf("resized: N=%d, %d values, spacing %v", small.N, len(small.Data), small.Spacing)
	}
	if a, b := mean(mu.Data), mean(small.Data); math.Abs(a-b) > 1e-5 {
		t.Errorf("resizing changed the mean attenuation: %g → %g", a, b)
	}
}

func TestCraniumOrientation(t *testing.T) {
	// Slice 0 cuts through the jaw: the teeth (the only pixels above
	// 2000 HU there) must be in the upper half once rows are flipped to
	// the radiological view, face up.
	path := filepath.Dir(need(t, CraniumFile))
	v, err := ReadCraniumHU(path, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	up, down := 0, 0
	for i, h := range v.Data {
		if h > 2000 {
			if i/v.N < v.N/2 {
				up++
			} else {
				down++
			}
		}
	}
	if up < 100 || down > up/10 {
		t.Errorf("pixels above 2000 HU: %d in the top half, %d in the bottom: teeth not at the top", up, down)
	}
}

func mean(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s / float64(len(x))
}

// checkCTSmall checks what is known of pydicom's CT_small.dcm: 128×128,
// explicit VR little endian, pixel spacing 0.661468 mm, a slice through a
// vertebra with lung (below −500 HU) and bone (above 300 HU).
func checkCTSmall(t *testing.T, path string) {
	t.Helper()
	d, err := ReadDICOM(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Rows != 128 || d.Cols != 128 || len(d.Values) != 128*128 {
		t.Fatalf("%d×%d with %d values, want 128×128", d.Rows, d.Cols, len(d.Values))
	}
	if d.Modality != "CT" || d.TransferSyntax != tsExplicitLE {
		t.Errorf("modality %q, transfer syntax %q", d.Modality, d.TransferSyntax)
	}
	if math.Abs(d.PixelSpacing[0]-0.661468) > 1e-6 || math.Abs(d.PixelSpacing[1]-0.661468) > 1e-6 {
		t.Errorf("pixel spacing %v, want 0.661468 mm", d.PixelSpacing)
	}
	s := slices.Clone(d.Values)
	slices.Sort(s)
	if s[0] > -500 || s[len(s)-1] < 300 || s[0] < -1100 || s[len(s)-1] > 3100 {
		t.Errorf("HU range [%g, %g]: want lung below −500 and bone above 300, within the scanner range", s[0], s[len(s)-1])
	}
	if med := s[len(s)/2]; med < -200 || med > 200 {
		t.Errorf("median %g HU: most of this slice is soft tissue", med)
	}
	v, err := DICOMSlice(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := slices.Min(v.Data), slices.Max(v.Data); lo < 0 || hi > 1 {
		t.Errorf("attenuation spans [%g, %g], want within [0, 1]", lo, hi)
	}
}

func TestDICOMFixture(t *testing.T) { checkCTSmall(t, filepath.Join("testdata", "CT_small.dcm")) }

func TestDICOMFetched(t *testing.T) { checkCTSmall(t, need(t, DICOMFile)) }

// element encodes one implicit-VR (or, with vr set, explicit-VR) element.
func element(group, elem uint16, vr string, val []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, group)
	b = binary.LittleEndian.AppendUint16(b, elem)
	switch {
	case vr == "":
		b = binary.LittleEndian.AppendUint32(b, uint32(len(val)))
	case longVR(vr):
		b = append(b, vr...)
		b = append(b, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(val)))
	default:
		b = append(b, vr...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(val)))
	}
	return append(b, val...)
}

func u16(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func TestDICOMImplicitSignedWithSequence(t *testing.T) {
	// No preamble: implicit VR little endian. 12-bit signed pixels with
	// slope 2 and intercept −10, and a sequence of undefined length whose
	// item holds a Rows element that must not be taken for the image's.
	var b []byte
	b = append(b, element(0x0008, 0x0060, "", []byte("CT"))...)
	b = append(b, element(0x0028, 0x0002, "", u16(1))...)
	seq := binary.LittleEndian.AppendUint16(nil, 0x0008)
	seq = binary.LittleEndian.AppendUint16(seq, 0x1140)
	seq = binary.LittleEndian.AppendUint32(seq, undefinedLength)
	item := element(0xfffe, 0xe000, "", nil)[:4]
	item = binary.LittleEndian.AppendUint32(item, undefinedLength)
	item = append(item, element(0x0028, 0x0010, "", u16(999))...)
	item = append(item, element(0xfffe, 0xe00d, "", nil)...)
	seq = append(seq, item...)
	seq = append(seq, element(0xfffe, 0xe0dd, "", nil)...)
	b = append(b, seq...)
	b = append(b, element(0x0028, 0x0010, "", u16(2))...)
	b = append(b, element(0x0028, 0x0011, "", u16(2))...)
	b = append(b, element(0x0028, 0x0030, "", []byte(`0.5\0.25`))...)
	b = append(b, element(0x0028, 0x0100, "", u16(16))...)
	b = append(b, element(0x0028, 0x0101, "", u16(12))...)
	b = append(b, element(0x0028, 0x0103, "", u16(1))...)
	b = append(b, element(0x0028, 0x1052, "", []byte("-10 "))...)
	b = append(b, element(0x0028, 0x1053, "", []byte("2 "))...)
	// Stored 12-bit values −1, 5, −2048, 2047 (high nibble is garbage
	// above BitsStored and must be masked off).
	b = append(b, element(0x7fe0, 0x0010, "", u16(0xffff, 0xf005, 0x0800, 0x07ff))...)
	d, err := decodeDICOM(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Rows != 2 || d.Cols != 2 || d.PixelSpacing != [2]float64{0.5, 0.25} {
		t.Fatalf("rows %d cols %d spacing %v", d.Rows, d.Cols, d.PixelSpacing)
	}
	want := []float32{2*-1 - 10, 2*5 - 10, 2*-2048 - 10, 2*2047 - 10}
	if !slices.Equal(d.Values, want) {
		t.Errorf("values %v, want %v", d.Values, want)
	}
}

func TestDICOMUnsupportedTransferSyntax(t *testing.T) {
	b := make([]byte, 128)
	b = append(b, "DICM"...)
	b = append(b, element(0x0002, 0x0010, "UI", []byte("1.2.840.10008.1.2.4.50\x00"))...)
	b = append(b, element(0x0028, 0x0010, "US", u16(2))...)
	path := filepath.Join(t.TempDir(), "jpeg.dcm")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadDICOM(path)
	if err == nil || !strings.Contains(err.Error(), "JPEG baseline") || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("error %v, want one naming the unsupported JPEG baseline syntax", err)
	}
}

func TestMNIST(t *testing.T) {
	path := need(t, MNISTTestImages)
	img, label, err := MNISTImage(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if label != 7 { // the well-known first test digit
		t.Errorf("t10k image 0 has label %d, want 7", label)
	}
	if len(img) != 28*28 {
		t.Fatalf("%d values, want 784", len(img))
	}
	if lo, hi := slices.Min(img), slices.Max(img); lo != 0 || hi != 1 {
		t.Errorf("values span [%g, %g]: want a black background and saturated strokes", lo, hi)
	}
	_, labels, err := MNISTImages(path, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{7, 2, 1, 0, 4}; !slices.Equal(labels, want) {
		t.Errorf("first test labels %v, want %v", labels, want)
	}
	if _, _, err := MNISTImage(path, 10000); err == nil {
		t.Error("index 10000 of a 10,000-image file must be an error")
	}
	_, l, err := MNISTImage(need(t, MNISTTrainImages), 0)
	if err != nil {
		t.Fatal(err)
	}
	if l != 5 { // the well-known first training digit
		t.Errorf("train image 0 has label %d, want 5", l)
	}
}
