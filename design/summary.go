package design

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/ctrecon/ctrecon/metrics"
)

// Stat is a mean with its standard error over images (and seeds).
type Stat struct {
	Mean, SE float64
	N        int
}

func stat(v []float64) Stat {
	m, se := metrics.MeanSE(v)
	return Stat{Mean: m, SE: se, N: len(v)}
}

func (s Stat) String() string {
	if math.IsNaN(s.SE) {
		return fmt.Sprintf("%.3g", s.Mean)
	}
	return fmt.Sprintf("%.3g ± %.2g", s.Mean, s.SE)
}

// Cell is one strategy at one angle count, over the runs.
type Cell struct {
	DIP, TV, DIPSSIM, TVSSIM Stat
	// DIPvsEqual and TVvsEqual are the paired differences to equal spacing
	// on the same image and seed (zero count when equal was not run).
	DIPvsEqual, TVvsEqual Stat
}

// Summary is the study table: Cells[strategy][eval].
type Summary struct {
	Strategies []Strategy
	Evals      []int
	Cells      map[Strategy][]Cell
	// RefitSeconds is the mean time of one refit (DIP, linearisation and
	// choice) of the lin-DIP strategies; SelectSeconds of the choice alone.
	RefitSeconds, SelectSeconds map[Strategy]float64
	// PerImage are the paired differences image by image (sorted by name),
	// for telling an effect on all images from one on a few.
	PerImage []ImageRow
	// ByImage, set by Cluster, are the paired differences to equal
	// spacing with the runs of one image (its DIP seeds) averaged first:
	// ByImage[strategy][eval], s.e. over images. Runs of one image share
	// its phantom, so their differences are not independent; this s.e.
	// counts the images, the unit a claim about phantoms generalises over.
	ByImage map[Strategy][]Cell
	// Images is the number of images with an equal-spacing run, those
	// ByImage averages over (0: not clustered).
	Images int
	// imageOf is Cluster's image of a run name (nil: each run its own).
	imageOf func(run string) string
	// byRun and runNames index Summarise's runs by name and strategy
	// (indexRuns), for the paired differences.
	byRun    map[string]map[Strategy]*RunState
	runNames []string
}

// Clustered tells whether ByImage differs from the per-run paired
// differences and is the one to report: Cluster found two or more images
// (one image: its seeds are all the spread there is) and fewer images than
// paired runs (some image has several seeds).
func (sm *Summary) Clustered() bool {
	return sm.Images > 1 && sm.Images < len(sm.PerImage)
}

// Ahead counts the images on which a strategy's DIP PSNR beats equal
// spacing's (PerImage's mean over the angle counts, averaged over each
// image's runs when clustered): ahead of n, ties left out as the sign
// test leaves them, and the two-sided sign-test p-value, the chance of a
// split at least this uneven if neither strategy were better.
func (sm *Summary) Ahead(s Strategy) (ahead, n int, p float64) {
	return countAhead(sm.diffs(s, EqualSpace, 0, dipPSNR))
}

// countAhead counts the positive values of d (one per image) among the
// non-zero ones, and the two-sided sign-test p of that split.
func countAhead(d []float64) (ahead, n int, p float64) {
	for _, m := range d {
		if m != 0 {
			n++
			if m > 0 {
				ahead++
			}
		}
	}
	return ahead, n, signTestP(ahead, n)
}

func dipPSNR(e *Eval) float64 { return e.DIPPSNR }
func tvPSNR(e *Eval) float64  { return e.TVPSNR }

// diffs is a's score minus b's on the same runs (image and seed), image by
// image (each image's runs averaged first when clustered), in a fixed
// order: at k angles, or with k = 0 each run's mean over the angle counts
// both were scored at. Runs without both strategies are left out.
func (sm *Summary) diffs(a, b Strategy, k int, score func(*Eval) float64) []float64 {
	g := map[string][]float64{}
	for _, name := range sm.runNames {
		r, q := sm.byRun[name][a], sm.byRun[name][b]
		if r == nil || q == nil {
			continue
		}
		if d, ok := runDiff(r, q, sm.Evals, k, score); ok {
			img := sm.imageName(name)
			g[img] = append(g[img], d)
		}
	}
	return groupMeans(g)
}

