package h5io

import (
	"fmt"
	"math"
	"strings"
)

// Volume is a stack of N×N slices stored row-major, [slices][N][N].
type Volume struct {
	Slices, N int
	Data      []float32
}

// NewVolume allocates a zero volume.
func NewVolume(slices, n int) Volume {
	return Volume{Slices: slices, N: n, Data: make([]float32, slices*n*n)}
}

// Slice returns slice k as a view (not a copy).
func (v Volume) Slice(k int) []float32 { return v.Data[k*v.N*v.N : (k+1)*v.N*v.N] }

func (v Volume) check(file, what string) error {
	if v.Slices < 1 || v.N < 1 || len(v.Data) != v.Slices*v.N*v.N {
		return fmt.Errorf("%s: %s: volume %d×%d×%d does not match its %d values", file, what, v.Slices, v.N, v.N, len(v.Data))
	}
	if err := checkFinite32(v.Data); err != nil {
		return fmt.Errorf("%s: %s: %v", file, what, err)
	}
	return nil
}

func (v Volume) write(w *Writer, path string, attrs ...Attr) {
	var opt DatasetOptions
	if v.Slices > 1 { // volumes are chunked by slice and compressed
		opt.Chunk = []int{1, v.N, v.N}
	}
	w.Float32(path, []int{v.Slices, v.N, v.N}, v.Data, opt, attrs...)
}

// readVolume reads [slices][N][N] (or a single [N][N] image).
func (r *Reader) readVolume(path string) (Volume, error) {
	data, shape, err := r.Float32(path, -1)
	if err != nil {
		return Volume{}, err
	}
	switch {
	case len(shape) == 2 && shape[0] == shape[1] && shape[0] > 0:
		return Volume{Slices: 1, N: shape[0], Data: data}, nil
	case len(shape) == 3 && shape[1] == shape[2] && shape[1] > 0 && shape[0] > 0:
		return Volume{Slices: shape[0], N: shape[1], Data: data}, nil
	}
	return Volume{}, fmt.Errorf("%s: dataset %s has shape %v, want [slices][N][N] with square non-empty slices", r.path, path, shape)
}

// ---- image files ----------------------------------------------------------

// ImageFile is what `ctrecon phantom` writes: /image [slices][N][N].
type ImageFile struct {
	Image Volume
	Attrs []Attr // on /image: kind, seed, source, ...
}

// WriteImage writes an image file atomically.
func WriteImage(path string, f ImageFile) error {
	if err := f.Image.check(path, "/image"); err != nil {
		return err
	}
	w, err := Create(path)
	if err != nil {
		return err
	}
	f.Image.write(w, "/image", f.Attrs...)
	return w.Commit()
}

// ReadImage reads /image from an image file.
func ReadImage(path string) (ImageFile, error) {
	r, err := Open(path)
	if err != nil {
		return ImageFile{}, err
	}
	defer r.Close()
	if err := r.expectKind(path, "/image"); err != nil {
		return ImageFile{}, err
	}
	v, err := r.readVolume("/image")
	return ImageFile{Image: v}, err
}

// fileKinds names each file kind by its main dataset and the command
// that makes it.
var fileKinds = []struct{ dataset, kind, maker string }{
	{"/image", "an image file", "ctrecon phantom"},
	{"/exchange/data", "a scan file", "ctrecon simulate"},
	{"/recon/image", "a reconstruction file", "ctrecon fbp, tv, sirt, dip or uncertainty"},
	{"/design/theta_candidates", "a plan file", "ctrecon plan"},
}

// expectKind returns nil when the file holds dataset, and otherwise an
// error saying what kind of file it is instead and what makes the wanted
// kind, so that a file given in the wrong place is named as such.
func (r *Reader) expectKind(path, dataset string) error {
	if r.Has(dataset) {
		return nil
	}
	want, have := "", ""
	for _, k := range fileKinds {
		if k.dataset == dataset {
			want = fmt.Sprintf("%s (%s; made by %s)", k.kind, k.dataset, k.maker)
		} else if have == "" && r.Has(k.dataset) {
			have = k.kind
		}
	}
	if want == "" || have == "" {
		return nil // let the reader report the missing dataset itself
	}
	return fmt.Errorf("%s is %s, not %s", path, have, want)
}

// ---- scan files (DXchange layout) -----------------------------------------

