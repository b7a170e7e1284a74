package pipeline

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStudySpecErrors: a bad count, an unknown kind or method, or SGLD
// without noise is a SpecError (the CLI's usage error), not a run-time
// failure.
func TestStudySpecErrors(t *testing.T) {
	var se *SpecError
	for _, spec := range []string{"ellipses:0", "ellipses:x", "unicorns:2"} {
		if _, err := StudyImages(spec, 16, 1, 0); !errors.As(err, &se) {
			t.Errorf("%q: %v, want a SpecError", spec, err)
		}
	}
	imgs, err := StudyImages("ellipses:1", 16, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &Study{Images: imgs, Angles: []int{6}, Methods: []string{"fbp", "guess"}, Seed: 1}
	if _, err := s.Run(context.Background()); !errors.As(err, &se) {
		t.Errorf("unknown method: %v, want a SpecError", err)
	}
	s = &Study{Images: imgs, Angles: []int{6}, Methods: []string{"sgld"}, Noise: 0, Seed: 1}
	if _, err := s.Run(context.Background()); !errors.As(err, &se) {
		t.Errorf("sgld without noise: %v, want a SpecError", err)
	}
}

// TestStudySplitMergesToTheWhole: two studies over draws 0 and 1 saved and
// merged give the tables of one study over both draws (seeds follow the
// draw), and the tables hold every method asked for.
func TestStudySplitMergesToTheWhole(t *testing.T) {
	dir := t.TempDir()
	run := func(first, count int, values string) *StudyResults {
		imgs, err := StudyImages("ellipses:"+strconv.Itoa(count), 16, 3, first)
		if err != nil {
			t.Fatal(err)
		}
		s := &Study{Images: imgs, Angles: []int{6, 9}, Noise: 0.05, Methods: []string{"fbp", "tv"}, First: first, Seed: 3}
		r, err := s.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if values != "" {
			if err := r.SaveValues(values); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	whole := run(0, 2, "")
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	run(0, 1, a)
	run(1, 1, b)
	merged, err := MergeStudyValues([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	strip := func(md string) string { // the timing table differs run to run
		i := strings.Index(md, "Seconds per reconstruction")
		return md[:i]
	}
	if w, m := strip(whole.Markdown("")), strip(merged.Markdown("")); w != m {
		t.Errorf("merged tables differ from the whole run's:\n%s\nwhole:\n%s", m, w)
	}
	for _, want := range []string{"| fbp |", "| fbp-best |", "| tv |", "6 angles", "9 angles"} {
		if !strings.Contains(whole.Markdown(""), want) {
			t.Errorf("tables lack %q", want)
		}
	}
}

// TestStudySampledBaselines: the sampled uncertainty baselines (MC dropout,
// SGLD) reach every calibration table with values in range, and their
// posterior means are scored as reconstructions.
func TestStudySampledBaselines(t *testing.T) {
	imgs, err := StudyImages("ellipses:1", 16, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &Study{Images: imgs, Angles: []int{8}, Noise: 0.05, Methods: []string{"mcdrop", "sgld"}, DIPIters: 200, DIPTV: -1, MCSamples: 8, Seed: 3}
	r, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"mcdrop", "sgld"} {
		for _, metric := range []string{"ll-all", "ll-object", "cover1", "cover2", "spearman"} {
			st := r.uq[studyUQKey{"ellipses", m, metric, 8}]
			if st == nil || len(st.v) != 1 {
				t.Errorf("%s: no %s value", m, metric)
				continue
			}
			v := st.v[0]
			if bad := v != v || (strings.HasPrefix(metric, "cover") && (v < 0 || v > 1)); bad {
				t.Errorf("%s: %s = %g", m, metric, v)
			}
		}
		if r.psnr[studyKey{"ellipses", m, 8}] == nil {
			t.Errorf("%s: its mean is not scored", m)
		}
		if md := r.Markdown(""); strings.Count(md, "| "+m+" |") < 6 {
			t.Errorf("%s appears in fewer than six tables:\n%s", m, md)
		}
	}
}