// runDiff is r's score minus q's on one run: at k angles, or with k = 0
// the mean over the counts of evals both were scored at; ok false when
// there is no such count.
func runDiff(r, q *RunState, evals []int, k int, score func(*Eval) float64) (d float64, ok bool) {
	var v []float64
	for _, c := range evals {
		if k != 0 && c != k {
			continue
		}
		if e, f := r.evalAt(c), q.evalAt(c); e != nil && f != nil {
			v = append(v, score(e)-score(f))
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	return stat(v).Mean, true
}

// Versus is one strategy against a reference: the reference's DIP PSNR
// minus Other's on the same image and seed, each image's runs averaged
// first when clustered, mean ± s.e. over images at each angle count
// (ByEval) and over the counts (Overall), and on how many images the
// reference is ahead (mean over the counts; ties left out) with the
// two-sided sign-test p.
type Versus struct {
	Ref, Other Strategy
	ByEval     []Stat
	Overall    Stat
	Ahead, N   int
	P          float64
}

// Against compares ref with every other strategy but equal spacing (the
// tables to equal spacing cover that pair), in the table's order; nil
// when ref has no runs.
func (sm *Summary) Against(ref Strategy) []Versus {
	if !slices.Contains(sm.Strategies, ref) {
		return nil
	}
	var out []Versus
	for _, s := range sm.Strategies {
		if s == ref || s == EqualSpace {
			continue
		}
		v := Versus{Ref: ref, Other: s, ByEval: make([]Stat, len(sm.Evals))}
		for i, k := range sm.Evals {
			v.ByEval[i] = stat(sm.diffs(ref, s, k, dipPSNR))
		}
		overall := sm.diffs(ref, s, 0, dipPSNR)
		v.Overall = stat(overall)
		v.Ahead, v.N, v.P = countAhead(overall)
		out = append(out, v)
	}
	return out
}

// imageName is the image of a run name: Cluster's imageOf, or the run
// itself when not clustered.
func (sm *Summary) imageName(run string) string {
	if sm.imageOf != nil {
		return sm.imageOf(run)
	}
	return run
}

// signTestP is the two-sided sign-test p-value of k successes in n fair
// coin flips: twice the smaller tail, at most 1.
func signTestP(k, n int) float64 {
	if n == 0 {
		return 1
	}
	lg, _ := math.Lgamma(float64(n + 1))
	tail := func(lo, hi int) float64 { // P(lo ≤ X ≤ hi), X ~ Binomial(n, ½)
		var t float64
		for i := lo; i <= hi; i++ {
			a, _ := math.Lgamma(float64(i + 1))
			b, _ := math.Lgamma(float64(n - i + 1))
			t += math.Exp(lg - a - b - float64(n)*math.Ln2)
		}
		return t
	}
	return math.Min(1, 2*math.Min(tail(k, n), tail(0, k)))
}

// Cluster sets ByImage and Images: imageOf names a run's image (the run
// name without its seed).
func (sm *Summary) Cluster(imageOf func(run string) string) {
	images := map[string]bool{}
	for _, name := range sm.runNames {
		if sm.byRun[name][EqualSpace] != nil {
			images[imageOf(name)] = true
		}
	}
	sm.Images = len(images)
	sm.imageOf = imageOf
	sm.ByImage = map[Strategy][]Cell{}
	for _, s := range sm.Strategies {
		if s == EqualSpace {
			continue
		}
		cells := make([]Cell, len(sm.Evals))
		for ei, k := range sm.Evals {
			cells[ei] = Cell{DIPvsEqual: stat(sm.diffs(s, EqualSpace, k, dipPSNR)), TVvsEqual: stat(sm.diffs(s, EqualSpace, k, tvPSNR))}
		}
		sm.ByImage[s] = cells
	}
}

// indexRuns indexes runs by name (Image: image and seed) and strategy, and
// lists the names in natural order: tables visit runs in that order, so
// that their sums (and last bits) do not depend on map order.
func indexRuns(runs []*RunState) (map[string]map[Strategy]*RunState, []string) {
	by := map[string]map[Strategy]*RunState{}
	var names []string
	for _, r := range runs {
		if by[r.Image] == nil {
			by[r.Image] = map[Strategy]*RunState{}
			names = append(names, r.Image)
		}
		by[r.Image][r.Strategy] = r
	}
	slices.SortFunc(names, compareNatural)
	return by, names
}

// groupMeans is each group's mean, in a fixed order (sorted keys) so that
// sums, and so the last digits, do not depend on map order.
func groupMeans(g map[string][]float64) []float64 {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]float64, len(keys))
	for i, k := range keys {
		out[i] = stat(g[k]).Mean
	}
	return out
}