// Scan is a parallel-beam measurement in the DXchange layout:
// /exchange/data [angles][slices][NDet], /exchange/theta in degrees.
type Scan struct {
	ThetaDeg   []float64
	Slices     int
	NDet       int
	Data       []float32 // [angles][slices][NDet]
	ImageSize  int       // N of the reconstruction grid
	DetSpacing float64   // detector bin width in pixels
	NoiseStd   float64   // σ of the noise; 0 when unknown
	NoiseRel   float64   // η of simulated noise; 0 when not simulated
	// Beam geometry (attributes of /exchange/data; files without them are
	// parallel beam): Geometry is "parallel" or "fan"; a fan beam has its
	// source SourceDistance and its detector DetectorDistance from the
	// rotation centre (pixels) and a "flat" or "arc" Detector. CenterOffset
	// is where the rotation axis projects onto the detector, in bins from
	// its centre (center_offset).
	Geometry         string
	SourceDistance   float64
	DetectorDistance float64
	Detector         string
	CenterOffset     float64
	// Raw holds the counts of a raw scan (flat and dark fields in the file):
	// WriteScan writes them instead of Data; ReadScan sets Data to their
	// line integrals (RawCounts.Normalize), ClippedCounts to how many counts
	// were at or below the dark field, and MeanInvCounts to the mean of
	// 1/(count − dark), the Poisson variance of a line integral.
	Raw           *RawCounts
	ClippedCounts int
	MeanInvCounts float64
	// NoiseFromCounts says NoiseStd was not in the file but estimated as
	// √MeanInvCounts, taking the counts for photon counts (gain 1).
	NoiseFromCounts bool
	// GroundTruth is the image the scan was simulated from, when known.
	GroundTruth *Volume
	// Attrs are extra attributes on /exchange/data (phantom, seed, …):
	// WriteScan writes them all; ReadScan reads back phantom and seed.
	Attrs []Attr
}

// Angles is the number of projection angles.
func (s *Scan) Angles() int { return len(s.ThetaDeg) }

// AttrString returns the scan's text attribute name (phantom, …).
func (s *Scan) AttrString(name string) (string, bool) { return attrString(s.Attrs, name) }

// AttrFloat returns the scan's numeric attribute name (seed, …).
func (s *Scan) AttrFloat(name string) (float64, bool) { return attrFloat(s.Attrs, name) }

// Sinogram copies slice k's sinogram, [angles][NDet], into dst (allocated
// when nil) and returns it.
func (s *Scan) Sinogram(dst []float32, k int) []float32 {
	a := s.Angles()
	if dst == nil {
		dst = make([]float32, a*s.NDet)
	}
	for i := 0; i < a; i++ {
		copy(dst[i*s.NDet:(i+1)*s.NDet], s.Data[(i*s.Slices+k)*s.NDet:])
	}
	return dst
}

// SetSinogram stores sino ([angles][NDet]) as slice k.
func (s *Scan) SetSinogram(k int, sino []float32) {
	for i := 0; i < s.Angles(); i++ {
		copy(s.Data[(i*s.Slices+k)*s.NDet:(i*s.Slices+k+1)*s.NDet], sino[i*s.NDet:(i+1)*s.NDet])
	}
}

