package radon_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrecon/ctrecon/metrics"
	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

// TestFBPQualityExport writes the held-out scans of the FBP quality harness
// for a peer FBP (scripts/fbp_peer.py, scikit-image's iradon) when
// FBPQ_EXPORT names a folder:
//
//	FBPQ_EXPORT=/tmp/fbpq go test ./radon -run TestFBPQualityExport
//	/usr/bin/python3 scripts/fbp_peer.py /tmp/fbpq
//
// scikit-image puts pixel centres on whole numbers (ours are at half
// pixels for even N) and bin centres at k − NDet//2 (ours too, for odd
// NDet), so its pixel (i, j) sits half a pixel left of and above ours. The
// exported scans are therefore of the same objects moved by (−½, +½)
// pixel: scikit-image's grid then meets the ground truth's pixels exactly,
// and ours is scored on the same scans against the moved objects' images.
// The placement of the edges on the pixel grid changes PSNR by ~0.3 dB for
// either FBP, so the clean scans are also exported the other way round
// (objects unmoved, scikit-image's truth moved): compare the two FBPs over
// both placements.
// Each scan is float32 little endian [angle][bin], each truth [N][N];
// index.txt has one line per scan: case, file stem, N, angles, NDet.
func TestFBPQualityExport(t *testing.T) {
	dir := os.Getenv("FBPQ_EXPORT")
	if dir == "" {
		t.Skip("set FBPQ_EXPORT to a folder to export the scans")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g180 := radon.NewGeometry(128, radon.EqualAngles(180))
	g30 := radon.NewGeometry(128, radon.EqualAngles(30))
	const dx, dy = -0.5, 0.5 // pixels
	var index strings.Builder
	// Ours on the same scans, each against the truth on our grid (the
	// moved object's image); the real slice's truth there would be a
	// 2×2-smoothed image, so ours is scored on the unmoved scan with the
	// same noise instead.
	ours := map[string]*[2][4]float64{} // case → [before, after][filter] PSNR sums
	var cases []string
	counts := map[string]int{}
	score := func(c string, g radon.Geometry, sino, truth []float32) {
		if ours[c] == nil {
			ours[c] = &[2][4]float64{}
			cases = append(cases, c)
		}
		counts[c]++
		rec := make([]float32, g.ImageLen())
		for f := radon.Ramp; f <= radon.Hann; f++ {
			s := radon.FBPSettings{Filter: f}
			radon.FBPBandLimited(rec, sino, g, s)
			ours[c][0][f] += metrics.PSNR(rec, truth, 0)
			if err := radon.FBP(rec, sino, g, s); err != nil {
				t.Fatal(err)
			}
			ours[c][1][f] += metrics.PSNR(rec, truth, 0)
		}
	}
	defer func() {
		for _, c := range cases {
			k := float64(counts[c])
			o := ours[c]
			t.Logf("%s, ours at cutoff 1 (ramp, shepp-logan, cosine, hann): before %.2f %.2f %.2f %.2f, after %.2f %.2f %.2f %.2f",
				c, o[0][0]/k, o[0][1]/k, o[0][2]/k, o[0][3]/k, o[1][0]/k, o[1][1]/k, o[1][2]/k, o[1][3]/k)
		}
	}()
	write := func(c, stem string, g radon.Geometry, sino, truth []float32) {
		writeF32(t, filepath.Join(dir, stem+"_sino.f32"), sino)
		writeF32(t, filepath.Join(dir, stem+"_truth.f32"), truth)
		fmt.Fprintf(&index, "%s\t%s\t%d\t%d\t%d\n", c, stem, g.N, len(g.Angles), g.NDet)
	}
	ellipses := func(c, stem string, g radon.Geometry, eta float64) {
		for _, s := range seq(5, 12) { // the harness's held-out draws
			p := phantoms.RandomEllipses(rand.New(rand.NewPCG(s, 7)), 8)
			truth := p.Image(g.N, 8)
			y := shiftPhantom(p, dx, dy, g.N).BinSinogram(g)
			if eta > 0 {
				radon.AddNoise(y, y, eta, rand.New(rand.NewPCG(s, 99)))
			}
			write(c, fmt.Sprintf("%s_%d", stem, s), g, y, truth)
			score(c, g, y, shiftPhantom(p, dx, dy, g.N).Image(g.N, 8))
			if eta == 0 {
				// The other way round: the object unmoved, scikit-image's
				// truth moved, so each FBP meets both placements.
				y := p.BinSinogram(g)
				cu := c + ", other placement"
				write(cu, fmt.Sprintf("%su_%d", stem, s), g, y, shiftPhantom(p, -dx, -dy, g.N).Image(g.N, 8))
				score(cu, g, y, truth)
			}
		}
	}
	ellipses("ellipses, 180 angles, clean", "ell180", g180, 0)
	ellipses("ellipses, 30 angles, 5% noise", "ell30n", g30, 0.05)
	sl := phantoms.SheppLogan()
	slMoved := shiftPhantom(sl, dx, dy, 128)
	slSino := slMoved.BinSinogram(g180)
	write("Shepp–Logan, 180 angles, clean", "sl180", g180, slSino, sl.Image(128, 8))
	score("Shepp–Logan, 180 angles, clean", g180, slSino, slMoved.Image(128, 8))
	slSino = sl.BinSinogram(g180)
	write("Shepp–Logan, 180 angles, clean, other placement", "sl180u", g180, slSino, shiftPhantom(sl, -dx, -dy, 128).Image(128, 8))
	score("Shepp–Logan, 180 angles, clean, other placement", g180, slSino, sl.Image(128, 8))
	ct := qCTSmall(t)
	clean := projectShifted(ct, g30, 4, -2, -2) // (−½, +½) pixel = 2 fine pixels left and up
	for _, s := range seq(5, 12) {
		y := make([]float32, len(clean))
		radon.AddNoise(y, clean, 0.05, rand.New(rand.NewPCG(s, 99)))
		write("CT_small, 30 angles, 5% noise", fmt.Sprintf("ct30n_%d", s), g30, y, ct)
	}
	for _, d := range qSliceDraws(ct, g30, 0.05, seq(5, 12)) {
		score("CT_small, 30 angles, 5% noise", g30, d.sino, d.truth)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.txt"), []byte(index.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// shiftPhantom moves p by (dx, dy) pixels of an n×n image.
func shiftPhantom(p phantoms.Phantom, dx, dy float64, n int) phantoms.Phantom {
	h := float64(n) / 2
	q := phantoms.Phantom{}
	for _, e := range p.Ellipses {
		e.X, e.Y = e.X+dx/h, e.Y+dy/h
		q.Ellipses = append(q.Ellipses, e)
	}
	for _, r := range p.Rectangles {
		r.X, r.Y = r.X+dx/h, r.Y+dy/h
		q.Rectangles = append(q.Rectangles, r)
	}
	return q
}

// projectShifted is ProjectOversampled of x moved by (di, dj) fine pixels
// (rows, columns; −2, −2 moves it half a pixel up and left at f = 4).
func projectShifted(x []float32, g radon.Geometry, f, di, dj int) []float32 {
	n := g.N
	fine := make([]float32, n*f*n*f)
	for i := 0; i < n*f; i++ {
		for j := 0; j < n*f; j++ {
			si, sj := i-di, j-dj
			if si >= 0 && si < n*f && sj >= 0 && sj < n*f {
				fine[i*n*f+j] = x[(si/f)*n+sj/f]
			}
		}
	}
	gf := g
	gf.N, gf.DetSpacing = n*f, g.DetSpacing*float64(f)
	y := make([]float32, g.SinoLen())
	radon.NewProjector(gf).Apply(y, fine)
	for i := range y {
		y[i] /= float32(f)
	}
	return y
}

func writeF32(t *testing.T, path string, v []float32) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := binary.Write(f, binary.LittleEndian, v); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
