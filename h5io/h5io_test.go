package h5io

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func randVol(slices, n int, rng *rand.Rand) Volume {
	v := NewVolume(slices, n)
	for i := range v.Data {
		v.Data[i] = float32(rng.Float64())
	}
	return v
}

func equal32(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// onlyFile asserts that dir holds exactly the named files (no temporaries).
func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("folder holds %v, want %v", got, names)
	}
}

func TestImageRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	dir := t.TempDir()
	for _, slices := range []int{1, 3} {
		p := filepath.Join(dir, "img.h5")
		in := ImageFile{Image: randVol(slices, 7, rng), Attrs: []Attr{{"kind", "test"}, {"seed", 42}}}
		if err := WriteImage(p, in); err != nil {
			t.Fatal(err)
		}
		out, err := ReadImage(p)
		if err != nil {
			t.Fatal(err)
		}
		if out.Image.Slices != slices || out.Image.N != 7 {
			t.Fatalf("shape %d×%d", out.Image.Slices, out.Image.N)
		}
		equal32(t, "image", out.Image.Data, in.Image.Data)
		r, _ := Open(p)
		kind, ok, err := r.AttrString("/image", "kind")
		seed, ok2, err2 := r.AttrFloat("/image", "seed")
		r.Close()
		if err != nil || err2 != nil || !ok || !ok2 || kind != "test" || seed != 42 {
			t.Fatalf("attributes: kind=%q seed=%v (%v %v)", kind, seed, err, err2)
		}
	}
	onlyFiles(t, dir, "img.h5")
}

func TestScanRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	dir := t.TempDir()
	p := filepath.Join(dir, "scan.h5")
	gt := randVol(2, 5, rng)
	in := &Scan{ThetaDeg: []float64{0, 45, 90, 135}, Slices: 2, NDet: 9, ImageSize: 5,
		DetSpacing: 1.25, NoiseStd: 0.03, NoiseRel: 0.05, GroundTruth: &gt,
		Attrs: []Attr{{"phantom", "ellipses"}}}
	in.Data = make([]float32, 4*2*9)
	for i := range in.Data {
		in.Data[i] = float32(rng.NormFloat64())
	}
	if err := WriteScan(p, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadScan(p)
	if err != nil {
		t.Fatal(err)
	}
	equal32(t, "data", out.Data, in.Data)
	equal32(t, "ground truth", out.GroundTruth.Data, gt.Data)
	for i, th := range in.ThetaDeg {
		if out.ThetaDeg[i] != th {
			t.Fatalf("theta[%d] = %v, want %v", i, out.ThetaDeg[i], th)
		}
	}
	if out.ImageSize != 5 || out.DetSpacing != 1.25 || out.NoiseStd != 0.03 || out.NoiseRel != 0.05 || out.Slices != 2 || out.NDet != 9 {
		t.Fatalf("metadata: %+v", out)
	}
	// Sinogram/SetSinogram address [angles][slices][det] consistently.
	s1 := out.Sinogram(nil, 1)
	for a := 0; a < 4; a++ {
		for k := 0; k < 9; k++ {
			if s1[a*9+k] != in.Data[(a*2+1)*9+k] {
				t.Fatalf("sinogram slice 1 (%d,%d) wrong", a, k)
			}
		}
	}
	out.SetSinogram(0, s1)
	equal32(t, "SetSinogram", out.Sinogram(nil, 0), s1)
}

func TestReconAndPlanRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	dir := t.TempDir()
	p := filepath.Join(dir, "rec.h5")
	std := randVol(2, 6, rng)
	in := &Recon{Method: "dip", Image: randVol(2, 6, rng), Std: &std,
		Samples: randVol(2*3, 6, rng).Data,
		Attrs:   []Attr{{"psnr", 31.5}},
		Groups: []Group{{Path: "/dip", Attrs: []Attr{{"preset", "small"}, {"iterations", 300}},
			Arrays: []Array{{Name: "params", Shape: []int{4}, Data: []float32{1, 2, 3, 4}}}}},
	}
	if err := WriteRecon(p, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadRecon(p)
	if err != nil {
		t.Fatal(err)
	}
	if out.Method != "dip" {
		t.Fatalf("method %q", out.Method)
	}
	if len(out.Attrs) != 1 || out.Attrs[0].Name != "psnr" || out.Attrs[0].Value != 31.5 {
		t.Fatalf("/recon attributes %v, want psnr=31.5", out.Attrs)
	}
	equal32(t, "image", out.Image.Data, in.Image.Data)
	equal32(t, "std", out.Std.Data, std.Data)
	equal32(t, "samples", out.Samples, in.Samples)
	g := out.Group("/dip")
	if g == nil {
		t.Fatal("group /dip not read back")
	}
	equal32(t, "params", g.Get("params").Data, []float32{1, 2, 3, 4})
	if s, _ := g.AttrString("preset"); s != "small" {
		t.Fatalf("preset %q", s)
	}
	if v, _ := g.AttrFloat("iterations"); v != 300 {
		t.Fatalf("iterations %v", v)
	}

	pp := filepath.Join(dir, "plan.h5")
	plan := &Plan{Criterion: "eig", Candidates: []float64{0, 60, 120}, Selected: []float64{60, 0},
		Scores: []float64{1, 2, 3, 4, 5, 6}, Attrs: []Attr{{"scan", "/data/scan.h5"}, {"samples", 256}}}
	if err := WritePlan(pp, plan); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPlan(pp)
	if err != nil {
		t.Fatal(err)
	}
	if got.Criterion != "eig" || len(got.Scores) != 6 || got.Scores[5] != 6 || got.Selected[0] != 60 {
		t.Fatalf("plan: %+v", got)
	}
	if s, ok := got.AttrString("scan"); !ok || s != "/data/scan.h5" || len(got.Attrs) != 2 {
		t.Fatalf("plan attributes: %+v", got.Attrs)
	}
}

func TestForeignScanLoads(t *testing.T) {
	// Written by h5py (testdata/make_h5py_scan.py): float64 big-endian,
	// gzip chunks, float32 theta, only det_spacing set.
	s, err := ReadScan("testdata/h5py_scan.h5")
	if err != nil {
		t.Fatal(err)
	}
	if s.Angles() != 6 || s.Slices != 2 || s.NDet != 9 {
		t.Fatalf("shape %d/%d/%d", s.Angles(), s.Slices, s.NDet)
	}
	for a := 0; a < 6; a++ {
		for sl := 0; sl < 2; sl++ {
			for b := 0; b < 9; b++ {
				want := float32(a + 10*sl + 100*b)
				if got := s.Data[(a*2+sl)*9+b]; got != want {
					t.Fatalf("data[%d][%d][%d] = %v, want %v", a, sl, b, got, want)
				}
			}
		}
	}
	if s.ThetaDeg[1] != 30 || s.DetSpacing != 1.5 {
		t.Fatalf("theta %v spacing %v", s.ThetaDeg, s.DetSpacing)
	}
	// No image_size: the largest N whose default detector fits 9·1.5 bins.
	if want := ImageSizeForDetector(9, 1.5); s.ImageSize != want || DefaultNDet(want) > 13 {
		t.Fatalf("image size %d, want %d", s.ImageSize, want)
	}
}

func TestDefaultNDet(t *testing.T) {
	// DESIGN.md §2: 41 for N=28, 183 for N=128.
	if DefaultNDet(28) != 41 || DefaultNDet(128) != 183 {
		t.Fatalf("DefaultNDet(28)=%d, (128)=%d", DefaultNDet(28), DefaultNDet(128))
	}
	// DefaultNDet is not one-to-one (64 and 65 both give 93), so the inverse
	// is the largest N that fits, and at least n.
	for _, n := range []int{1, 28, 64, 128, 333} {
		nd := DefaultNDet(n)
		got := ImageSizeForDetector(nd, 1)
		if got < n || DefaultNDet(got) > nd || DefaultNDet(got+1) <= nd {
			t.Fatalf("ImageSizeForDetector(%d) = %d for n=%d", nd, got, n)
		}
	}
}