func (s *Scan) validate(file string) error {
	if s.Angles() < 1 || s.Slices < 1 || s.NDet < 1 {
		return fmt.Errorf("%s: scan has %d angles, %d slices, %d detector bins: all must be ≥ 1", file, s.Angles(), s.Slices, s.NDet)
	}
	if s.Raw != nil {
		per := s.Slices * s.NDet
		if len(s.Raw.Data) != s.Angles()*per || s.Raw.NWhite < 1 || len(s.Raw.White) != s.Raw.NWhite*per || len(s.Raw.Dark) != s.Raw.NDark*per {
			return fmt.Errorf("%s: raw counts do not match %d angles × %d slices × %d bins (or no flat field)", file, s.Angles(), s.Slices, s.NDet)
		}
		if err := checkFinite32(s.Raw.Data); err != nil {
			return fmt.Errorf("%s: raw counts: %v", file, err)
		}
	} else if len(s.Data) != s.Angles()*s.Slices*s.NDet {
		return fmt.Errorf("%s: /exchange/data has %d values, want %d angles × %d slices × %d bins", file, len(s.Data), s.Angles(), s.Slices, s.NDet)
	}
	if err := checkFinite32(s.Data); err != nil {
		return fmt.Errorf("%s: /exchange/data: %v", file, err)
	}
	if err := checkFinite64(s.ThetaDeg); err != nil {
		return fmt.Errorf("%s: /exchange/theta: %v", file, err)
	}
	if s.ImageSize < 1 {
		return fmt.Errorf("%s: image_size %d must be ≥ 1", file, s.ImageSize)
	}
	if !(s.DetSpacing > 0) || math.IsInf(s.DetSpacing, 0) {
		return fmt.Errorf("%s: det_spacing %v must be a positive number", file, s.DetSpacing)
	}
	switch s.Geometry {
	case "", "parallel":
	case "fan":
		if !(s.SourceDistance > 0) || math.IsInf(s.SourceDistance, 0) {
			return fmt.Errorf("%s: fan-beam scan: source_distance %v must be a positive number", file, s.SourceDistance)
		}
		if !(s.DetectorDistance >= 0) || math.IsInf(s.DetectorDistance, 0) {
			return fmt.Errorf("%s: fan-beam scan: detector_distance %v must be a number ≥ 0", file, s.DetectorDistance)
		}
		if s.Detector != "" && s.Detector != "flat" && s.Detector != "arc" {
			return fmt.Errorf("%s: fan-beam scan: detector %q, want \"flat\" or \"arc\"", file, s.Detector)
		}
	default:
		return fmt.Errorf("%s: geometry attribute %q, want \"parallel\" or \"fan\"", file, s.Geometry)
	}
	if math.IsNaN(s.CenterOffset) || math.IsInf(s.CenterOffset, 0) {
		return fmt.Errorf("%s: center_offset %v must be finite", file, s.CenterOffset)
	}
	if s.NoiseStd < 0 || math.IsNaN(s.NoiseStd) {
		return fmt.Errorf("%s: noise_std %v must be ≥ 0", file, s.NoiseStd)
	}
	if gt := s.GroundTruth; gt != nil {
		if err := gt.check(file, "/exchange/ground_truth"); err != nil {
			return err
		}
		if gt.Slices != s.Slices || gt.N != s.ImageSize {
			return fmt.Errorf("%s: /exchange/ground_truth is %d×%d×%d, but the scan has %d slices of image_size %d", file, gt.Slices, gt.N, gt.N, s.Slices, s.ImageSize)
		}
	}
	return nil
}

// WriteScan writes a scan file atomically.
func WriteScan(path string, s *Scan) error {
	if err := s.validate(path); err != nil {
		return err
	}
	w, err := Create(path)
	if err != nil {
		return err
	}
	attrs := []Attr{{"image_size", s.ImageSize}, {"det_spacing", s.DetSpacing}}
	if s.Geometry == "fan" {
		det := s.Detector
		if det == "" {
			det = "flat"
		}
		attrs = append(attrs, Attr{"geometry", "fan"}, Attr{"source_distance", s.SourceDistance},
			Attr{"detector_distance", s.DetectorDistance}, Attr{"detector", det})
	} else {
		attrs = append(attrs, Attr{"geometry", "parallel"})
	}
	if s.CenterOffset != 0 {
		attrs = append(attrs, Attr{"center_offset", s.CenterOffset})
	}
	if s.NoiseStd > 0 {
		attrs = append(attrs, Attr{"noise_std", s.NoiseStd})
	}
	if s.NoiseRel > 0 {
		attrs = append(attrs, Attr{"noise_rel", s.NoiseRel})
	}
	attrs = append(attrs, s.Attrs...)
	var opt DatasetOptions
	if s.Slices > 1 { // one chunk per slice's sinogram
		opt.Chunk = []int{s.Angles(), 1, s.NDet}
	}
	if s.Raw != nil {
		s.writeRaw(w, opt, attrs)
	} else {
		w.Float32("/exchange/data", []int{s.Angles(), s.Slices, s.NDet}, s.Data, opt, attrs...)
	}
	w.Float64("/exchange/theta", []int{s.Angles()}, s.ThetaDeg, DatasetOptions{}, Attr{"units", "degrees"})
	if s.GroundTruth != nil {
		s.GroundTruth.write(w, "/exchange/ground_truth")
	}
	return w.Commit()
}