// evalAt is the run's scores at k angles, nil when it was not scored there.
func (r *RunState) evalAt(k int) *Eval {
	for i := range r.Evals {
		if r.Evals[i].Angles == k {
			return &r.Evals[i]
		}
	}
	return nil
}

// ImageRow is one image (and seed): each strategy's DIP PSNR minus equal
// spacing's, averaged over the evaluation counts both were scored at
// (missing: no such count).
type ImageRow struct {
	Image      string
	DIPvsEqual map[Strategy]float64
	// OrientationDeg is the rectangles' common orientation when the caller
	// knows it (phantoms.Phantom.RectangleOrientation), else NaN: the
	// pixel-prior baselines' choices depend on it (docs/studies/design.md).
	OrientationDeg float64
	// EdgeShare is, per strategy that keeps a sequence, the share of its
	// first EdgePicks acquisitions after the pilot that lie within
	// EdgeWindowDeg of the rectangles' edge directions (φ₀ and φ₀ + 90°);
	// set by Orient.
	EdgeShare map[Strategy]float64
	// EdgeByBatch is the same share for each whole batch of acquisitions
	// after the pilot, in order (a lin-DIP strategy chooses its first batch
	// from the pilot's fit alone, each later one after a refit); set by
	// Orient.
	EdgeByBatch map[Strategy][]float64
}

// EdgePicks and EdgeWindowDeg define ImageRow.EdgeShare: the first 15
// angles after the pilot (the choices made from the fewest measurements,
// where they matter most) within 15° of an edge direction, which angles
// spread evenly over 180° hit a third of the time.
const (
	EdgePicks     = 15
	EdgeWindowDeg = 15.0
)

// Orient sets each image row's rectangles' orientation and its
// strategies' edge shares: of the first EdgePicks acquisitions after the
// pilot, and of each whole batch of batch acquisitions after it. of
// returns, for a run's image name, the rectangles' orientation and the
// candidates' angles (degrees, by candidate index), ok false when unknown
// (not a rectangles phantom).
func (sm *Summary) Orient(runs []*RunState, pilot, batch int, of func(image string) (orientDeg float64, candDeg []float64, ok bool)) {
	for i := range sm.PerImage {
		row := &sm.PerImage[i]
		phi, cand, ok := of(row.Image)
		if !ok {
			continue
		}
		row.OrientationDeg = phi
		row.EdgeShare = map[Strategy]float64{}
		row.EdgeByBatch = map[Strategy][]float64{}
		for _, r := range runs {
			if r.Image != row.Image || len(r.Acquired) < pilot+EdgePicks {
				continue
			}
			row.EdgeShare[r.Strategy] = edgeShare(r.Acquired[pilot:pilot+EdgePicks], cand, phi)
			for b := pilot; batch > 0 && b+batch <= len(r.Acquired); b += batch {
				row.EdgeByBatch[r.Strategy] = append(row.EdgeByBatch[r.Strategy], edgeShare(r.Acquired[b:b+batch], cand, phi))
			}
		}
	}
}

