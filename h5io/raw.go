package h5io

import (
	"fmt"
	"math"
)

// RawCounts are the measured intensities of a raw scan in the DXchange
// layout: the projections (/exchange/data), NWhite flat fields
// (/exchange/data_white, the beam without the object) and NDark dark fields
// (/exchange/data_dark, no beam), each [n][slices][NDet]. A file without
// dark fields has dark = 0.
type RawCounts struct {
	Data          []float32 // [angles][slices][NDet]
	White, Dark   []float32 // [NWhite][slices][NDet], [NDark][slices][NDet]
	NWhite, NDark int
}

// MinCountAboveDark is where a projection count at or below the dark field
// is clipped to, in counts above the dark field: half a count, the usual
// stand-in for a zero Poisson count (−log of it is finite, and larger than
// that of any count actually measured).
const MinCountAboveDark = 0.5

// Normalize returns the line integrals −log((data − dark)/(white − dark))
// ([angles][slices][NDet]), with the flat and dark fields averaged over their
// frames. Counts at or below the dark field are clipped to
// MinCountAboveDark above it and counted in clipped; a bin whose mean flat
// is not above its mean dark sees no beam, and makes it an error naming how
// many such bins there are and the first. meanInvCounts is the mean over
// all rays of 1/(data − dark) (after clipping): the variance of a line
// integral under Poisson statistics when the counts are photon counts.
func (rc *RawCounts) Normalize(angles, slices, ndet int) (li []float32, clipped int, meanInvCounts float64, err error) {
	per := slices * ndet
	if len(rc.Data) != angles*per || rc.NWhite < 1 || len(rc.White) != rc.NWhite*per || len(rc.Dark) != rc.NDark*per {
		return nil, 0, 0, fmt.Errorf("raw counts: data %d, white %d×%d, dark %d×%d values for %d angles × %d slices × %d bins",
			len(rc.Data), rc.NWhite, per, rc.NDark, per, angles, slices, ndet)
	}
	white, dark := meanFrame(rc.White, rc.NWhite, per), meanFrame(rc.Dark, rc.NDark, per)
	var dead int
	first := -1
	for i := range white {
		if !(white[i] > dark[i]) {
			if first < 0 {
				first = i
			}
			dead++
		}
	}
	if dead > 0 {
		return nil, 0, 0, fmt.Errorf("the flat field is not above the dark field at %d of %d detector bins (first: slice %d, bin %d: flat %.4g, dark %.4g): those bins see no beam, so their line integrals are undefined; crop them or take new flats",
			dead, per, first/ndet, first%ndet, white[first], dark[first])
	}
	li = make([]float32, len(rc.Data))
	var inv float64
	for a := 0; a < angles; a++ {
		for i := 0; i < per; i++ {
			c := float64(rc.Data[a*per+i]) - dark[i]
			if !(c > MinCountAboveDark) {
				if !(c >= MinCountAboveDark) { // equal to the floor is a measured value
					clipped++
				}
				c = MinCountAboveDark
			}
			inv += 1 / c
			li[a*per+i] = float32(-math.Log(c / (white[i] - dark[i])))
		}
	}
	return li, clipped, inv / float64(len(li)), nil
}

// meanFrame averages n frames of per values (zeros when n = 0).
func meanFrame(frames []float32, n, per int) []float64 {
	m := make([]float64, per)
	for f := 0; f < n; f++ {
		for i := range m {
			m[i] += float64(frames[f*per+i])
		}
	}
	if n > 0 {
		for i := range m {
			m[i] /= float64(n)
		}
	}
	return m
}

// readRaw reads the flat and dark fields of a raw scan whose counts are
// s.Data, replaces s.Data by the line integrals and records what was done.
func (s *Scan) readRaw(r *Reader, angles int) error {
	raw := &RawCounts{Data: s.Data}
	frames := func(name string) ([]float32, int, error) {
		if !r.Has(name) {
			return nil, 0, nil
		}
		v, shape, err := r.Float32(name, -1)
		if err != nil {
			return nil, 0, err
		}
		ok := (len(shape) == 3 && shape[1] == s.Slices && shape[2] == s.NDet) ||
			(len(shape) == 2 && s.Slices == 1 && shape[1] == s.NDet)
		if !ok || shape[0] < 1 {
			return nil, 0, fmt.Errorf("%s: %s has shape %v, want [frames][%d slices][%d bins] to match /exchange/data", r.Path(), name, shape, s.Slices, s.NDet)
		}
		if err := checkFinite32(v); err != nil {
			return nil, 0, fmt.Errorf("%s: %s: %v", r.Path(), name, err)
		}
		return v, shape[0], nil
	}
	var err error
	if raw.White, raw.NWhite, err = frames("/exchange/data_white"); err != nil {
		return err
	}
	if raw.Dark, raw.NDark, err = frames("/exchange/data_dark"); err != nil {
		return err
	}
	if err := checkFinite32(raw.Data); err != nil {
		return fmt.Errorf("%s: /exchange/data: %v", r.Path(), err)
	}
	li, clipped, inv, err := raw.Normalize(angles, s.Slices, s.NDet)
	if err != nil {
		return fmt.Errorf("%s: %v", r.Path(), err)
	}
	s.Data, s.Raw, s.ClippedCounts, s.MeanInvCounts = li, raw, clipped, inv
	return nil
}

// writeRaw writes s.Raw as /exchange/data, data_white and data_dark.
func (s *Scan) writeRaw(w *Writer, opt DatasetOptions, attrs []Attr) {
	rc := s.Raw
	w.Float32("/exchange/data", []int{s.Angles(), s.Slices, s.NDet}, rc.Data, opt, attrs...)
	w.Float32("/exchange/data_white", []int{rc.NWhite, s.Slices, s.NDet}, rc.White, DatasetOptions{})
	if rc.NDark > 0 {
		w.Float32("/exchange/data_dark", []int{rc.NDark, s.Slices, s.NDet}, rc.Dark, DatasetOptions{})
	}
}