// ReadScan reads and validates a scan file. Files from other tools (h5py,
// DXchange) load as long as /exchange/data and /exchange/theta are there.
// When /exchange/data_white is there too, /exchange/data holds raw counts
// and Data is their line integrals (Scan.Raw);
// missing attributes take defaults: det_spacing 1, image_size the ground
// truth's size or else the largest N whose default detector (DefaultNDet)
// fits in NDet bins.
func ReadScan(path string) (*Scan, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.expectKind(path, "/exchange/data"); err != nil {
		return nil, err
	}
	data, shape, err := r.Float32("/exchange/data", -1)
	if err != nil {
		return nil, err
	}
	s := &Scan{Data: data}
	switch len(shape) {
	case 3:
		s.Slices, s.NDet = shape[1], shape[2]
	case 2: // a single sinogram [angles][det]
		s.Slices, s.NDet = 1, shape[1]
	default: // a profile (rank 1), a scalar, or a stack of volumes (rank ≥ 4)
		return nil, fmt.Errorf("%s: /exchange/data has rank %d (shape %v); a scan is [angles][slices][det], or one sinogram [angles][det]", path, len(shape), shape)
	}
	theta, tshape, err := r.Float64("/exchange/theta", 1)
	if err != nil {
		return nil, err
	}
	if tshape[0] != shape[0] {
		return nil, fmt.Errorf("%s: /exchange/theta has %d angles but /exchange/data has %d", path, tshape[0], shape[0])
	}
	s.ThetaDeg = theta
	s.DetSpacing = 1
	if v, ok, err := r.AttrFloat("/exchange/data", "det_spacing"); err != nil {
		return nil, err
	} else if ok {
		s.DetSpacing = v
	}
	if v, ok, err := r.AttrFloat("/exchange/data", "noise_std"); err != nil {
		return nil, err
	} else if ok {
		s.NoiseStd = v
	}
	if v, ok, err := r.AttrFloat("/exchange/data", "noise_rel"); err != nil {
		return nil, err
	} else if ok {
		s.NoiseRel = v
	}
	if err := s.readGeometry(r); err != nil {
		return nil, err
	}
	if r.Has("/exchange/data_white") {
		if err := s.readRaw(r, shape[0]); err != nil {
			return nil, err
		}
		if s.NoiseStd == 0 {
			s.NoiseStd, s.NoiseFromCounts = math.Sqrt(s.MeanInvCounts), true
		}
	} else if r.Has("/exchange/data_dark") {
		return nil, fmt.Errorf("%s: /exchange/data_dark without /exchange/data_white: raw counts need flat fields to be normalised", path)
	}
	if r.Has("/exchange/ground_truth") {
		gt, err := r.readVolume("/exchange/ground_truth")
		if err != nil {
			return nil, err
		}
		s.GroundTruth = &gt
	}
	if v, ok, err := r.AttrFloat("/exchange/data", "image_size"); err != nil {
		return nil, err
	} else if ok {
		s.ImageSize = int(v)
		if float64(s.ImageSize) != v {
			return nil, fmt.Errorf("%s: image_size attribute %v is not a whole number", path, v)
		}
	} else if s.GroundTruth != nil {
		s.ImageSize = s.GroundTruth.N
	} else if s.Geometry == "fan" {
		// Bins of DetSpacing at the detector are DetSpacing/M at the centre.
		s.ImageSize = ImageSizeForDetector(s.NDet, s.DetSpacing*s.SourceDistance/(s.SourceDistance+s.DetectorDistance))
	} else {
		s.ImageSize = ImageSizeForDetector(s.NDet, s.DetSpacing)
	}
	// Provenance from ctrecon simulate (which built-in phantom, which seed
	// drew it), kept for reports; a foreign file's odd types are ignored.
	if v, ok, err := r.AttrString("/exchange/data", "phantom"); err == nil && ok {
		s.Attrs = append(s.Attrs, Attr{"phantom", v})
	}
	if v, ok, err := r.AttrFloat("/exchange/data", "seed"); err == nil && ok {
		s.Attrs = append(s.Attrs, Attr{"seed", v})
	}
	if err := s.validate(path); err != nil {
		return nil, err
	}
	return s, nil
}