// edgeShare is the share of the candidates idx whose angle (cand, degrees)
// lies within EdgeWindowDeg of an edge direction of rectangles at phi.
func edgeShare(idx []int, cand []float64, phi float64) float64 {
	near := 0
	for _, c := range idx {
		if c >= 0 && c < len(cand) && offAxis(cand[c]-phi) < EdgeWindowDeg {
			near++
		}
	}
	return float64(near) / float64(len(idx))
}

// Summarise tabulates finished runs. Runs are matched across strategies by
// their Image field (which should name the seed too) for the paired
// differences.
func Summarise(runs []*RunState, evals []int) *Summary {
	sm := &Summary{Evals: evals, Cells: map[Strategy][]Cell{}, RefitSeconds: map[Strategy]float64{}, SelectSeconds: map[Strategy]float64{}}
	for _, r := range runs {
		if !slices.Contains(sm.Strategies, r.Strategy) {
			sm.Strategies = append(sm.Strategies, r.Strategy)
		}
	}
	slices.SortFunc(sm.Strategies, func(a, b Strategy) int { return slices.Index(Strategies, a) - slices.Index(Strategies, b) })
	byKey, names := indexRuns(runs)
	sm.byRun, sm.runNames = byKey, names
	for _, s := range sm.Strategies {
		cells := make([]Cell, len(evals))
		var refit, sel []float64
		for ei, k := range evals {
			var d, t, ds, ts, dd, td []float64
			for _, name := range names {
				m := byKey[name]
				r := m[s]
				if r == nil {
					continue
				}
				e := r.evalAt(k)
				if e == nil {
					continue
				}
				d, t, ds, ts = append(d, e.DIPPSNR), append(t, e.TVPSNR), append(ds, e.DIPSSIM), append(ts, e.TVSSIM)
				if q := m[EqualSpace]; q != nil {
					if eq := q.evalAt(k); eq != nil {
						dd, td = append(dd, e.DIPPSNR-eq.DIPPSNR), append(td, e.TVPSNR-eq.TVPSNR)
					}
				}
			}
			cells[ei] = Cell{DIP: stat(d), TV: stat(t), DIPSSIM: stat(ds), TVSSIM: stat(ts), DIPvsEqual: stat(dd), TVvsEqual: stat(td)}
		}
		for _, name := range names {
			if r := byKey[name][s]; r != nil {
				for _, f := range r.Refits {
					refit = append(refit, f.DIPSeconds+f.LinSeconds+f.SelSeconds)
					sel = append(sel, f.SelSeconds)
				}
			}
		}
		sm.Cells[s] = cells
		if len(refit) > 0 {
			sm.RefitSeconds[s], sm.SelectSeconds[s] = stat(refit).Mean, stat(sel).Mean
		}
	}
	for _, name := range names {
		m := byKey[name]
		eq := m[EqualSpace]
		if eq == nil {
			continue
		}
		row := ImageRow{Image: name, DIPvsEqual: map[Strategy]float64{}, OrientationDeg: math.NaN()}
		for s, r := range m {
			if s == EqualSpace {
				continue
			}
			if d, ok := runDiff(r, eq, evals, 0, dipPSNR); ok {
				row.DIPvsEqual[s] = d
			}
		}
		sm.PerImage = append(sm.PerImage, row)
	}
	return sm
}