func writeRawScan(t *testing.T, path string, dataShape []int, theta []float64, nanAt int) {
	t.Helper()
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]float32, prod(dataShape))
	if nanAt >= 0 {
		data[nanAt] = float32(math.NaN())
	}
	w.Float32("/exchange/data", dataShape, data, DatasetOptions{})
	if theta != nil {
		w.Float64("/exchange/theta", []int{len(theta)}, theta, DatasetOptions{})
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestBadInputsGiveClearErrors(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }

	writeRawScan(t, p("notheta.h5"), []int{3, 1, 5}, nil, -1)
	writeRawScan(t, p("rank.h5"), []int{3, 1, 5, 1}, []float64{0, 1, 2}, -1)
	writeRawScan(t, p("rank1.h5"), []int{3}, []float64{0, 1, 2}, -1)
	writeRawScan(t, p("mismatch.h5"), []int{3, 1, 5}, []float64{0, 1}, -1)
	writeRawScan(t, p("nan.h5"), []int{3, 1, 5}, []float64{0, 1, 2}, 4)
	os.WriteFile(p("text.h5"), []byte("this is not HDF5\n"), 0o644)
	good := p("good.h5")
	writeRawScan(t, good, []int{40, 1, 301}, theta40(), -1)
	raw, _ := os.ReadFile(good)
	os.WriteFile(p("truncated.h5"), raw[:len(raw)/2], 0o644)

	cases := []struct{ file, want string }{
		{"missing.h5", "does not exist"},
		{"notheta.h5", "/exchange/theta is missing"},
		{"rank.h5", "/exchange/data has rank 4 (shape [3 1 5 1])"},
		{"rank1.h5", "/exchange/data has rank 1 (shape [3])"},
		{"mismatch.h5", "has 2 angles but /exchange/data has 3"},
		{"nan.h5", "NaN"},
		{"text.h5", "not an HDF5 file"},
		{"truncated.h5", "truncated or corrupt"},
	}
	for _, c := range cases {
		_, err := ReadScan(p(c.file))
		if err == nil {
			t.Errorf("%s: no error", c.file)
			continue
		}
		if !strings.Contains(err.Error(), p(c.file)) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q should name the file and say %q", c.file, err, c.want)
		}
	}
	// A file of another kind is named as such, with what makes the kind
	// wanted; a file of no known kind still gets the missing dataset.
	if _, err := ReadImage(good); err == nil || !strings.Contains(err.Error(), good+" is a scan file, not an image file (/image; made by ctrecon phantom)") {
		t.Errorf("image from a scan file: %v", err)
	}
	if _, err := ReadRecon(good); err == nil || !strings.Contains(err.Error(), "is a scan file, not a reconstruction file") {
		t.Errorf("reconstruction from a scan file: %v", err)
	}
	other := p("other.h5")
	if err := WriteImage(other, ImageFile{Image: NewVolume(1, 4)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadScan(other); err == nil || !strings.Contains(err.Error(), "is an image file, not a scan file (/exchange/data; made by ctrecon simulate)") {
		t.Errorf("scan from an image file: %v", err)
	}
	if _, err := ReadPlan(other); err == nil || !strings.Contains(err.Error(), "is an image file, not a plan file") {
		t.Errorf("plan from an image file: %v", err)
	}
	if _, err := ReadImage(p("notheta.h5")); err == nil || !strings.Contains(err.Error(), "is a scan file") {
		t.Errorf("image from a scan without theta: %v", err)
	}
}

func TestFailedWriteLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	v := NewVolume(1, 4)
	v.Data[3] = float32(math.Inf(1))
	if err := WriteImage(filepath.Join(dir, "x.h5"), ImageFile{Image: v}); err == nil {
		t.Fatal("Inf accepted")
	}
	bad := &Scan{ThetaDeg: []float64{0, 1}, Slices: 1, NDet: 3, Data: make([]float32, 5), ImageSize: 2, DetSpacing: 1}
	if err := WriteScan(filepath.Join(dir, "s.h5"), bad); err == nil {
		t.Fatal("wrong data length accepted")
	}
	// A write error after the file was started (shape mismatch) aborts cleanly.
	w, err := Create(filepath.Join(dir, "y.h5"))
	if err != nil {
		t.Fatal(err)
	}
	w.Float32("/a", []int{2, 2}, make([]float32, 3), DatasetOptions{})
	if err := w.Commit(); err == nil {
		t.Fatal("shape mismatch not reported")
	}
	onlyFiles(t, dir)
	// An existing output is left untouched by a failed write.
	keep := filepath.Join(dir, "keep.h5")
	if err := WriteImage(keep, ImageFile{Image: NewVolume(1, 2)}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(keep)
	WriteImage(keep, ImageFile{Image: v})
	after, _ := os.ReadFile(keep)
	if string(before) != string(after) {
		t.Fatal("failed write changed the existing file")
	}
}

// A write that the system refuses (here a file larger than the process's
// file-size limit) fails with HDF5's bare "code -1"; the error then says
// what usually causes it, the free space and the limit, and no file is left.
func TestFailedWriteSaysTheSpaceAndTheFileSizeLimit(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skip("no file-size limit to set:", err)
	}
	lim := old
	lim.Cur = 64 << 10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skip("cannot lower the file-size limit:", err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	dir := t.TempDir()
	w, err := Create(filepath.Join(dir, "big.h5"))
	if err != nil {
		t.Fatal(err)
	}
	w.Float32("/a", []int{512, 512}, make([]float32, 512*512), DatasetOptions{}) // 1 MiB
	err = w.Commit()
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	if err == nil {
		t.Fatal("a 1 MiB write under a 64 KiB file-size limit succeeded")
	}
	for _, want := range []string{"free on its file system", "files limited to 64.0 KiB (ulimit -f)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	onlyFiles(t, dir)
}

// TestOutputModeFollowsUmask: committed files get 0666 less the umask, like
// any tool's output, not the 0600 of a temporary file.
func TestOutputModeFollowsUmask(t *testing.T) {
	for _, c := range []struct {
		umask int
		want  os.FileMode
	}{{0o022, 0o644}, {0o077, 0o600}} {
		old := syscall.Umask(c.umask)
		path := filepath.Join(t.TempDir(), "img.h5")
		err := WriteImage(path, ImageFile{Image: NewVolume(1, 2)})
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != c.want {
			t.Errorf("umask %03o: %s has mode %v, want %v", c.umask, path, st.Mode().Perm(), c.want)
		}
	}
}

func TestWalkReportsStatistics(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "i.h5")
	v := NewVolume(1, 2)
	copy(v.Data, []float32{-1, 0, 2, 3})
	if err := WriteImage(p, ImageFile{Image: v, Attrs: []Attr{{"kind", "k"}}}); err != nil {
		t.Fatal(err)
	}
	r, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	es, err := r.Walk()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[1].Path != "/image" || es[1].Type != "float32" {
		t.Fatalf("entries %+v", es)
	}
	e := es[1]
	if e.Min != -1 || e.Max != 3 || e.Mean != 1 || len(e.Attrs) != 1 || e.Attrs[0].Value != `"k"` {
		t.Fatalf("stats %+v", e)
	}
}

func theta40() []float64 {
	out := make([]float64, 40)
	for i := range out {
		out[i] = 4.5 * float64(i)
	}
	return out
}

// TestReadGroundTruth: the truth comes from a scan's /exchange/ground_truth
// or an image file's /image; a scan without one and a file of another kind
// are errors that say where a truth lives.
func TestReadGroundTruth(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	dir := t.TempDir()
	gt := randVol(1, 4, rng)
	scan := &Scan{ThetaDeg: []float64{0, 90}, Slices: 1, NDet: 7, ImageSize: 4, DetSpacing: 1, GroundTruth: &gt,
		Data: make([]float32, 2*7)}
	withTruth, noTruth, img, rec := filepath.Join(dir, "s.h5"), filepath.Join(dir, "n.h5"), filepath.Join(dir, "i.h5"), filepath.Join(dir, "r.h5")
	if err := WriteScan(withTruth, scan); err != nil {
		t.Fatal(err)
	}
	scan.GroundTruth = nil
	if err := WriteScan(noTruth, scan); err != nil {
		t.Fatal(err)
	}
	im := randVol(1, 4, rng)
	if err := WriteImage(img, ImageFile{Image: im}); err != nil {
		t.Fatal(err)
	}
	if err := WriteRecon(rec, &Recon{Method: "fbp", Image: randVol(1, 4, rng)}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadGroundTruth(withTruth)
	if err != nil {
		t.Fatal(err)
	}
	equal32(t, "scan's truth", got.Data, gt.Data)
	if got, err = ReadGroundTruth(img); err != nil {
		t.Fatal(err)
	}
	equal32(t, "image file", got.Data, im.Data)
	for path, want := range map[string]string{noTruth: "no /exchange/ground_truth", rec: "holds no ground truth"} {
		if _, err := ReadGroundTruth(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", filepath.Base(path), err, want)
		}
	}
}

func TestReadVolumes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	dir := t.TempDir()
	img, rec, scan := filepath.Join(dir, "i.h5"), filepath.Join(dir, "r.h5"), filepath.Join(dir, "s.h5")
	im := randVol(3, 4, rng)
	if err := WriteImage(img, ImageFile{Image: im}); err != nil {
		t.Fatal(err)
	}
	x, sd := randVol(3, 4, rng), randVol(3, 4, rng)
	if err := WriteRecon(rec, &Recon{Method: "dip", Image: x, Std: &sd}); err != nil {
		t.Fatal(err)
	}
	if err := WriteScan(scan, &Scan{ThetaDeg: []float64{0, 90}, Slices: 1, NDet: 7, ImageSize: 4, DetSpacing: 1, Data: make([]float32, 2*7)}); err != nil {
		t.Fatal(err)
	}
	vols, err := ReadVolumes(rec, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 2 || vols[0].Name != "dip" || vols[0].Std || vols[1].Name != "std" || !vols[1].Std {
		t.Fatalf("reconstruction: %d volumes %+v", len(vols), vols)
	}
	equal32(t, "recon image", vols[0].Data, x.Data)
	equal32(t, "recon std", vols[1].Data, sd.Data)
	if vols, err = ReadVolumes(img, ""); err != nil || len(vols) != 1 || vols[0].Name != "image" {
		t.Fatalf("image file: %v %+v", err, vols)
	}
	equal32(t, "image", vols[0].Data, im.Data)
	// A named 3D dataset wins over the file's own content.
	if vols, err = ReadVolumes(rec, "/recon/std"); err != nil || len(vols) != 1 || vols[0].Slices != 3 || vols[0].N != 4 {
		t.Fatalf("--dataset /recon/std: %v %+v", err, vols)
	}
	equal32(t, "named dataset", vols[0].Data, sd.Data)
	for _, c := range []struct{ path, dataset, want string }{
		{scan, "", "no image volume"},
		{scan, "/exchange/theta", "[slices][N][N]"},
		{rec, "/nope", "nope"},
		{filepath.Join(dir, "missing.h5"), "", "missing.h5"},
	} {
		if _, err := ReadVolumes(c.path, c.dataset); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want an error saying %q", filepath.Base(c.path), c.dataset, err, c.want)
		}
	}
}