// readGeometry reads the beam-geometry attributes of /exchange/data.
func (s *Scan) readGeometry(r *Reader) error {
	const ds = "/exchange/data"
	geo, ok, err := r.AttrString(ds, "geometry")
	if err != nil {
		return err
	}
	if ok {
		s.Geometry = strings.ToLower(strings.TrimSpace(geo))
	}
	if v, ok, err := r.AttrFloat(ds, "center_offset"); err != nil {
		return err
	} else if ok {
		s.CenterOffset = v
	}
	if s.Geometry != "fan" {
		return nil
	}
	for _, a := range []struct {
		name string
		dst  *float64
	}{{"source_distance", &s.SourceDistance}, {"detector_distance", &s.DetectorDistance}} {
		v, ok, err := r.AttrFloat(ds, a.name)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s: a fan-beam scan (geometry = \"fan\") needs the %s attribute on %s", r.Path(), a.name, ds)
		}
		*a.dst = v
	}
	det, ok, err := r.AttrString(ds, "detector")
	if err != nil {
		return err
	}
	s.Detector = "flat"
	if ok {
		s.Detector = strings.ToLower(strings.TrimSpace(det))
	}
	return nil
}

// DefaultNDet is DESIGN.md's default detector for an N×N image with unit
// bins: 2·ceil(√2·N/2)+1, so every ray through the image disc is seen.
func DefaultNDet(n int) int { return 2*int(math.Ceil(math.Sqrt2*float64(n)/2)) + 1 }

// ImageSizeForDetector is the largest N whose default detector, scaled by
// the bin width, fits within ndet bins (at least 1).
func ImageSizeForDetector(ndet int, spacing float64) int {
	width := float64(ndet) * spacing
	n := 1
	for float64(DefaultNDet(n+1)) <= width {
		n++
	}
	return n
}

// ---- reconstruction files -------------------------------------------------

// Group is data that only one command understands (a DIP model, a fit
// checkpoint, fitted hyperparameters): float32 arrays and attributes under
// one HDF5 group.
type Group struct {
	Path   string // e.g. "/dip"
	Arrays []Array
	Attrs  []Attr
}

// Array is one named float32 array of a Group.
type Array struct {
	Name  string
	Shape []int
	Data  []float32
}

// Get returns the array called name, or nil.
func (g *Group) Get(name string) *Array {
	for i := range g.Arrays {
		if g.Arrays[i].Name == name {
			return &g.Arrays[i]
		}
	}
	return nil
}

// Recon is a reconstruction file: /recon/image, optional /recon/std and
// /recon/samples [k][slices][N][N], attribute method, and extra groups.
type Recon struct {
	Method  string
	Image   Volume
	Std     *Volume
	Samples []float32 // [k][slices][N][N]; nil when none
	Attrs   []Attr    // extra attributes on /recon (timings, PSNR, ...)
	Groups  []Group
}

// WriteRecon writes a reconstruction file atomically.
func WriteRecon(path string, rc *Recon) error {
	if err := rc.Image.check(path, "/recon/image"); err != nil {
		return err
	}
	if rc.Std != nil {
		if err := rc.Std.check(path, "/recon/std"); err != nil {
			return err
		}
		if rc.Std.Slices != rc.Image.Slices || rc.Std.N != rc.Image.N {
			return fmt.Errorf("%s: /recon/std shape differs from /recon/image", path)
		}
	}
	per := len(rc.Image.Data)
	if len(rc.Samples)%per != 0 {
		return fmt.Errorf("%s: /recon/samples has %d values, not a multiple of the image's %d", path, len(rc.Samples), per)
	}
	if err := checkFinite32(rc.Samples); err != nil {
		return fmt.Errorf("%s: /recon/samples: %v", path, err)
	}
	w, err := Create(path)
	if err != nil {
		return err
	}
	w.GroupAttrs("/recon", append([]Attr{{"method", rc.Method}}, rc.Attrs...)...)
	rc.Image.write(w, "/recon/image", Attr{"method", rc.Method})
	if rc.Std != nil {
		rc.Std.write(w, "/recon/std")
	}
	if k := len(rc.Samples) / per; k > 0 {
		w.Float32("/recon/samples", []int{k, rc.Image.Slices, rc.Image.N, rc.Image.N}, rc.Samples,
			DatasetOptions{Chunk: []int{1, 1, rc.Image.N, rc.Image.N}})
	}
	for _, g := range rc.Groups {
		writeGroup(w, g)
	}
	return w.Commit()
}

func writeGroup(w *Writer, g Group) {
	w.GroupAttrs(g.Path, g.Attrs...)
	for _, a := range g.Arrays {
		w.Float32(g.Path+"/"+a.Name, a.Shape, a.Data, DatasetOptions{})
	}
}