// Markdown writes the tables: DIP and TV PSNR (mean ± s.e.) per strategy
// and angle count, the paired differences to equal spacing, and the cost.
func (sm *Summary) Markdown(w io.Writer) {
	head := func(title string) {
		fmt.Fprintf(w, "\n%s\n\n| strategy |", title)
		for _, k := range sm.Evals {
			fmt.Fprintf(w, " %d angles |", k)
		}
		fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", len(sm.Evals)))
	}
	for _, tab := range []struct {
		title string
		get   func(Cell) Stat
		diff  bool
	}{
		{"DIP PSNR (dB), mean ± s.e.", func(c Cell) Stat { return c.DIP }, false},
		{"TV PSNR (dB), mean ± s.e.", func(c Cell) Stat { return c.TV }, false},
		{"DIP PSNR minus equal spacing's on the same image (dB), paired mean ± s.e.", func(c Cell) Stat { return c.DIPvsEqual }, true},
		{"TV PSNR minus equal spacing's on the same image (dB), paired mean ± s.e.", func(c Cell) Stat { return c.TVvsEqual }, true},
		{"DIP SSIM, mean ± s.e.", func(c Cell) Stat { return c.DIPSSIM }, false},
	} {
		head(tab.title)
		for _, s := range sm.Strategies {
			if tab.diff && s == EqualSpace {
				continue
			}
			statRow(w, s, sm.Cells[s], tab.get)
		}
	}
	if sm.Clustered() {
		for _, tab := range []struct {
			score string
			get   func(Cell) Stat
		}{{"DIP", func(c Cell) Stat { return c.DIPvsEqual }}, {"TV", func(c Cell) Stat { return c.TVvsEqual }}} {
			head(fmt.Sprintf("%s PSNR minus equal spacing's with each image's DIP seeds averaged first (dB), mean ± s.e. over the %d images "+
				"(the s.e. that counts images, not runs: one image's seeds share its phantom)", tab.score, sm.Images))
			for _, s := range sm.Strategies {
				if s == EqualSpace {
					continue
				}
				statRow(w, s, sm.ByImage[s], tab.get)
			}
		}
	}
	if len(sm.PerImage) > 0 {
		sm.perImageMarkdown(w)
	}
	sm.againstMarkdown(w, LinEIG)
	if len(sm.RefitSeconds) > 0 {
		fmt.Fprintf(w, "\nCost of one refit (DIP fit, linearisation and samples, joint choice of the next batch), mean seconds:\n\n| strategy | refit | of which the choice |\n|---|---|---|\n")
		for _, s := range sm.Strategies {
			if t, ok := sm.RefitSeconds[s]; ok {
				fmt.Fprintf(w, "| %s | %.1f | %.2f |\n", s, t, sm.SelectSeconds[s])
			}
		}
	}
}

// againstMarkdown writes Against(ref) as a table, when some image has
// ref and another strategy besides equal spacing.
func (sm *Summary) againstMarkdown(w io.Writer, ref Strategy) {
	vs := sm.Against(ref)
	most := 0
	for _, v := range vs {
		most = max(most, v.Overall.N)
	}
	if most == 0 {
		return
	}
	unit := "image and seed"
	if sm.Clustered() {
		unit = "image (each image's DIP seeds averaged first)"
	}
	fmt.Fprintf(w, "\n%s against each other strategy: %s's DIP PSNR minus the other's on the same %s (dB), mean ± s.e. over images, "+
		"at each angle count and over the counts, and on how many images %s is ahead (mean over the counts) with the two-sided sign-test p\n\n| against |",
		ref, ref, unit, ref)
	for _, k := range sm.Evals {
		fmt.Fprintf(w, " %d angles |", k)
	}
	fmt.Fprintf(w, " over the counts | %s ahead | sign-test p |\n|---|%s\n", ref, strings.Repeat("---|", len(sm.Evals)+3))
	for _, v := range vs {
		if v.Overall.N == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s |", v.Other)
		for _, c := range append(slices.Clone(v.ByEval), v.Overall) {
			if c.N == 0 {
				fmt.Fprint(w, " – |")
			} else {
				fmt.Fprintf(w, " %s |", c)
			}
		}
		fmt.Fprintf(w, " %d of %d | %.2g |\n", v.Ahead, v.N, v.P)
	}
}

