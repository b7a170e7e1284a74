package paperfigs

import "context"

// volumeDIPArgs is the volume's dip command line: warm-started, with the
// preset's TV weight when it sets one.
func (m *Maker) volumeDIPArgs(scan, out string) []string {
	args := []string{"dip", "-i", scan, "--warm-start"}
	if m.Settings.VolTV != "" {
		args = append(args, "--tv", m.Settings.VolTV)
	}
	return append(args, "-o", out)
}

// volume: three orthogonal planes of the warm-started DIP volume and its
// std (ctrecon plot --volume).
func (m *Maker) volume(ctx context.Context) error {
	p := func(f string) string { return m.p("volume", f) }
	steps := []Step{
		{Name: "volume phantom", Args: []string{"phantom", "--kind", "ct", "--slices", m.Settings.VolSlices, "--size", itoa(m.Settings.VolSize), "-o", p("phantom.h5")}, Output: p("phantom.h5")},
		{Name: "volume simulate", Args: []string{"simulate", "-i", p("phantom.h5"), "--angles", itoa(m.Settings.VolAngles), "--noise", "0.05", "--oversample", "4", "-o", p("scan.h5")}, Output: p("scan.h5")},
		{Name: "volume dip", Args: withIters(m.volumeDIPArgs(p("scan.h5"), p("dip.h5")), "--iters", m.Settings.VolDIPIters),
			Output: p("dip.h5"), Resume: []string{p("dip.h5.ckpt"), p("dip.h5.slices")}},
		{Name: "volume uncertainty", Args: withIters([]string{"uncertainty", "-i", p("scan.h5"), "--recon", p("dip.h5"), "-o", p("uq.h5")}, "--mll-steps", m.Settings.MLLSteps),
			Output: p("uq.h5"), Resume: []string{p("uq.h5.slices")}},
		{Name: "volume plot", Args: []string{"plot", "-i", p("uq.h5"), "--volume", "-o", m.p("volume.png")}, Output: m.p("volume.png")},
	}
	if err := m.run(ctx, steps); err != nil {
		return err
	}
	return m.caption("volume", "A head-CT volume reconstructed slice by slice by the DIP (each slice warm-started from the previous one) "+
		"and its linearised-Laplace std: axial, coronal and sagittal planes through the volume's centre (top: DIP, grey, "+
		"μ/(3μ_water); bottom: std, viridis, same units). Axes in pixels and slices; the slice axis is not drawn to scale.", steps)
}