// ReadRecon reads a reconstruction file, including its extra groups.
func ReadRecon(path string) (*Recon, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.expectKind(path, "/recon/image"); err != nil {
		return nil, err
	}
	img, err := r.readVolume("/recon/image")
	if err != nil {
		return nil, err
	}
	rc := &Recon{Image: img}
	if attrs, err := r.GroupAttrs("/recon"); err != nil {
		return nil, err
	} else {
		for _, a := range attrs {
			if a.Name == "method" {
				rc.Method, _ = a.Value.(string)
			} else {
				rc.Attrs = append(rc.Attrs, a)
			}
		}
	}
	if r.Has("/recon/std") {
		sd, err := r.readVolume("/recon/std")
		if err != nil {
			return nil, err
		}
		if sd.Slices != img.Slices || sd.N != img.N {
			return nil, fmt.Errorf("%s: /recon/std shape differs from /recon/image", path)
		}
		rc.Std = &sd
	}
	if r.Has("/recon/samples") {
		smp, shape, err := r.Float32("/recon/samples", 4)
		if err != nil {
			return nil, err
		}
		if shape[1] != img.Slices || shape[2] != img.N || shape[3] != img.N {
			return nil, fmt.Errorf("%s: /recon/samples has shape %v, images are %d×%d×%d", path, shape, img.Slices, img.N, img.N)
		}
		rc.Samples = smp
	}
	entries, err := r.Walk()
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsGroup && e.Path != "/" && e.Path != "/recon" && depth(e.Path) == 1 {
			g, err := r.ReadGroup(e.Path)
			if err != nil {
				return nil, err
			}
			rc.Groups = append(rc.Groups, g)
		}
	}
	return rc, nil
}

// Group returns the extra group at path, or nil.
func (rc *Recon) Group(path string) *Group {
	for i := range rc.Groups {
		if rc.Groups[i].Path == path {
			return &rc.Groups[i]
		}
	}
	return nil
}

// ---- plan files -----------------------------------------------------------

// Plan is an experimental-design result: candidate angles, the chosen ones
// in order of choice and the criterion's score of every candidate at each
// step.
type Plan struct {
	Criterion  string
	Candidates []float64 // degrees, [C]
	Selected   []float64 // degrees, [k]
	Scores     []float64 // [k][C]; NaN for candidates that could not be chosen
	// PredictedMeanStd and PredictedROIStd, when set, are the predicted
	// mean pixel std before the plan and after each chosen angle ([k+1]),
	// stored as /design/predicted_mean_std and /design/predicted_roi_std.
	PredictedMeanStd, PredictedROIStd []float64
	Attrs                             []Attr
}

// WritePlan writes a plan file atomically.
func WritePlan(path string, p *Plan) error {
	c, k := len(p.Candidates), len(p.Selected)
	if c == 0 {
		return fmt.Errorf("%s: plan has no candidate angles", path)
	}
	if len(p.Scores) != k*c {
		return fmt.Errorf("%s: plan scores have %d values, want %d selections × %d candidates", path, len(p.Scores), k, c)
	}
	w, err := Create(path)
	if err != nil {
		return err
	}
	w.GroupAttrs("/design", append([]Attr{{"criterion", p.Criterion}}, p.Attrs...)...)
	w.Float64("/design/theta_candidates", []int{c}, p.Candidates, DatasetOptions{})
	w.Float64("/design/theta_selected", []int{k}, p.Selected, DatasetOptions{})
	w.Float64("/design/scores", []int{k, c}, p.Scores, DatasetOptions{})
	for _, d := range []struct {
		name string
		v    []float64
	}{{"predicted_mean_std", p.PredictedMeanStd}, {"predicted_roi_std", p.PredictedROIStd}} {
		if d.v == nil {
			continue
		}
		if len(d.v) != k+1 {
			w.Abort()
			return fmt.Errorf("%s: plan %s has %d values, want %d (before and after each of %d angles)", path, d.name, len(d.v), k+1, k)
		}
		w.Float64("/design/"+d.name, []int{k + 1}, d.v, DatasetOptions{})
	}
	return w.Commit()
}