// statRow writes one strategy's row of a table: get's statistic of each
// cell, "–" where it has no runs.
func statRow(w io.Writer, s Strategy, cells []Cell, get func(Cell) Stat) {
	row := make([]Stat, len(cells))
	for i, c := range cells {
		row[i] = get(c)
	}
	writeStatRow(w, s, row)
}

// writeStatRow writes one table row: the strategy, then each value as
// mean ± s.e., "–" where there is none.
func writeStatRow(w io.Writer, s Strategy, row []Stat) {
	fmt.Fprintf(w, "| %s |", s)
	for _, v := range row {
		if v.N == 0 {
			fmt.Fprint(w, " – |")
		} else {
			fmt.Fprintf(w, " %s |", v)
		}
	}
	fmt.Fprintln(w)
}

// compareNatural orders names with numbers in them by value ("img:2/seed0"
// before "img:10/seed0"), and otherwise byte by byte.
func compareNatural(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

// digitRun is the length of the run of ASCII digits that s starts with.
func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// orientationBins split images by how far their rectangles are from the
// image axes (offAxis, degrees): below 15°, below 30°, up to 45°.
var orientationBins = []struct {
	name string
	hi   float64
}{{"within 15° of an axis", 15}, {"15°–30° off", 30}, {"30°–45° off", math.Inf(1)}}

// orientationBin is the index in orientationBins of an orientation
// (degrees), −1 when it is unknown (NaN).
func orientationBin(deg float64) int {
	if math.IsNaN(deg) {
		return -1
	}
	d := offAxis(deg)
	for i, b := range orientationBins {
		if d < b.hi {
			return i
		}
	}
	return len(orientationBins) - 1
}

// perImageMarkdown writes the per-image table, with the rectangles'
// orientation when known, and then the paired differences by orientation.
func (sm *Summary) perImageMarkdown(w io.Writer) {
	var cols []Strategy
	for _, s := range sm.Strategies {
		if s != EqualSpace {
			cols = append(cols, s)
		}
	}
	oriented := false
	for _, row := range sm.PerImage {
		oriented = oriented || orientationBin(row.OrientationDeg) >= 0
	}
	fmt.Fprintf(w, "\nDIP PSNR minus equal spacing's, image by image (dB, mean over the angle counts)\n\n| image |")
	if oriented {
		fmt.Fprint(w, " rectangles' orientation |")
	}
	for _, s := range cols {
		fmt.Fprintf(w, " %s |", s)
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", len(cols)+btoi(oriented)))
	for _, row := range sm.PerImage {
		fmt.Fprintf(w, "| %s |", row.Image)
		if oriented {
			if math.IsNaN(row.OrientationDeg) {
				fmt.Fprint(w, " – |")
			} else {
				fmt.Fprintf(w, " %.0f° |", row.OrientationDeg)
			}
		}
		for _, s := range cols {
			if v, ok := row.DIPvsEqual[s]; ok {
				fmt.Fprintf(w, " %.2f |", v)
			} else {
				fmt.Fprint(w, " – |")
			}
		}
		fmt.Fprintln(w)
	}
	unit := "images"
	if sm.Clustered() {
		unit = "images (each image's seeds averaged)"
	}
	var ahead bytes.Buffer
	most := 0
	for _, s := range cols {
		if k, n, p := sm.Ahead(s); n > 0 {
			fmt.Fprintf(&ahead, "| %s | %d of %d | %.2g |\n", s, k, n, p)
			most = max(most, n)
		}
	}
	if most > 1 { // one image: nothing to count
		fmt.Fprintf(w, "\nOn how many %s each strategy's DIP beats equal spacing (mean over the angle counts), and the two-sided sign-test p "+
			"(the chance of a split at least this uneven if neither were better)\n\n| strategy | ahead | sign-test p |\n|---|---|---|\n%s", unit, ahead.Bytes())
	}
	if !oriented {
		return
	}
	sm.byOrientation(w, cols, "The same by the rectangles' angle to the nearer image axis (mean ± s.e. over images)",
		func(row ImageRow, s Strategy) (float64, bool) { v, ok := row.DIPvsEqual[s]; return v, ok })
	var seq []Strategy
	batches := 0
	for _, s := range cols {
		for _, row := range sm.PerImage {
			if _, ok := row.EdgeShare[s]; ok {
				seq = append(seq, s)
				break
			}
		}
		for _, row := range sm.PerImage {
			batches = max(batches, len(row.EdgeByBatch[s]))
		}
	}
	if len(seq) == 0 {
		return
	}
	sm.byOrientation(w, seq, fmt.Sprintf("Where the first %d angles after the pilot lie: the share within %.0f° of the rectangles' edge directions "+
		"(φ₀ or φ₀ + 90°; angles spread evenly give 0.33), mean ± s.e. over images, by the rectangles' angle to the nearer axis", EdgePicks, EdgeWindowDeg),
		func(row ImageRow, s Strategy) (float64, bool) { v, ok := row.EdgeShare[s]; return v, ok })
	if batches == 0 {
		return
	}
	fmt.Fprintf(w, "\nThe same share batch by batch, all acquisitions after the pilot in order (a lin-DIP strategy chooses batch 1 from the pilot's fit alone, "+
		"each later batch after a refit on every angle measured so far), mean ± s.e. over images\n\n| strategy |")
	for b := range batches {
		fmt.Fprintf(w, " batch %d |", b+1)
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", batches))
	for _, s := range seq {
		row := make([]Stat, batches)
		for b := range row {
			row[b] = stat(sm.overImages(func(r ImageRow) (float64, bool) {
				e := r.EdgeByBatch[s]
				if b < len(e) {
					return e[b], true
				}
				return 0, false
			}))
		}
		writeStatRow(w, s, row)
	}
}

// overImages is value over the image rows that have one, each image's
// runs (its DIP seeds, when clustered) averaged first: one value per
// image, in a fixed order.
func (sm *Summary) overImages(value func(ImageRow) (float64, bool)) []float64 {
	g := map[string][]float64{}
	for _, row := range sm.PerImage {
		if x, ok := value(row); ok {
			name := sm.imageName(row.Image)
			g[name] = append(g[name], x)
		}
	}
	return groupMeans(g)
}

// byOrientation writes a table of one value per image row and strategy,
// mean ± s.e. over the images of known orientation and over each
// orientation bin (each image's runs averaged first when clustered).
func (sm *Summary) byOrientation(w io.Writer, cols []Strategy, title string, value func(ImageRow, Strategy) (float64, bool)) {
	bins := map[string]int{} // image → orientation bin
	for _, row := range sm.PerImage {
		if b := orientationBin(row.OrientationDeg); b >= 0 {
			bins[sm.imageName(row.Image)] = b
		}
	}
	inBin := func(row ImageRow, b int) bool {
		k, ok := bins[sm.imageName(row.Image)]
		return ok && (b < 0 || k == b)
	}
	fmt.Fprintf(w, "\n%s\n\n| strategy | all (%d) |", title, len(bins))
	for b, bin := range orientationBins {
		n := 0
		for _, k := range bins {
			n += btoi(k == b)
		}
		fmt.Fprintf(w, " %s (%d) |", bin.name, n)
	}
	fmt.Fprintf(w, "\n|---|---|%s\n", strings.Repeat("---|", len(orientationBins)))
	for _, s := range cols {
		var row []Stat
		for b := -1; b < len(orientationBins); b++ { // −1: every image of known orientation
			row = append(row, stat(sm.overImages(func(r ImageRow) (float64, bool) {
				if !inBin(r, b) {
					return 0, false
				}
				return value(r, s)
			})))
		}
		writeStatRow(w, s, row)
	}
}

// offAxis is how far an orientation (degrees) is from the nearer image
// axis, in [0, 45]: 0 for edges along rows and columns, 45 for diagonals.
func offAxis(deg float64) float64 {
	d := math.Mod(math.Mod(deg, 90)+90, 90)
	return math.Min(d, 90-d)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