// ReadPlan reads a plan file.
func ReadPlan(path string) (*Plan, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.expectKind(path, "/design/theta_candidates"); err != nil {
		return nil, err
	}
	p := &Plan{}
	if p.Candidates, _, err = r.Float64("/design/theta_candidates", 1); err != nil {
		return nil, err
	}
	if p.Selected, _, err = r.Float64("/design/theta_selected", 1); err != nil {
		return nil, err
	}
	var shape []int
	if p.Scores, shape, err = r.Float64NaN("/design/scores", 2); err != nil {
		return nil, err
	}
	if shape[0] != len(p.Selected) || shape[1] != len(p.Candidates) {
		return nil, fmt.Errorf("%s: /design/scores has shape %v, want [%d][%d]", path, shape, len(p.Selected), len(p.Candidates))
	}
	for _, d := range []struct {
		name string
		dst  *[]float64
	}{{"predicted_mean_std", &p.PredictedMeanStd}, {"predicted_roi_std", &p.PredictedROIStd}} {
		if r.Has("/design/" + d.name) {
			if *d.dst, _, err = r.Float64("/design/"+d.name, 1); err != nil {
				return nil, err
			}
		}
	}
	attrs, err := r.GroupAttrs("/design")
	if err != nil {
		return nil, err
	}
	for _, a := range attrs {
		if a.Name == "criterion" {
			p.Criterion, _ = a.Value.(string)
		} else {
			p.Attrs = append(p.Attrs, a)
		}
	}
	return p, nil
}

// AttrString returns the plan's text attribute name (scan, recon, roi, …).
func (p *Plan) AttrString(name string) (string, bool) { return attrString(p.Attrs, name) }

// ReadGroundTruth reads the ground truth a reconstruction is scored
// against: a scan file's /exchange/ground_truth (ctrecon simulate) or an
// image file's /image (ctrecon phantom). Any other file is an error that
// says which files hold one.
func ReadGroundTruth(path string) (Volume, error) {
	r, err := Open(path)
	if err != nil {
		return Volume{}, err
	}
	isScan, isImage := r.Has("/exchange/data"), r.Has("/image")
	r.Close()
	if !isScan && !isImage {
		return Volume{}, fmt.Errorf("%s holds no ground truth: give a scan file with /exchange/ground_truth (ctrecon simulate) or an image file with /image (ctrecon phantom)", path)
	}
	if isScan {
		s, err := ReadScan(path)
		if err != nil {
			return Volume{}, err
		}
		if s.GroundTruth == nil {
			return Volume{}, fmt.Errorf("%s: the scan has no /exchange/ground_truth", path)
		}
		return *s.GroundTruth, nil
	}
	f, err := ReadImage(path)
	return f.Image, err
}

// NamedVolume is an image volume with what it shows: a dataset's path, a
// reconstruction's method, "image", or "std" for a std map.
type NamedVolume struct {
	Name string
	Std  bool
	Volume
}

// ReadVolumes reads the image volumes of a file: the 3D dataset named by
// dataset (a [slices][N][N] stack) when it is not empty, else a
// reconstruction's /recon/image and its std map when it has one, else an
// image file's /image.
func ReadVolumes(path, dataset string) ([]NamedVolume, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	isRecon, isImage := r.Has("/recon/image"), r.Has("/image")
	if dataset != "" {
		data, shape, err := r.Float32(dataset, -1)
		r.Close()
		if err != nil {
			return nil, err
		}
		if len(shape) != 3 || shape[1] != shape[2] {
			return nil, fmt.Errorf("%s has shape %v: a volume is a [slices][N][N] stack", dataset, shape)
		}
		return []NamedVolume{{Name: dataset, Volume: Volume{Slices: shape[0], N: shape[1], Data: data}}}, nil
	}
	r.Close()
	switch {
	case isRecon:
		rc, err := ReadRecon(path)
		if err != nil {
			return nil, err
		}
		vols := []NamedVolume{{Name: rc.Method, Volume: rc.Image}}
		if rc.Std != nil {
			vols = append(vols, NamedVolume{Name: "std", Std: true, Volume: *rc.Std})
		}
		return vols, nil
	case isImage:
		f, err := ReadImage(path)
		if err != nil {
			return nil, err
		}
		return []NamedVolume{{Name: "image", Volume: f.Image}}, nil
	}
	return nil, fmt.Errorf("%s: no image volume (/image or /recon/image); name a 3D dataset (ctrecon plot --dataset)", path)
}
