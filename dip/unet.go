package dip

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/ctrecon/ctrecon/internal/par"
	"github.com/ctrecon/ctrecon/nn"
)

// Arch is the architecture of bayes_dip's U-Net (DESIGN.md §4).
type Arch struct {
	// Channels per scale; len(Channels) is the number of scales.
	Channels []int
	// Skip channels per scale, as bayes_dip's skip_channels: up block i
	// (i = 0 the deepest) uses Skip[len−1−i]; 0 means a single zero channel.
	Skip []int
	// GroupNorm enables the normalisation layers (bayes_dip use_norm).
	GroupNorm bool
	// Sigmoid puts OutputScale·σ(clamp(·, ±15)) on the output.
	Sigmoid bool
	// DropoutP > 0 inserts channel dropout after every conv except the last
	// (the MC-dropout baseline); it is active only while a dropout rng is
	// set with UNet.SetDropout.
	DropoutP float64
}

// Presets by name. "small" is bayes_dip's kmnist U-Net (digits,
// rectangles), "large" its walnut U-Net, "medium" ours for 128–256² CT
// slices (see docs/BENCHMARKS.md for the measurement behind it).
var presets = map[string]Arch{
	"small":  {Channels: []int{32, 32, 32}, Skip: []int{0, 4, 4}, Sigmoid: true},
	"medium": {Channels: []int{64, 64, 64, 64, 64}, Skip: []int{0, 4, 4, 4, 4}, GroupNorm: true, Sigmoid: true},
	"large":  {Channels: []int{128, 128, 128, 128, 128, 128}, Skip: []int{0, 0, 0, 0, 4, 4}, GroupNorm: true},
}

// PresetFor is the preset "auto" picks for an n×n image: small up to 48²
// (bayes_dip's digits network), medium up to 256², large above.
func PresetFor(n int) string {
	switch {
	case n <= 48:
		return "small"
	case n <= 256:
		return "medium"
	}
	return "large"
}

// PresetNames lists the preset names.
func PresetNames() []string { return []string{"small", "medium", "large"} }

// Preset returns the architecture called name.
func Preset(name string) (Arch, error) {
	a, ok := presets[name]
	if !ok {
		return Arch{}, fmt.Errorf("dip: unknown preset %q (have %v)", name, PresetNames())
	}
	a.Channels = slices.Clone(a.Channels)
	a.Skip = slices.Clone(a.Skip)
	return a, nil
}

// Validate reports whether the architecture can be built for n×n images.
func (a Arch) Validate(n int) error {
	s := len(a.Channels)
	switch {
	case s < 1:
		return fmt.Errorf("dip: architecture needs at least one scale")
	case len(a.Skip) != s:
		return fmt.Errorf("dip: %d skip entries for %d scales", len(a.Skip), s)
	case a.DropoutP < 0 || a.DropoutP >= 1:
		return fmt.Errorf("dip: dropout probability %g outside [0, 1)", a.DropoutP)
	}
	for i, c := range a.Channels {
		if c < 1 || (a.GroupNorm && c%4 != 0) {
			return fmt.Errorf("dip: channels[%d] = %d (must be ≥ 1, a multiple of 4 with GroupNorm)", i, c)
		}
		if a.Skip[i] < 0 {
			return fmt.Errorf("dip: skip[%d] = %d < 0", i, a.Skip[i])
		}
	}
	m := n
	for i := 1; i < s; i++ {
		m = (m-1)/2 + 1 // stride-2 conv with padding 1
	}
	if n < 1 || m < 2 {
		return fmt.Errorf("dip: a %d-scale U-Net needs images of at least %d pixels, got %d", s, 1<<(s-1)+1, n)
	}
	return nil
}

// UNet is a built network for n×n single-channel images.
type UNet struct {
	Arch Arch
	N    int
	Net  *nn.Net

	sig   *nn.Sigmoid
	drops []*nn.Dropout
}

// NewUNet builds the U-Net for n×n images. The layer graph follows
// bayes_dip/dip/network/unet.py (ported in /work/shared/peers/
// torch_dip_bench.py):
//
//	in:     conv3×3 (1→c0) [GN(2)] LReLU(0.2)
//	down i: conv3×3 stride 2 [GN(4)] LReLU, conv3×3 [GN(4)] LReLU
//	up i:   bilinear ×2; skip: conv1×1 [GN(1)] LReLU (or one zero channel);
//	        concat (centre crop) [GN(1)]; conv3×3 [GN(2)] LReLU; conv3×3 [GN(2)] LReLU
//	out:    conv1×1 (c0→1) [scale·σ(clamp ±15)]
//
// Prior blocks: "in", "down0".., "up0".. (3×3), then "skip<i>" for up
// blocks with skip channels and "out" (1×1). bayes_dip also builds a skip
// conv for up blocks with no skip channels but never uses it; it is left
// out here (it has no effect on the output or the Jacobian).
func NewUNet(a Arch, n int) (*UNet, error) {
	if err := a.Validate(n); err != nil {
		return nil, err
	}
	u := &UNet{Arch: a, N: n}
	b := nn.NewBuilder(nn.Shape{C: 1, H: n, W: n})
	lrelu := func() nn.Layer { return &nn.LeakyReLU{Slope: 0.2} }
	// conv adds conv [dropout] [GN(groups)] LReLU.
	conv := func(name string, x, out, k, stride, groups int) int {
		h := b.Add(name, &nn.Conv2D{Out: out, K: k, Stride: stride}, x)
		if a.DropoutP > 0 {
			d := &nn.Dropout{P: a.DropoutP}
			u.drops = append(u.drops, d)
			h = b.Add(name+".drop", d, h)
		}
		if a.GroupNorm {
			h = b.Add(name+".gn", &nn.GroupNorm{Groups: groups}, h)
		}
		return b.Add(name+".act", lrelu(), h)
	}
	ch, s := a.Channels, len(a.Channels)
	b.SetBlock("in")
	xs := []int{conv("conv0", b.Input(), ch[0], 3, 1, 2)}
	for i := 1; i < s; i++ {
		b.SetBlock(fmt.Sprintf("down%d", i-1))
		h := conv("conv0", xs[len(xs)-1], ch[i], 3, 2, 4)
		xs = append(xs, conv("conv1", h, ch[i], 3, 1, 4))
	}
	x := xs[len(xs)-1]
	for i := 1; i < s; i++ {
		ui := i - 1
		out, skip := ch[s-1-i], a.Skip[s-i]
		x2 := xs[s-1-i]
		block := fmt.Sprintf("up%d", ui)
		b.SetBlock(block)
		up := b.Add("up", &nn.Upsample2x{}, x)
		var cat int
		if skip > 0 {
			b.SetBlock(fmt.Sprintf("skip%d", ui))
			sk := conv("conv", x2, skip, 1, 1, 1)
			b.SetBlock(block)
			cat = b.Add("cat", &nn.Concat{}, up, sk)
		} else {
			cat = b.Add("cat", &nn.Concat{ZeroSecond: true}, up, x2)
		}
		if a.GroupNorm {
			cat = b.Add("cat.gn", &nn.GroupNorm{Groups: 1}, cat)
		}
		h := conv("conv0", cat, out, 3, 1, 2)
		x = conv("conv1", h, out, 3, 1, 2)
	}
	b.SetBlock("out")
	x = b.Add("conv", &nn.Conv2D{Out: 1, K: 1, Stride: 1}, x)
	if a.Sigmoid {
		u.sig = &nn.Sigmoid{Clamp: 15, Scale: 1}
		x = b.Add("sigmoid", u.sig, x)
	}
	u.Net = b.Build(x)
	if sh := u.Net.OutShape(); sh != (nn.Shape{C: 1, H: n, W: n}) {
		return nil, fmt.Errorf("dip: U-Net output is %+v for %d×%d input", sh, n, n)
	}
	return u, nil
}

// NumParams is the number of parameters (conv weights, biases, norms).
func (u *UNet) NumParams() int { return u.Net.NumParams() }

// NumConvWeights is the number of conv weights, the first entries of the
// parameter vector and the columns of the Jacobian.
func (u *UNet) NumConvWeights() int { return u.Net.NumConvWeights() }

// PriorBlocks lists the conv-weight blocks of the linearised prior.
func (u *UNet) PriorBlocks() []nn.PriorBlock { return u.Net.PriorBlocks() }

// Init fills p (len NumParams) with PyTorch's default initialisation.
func (u *UNet) Init(p []float32, rng *rand.Rand) { u.Net.Init(p, rng) }

// NewParams returns freshly initialised parameters.
func (u *UNet) NewParams(rng *rand.Rand) []float32 {
	p := make([]float32, u.NumParams())
	u.Init(p, rng)
	return p
}

// SetOutputScale sets s in the output s·σ(·) (no effect without sigmoid).
func (u *UNet) SetOutputScale(s float32) {
	if u.sig != nil {
		u.sig.Scale = s
	}
}

// OutputScale returns the current output scale (1 without sigmoid).
func (u *UNet) OutputScale() float32 {
	if u.sig == nil || u.sig.Scale == 0 {
		return 1
	}
	return u.sig.Scale
}

// SetDropout activates the dropout layers with masks drawn from rng (nil
// deactivates them).
func (u *UNet) SetDropout(rng *rand.Rand) {
	for _, d := range u.drops {
		d.Rng = rng
	}
}

// Forward computes the image y (len N²) for parameters p and input x.
func (u *UNet) Forward(y, p, x []float32) { u.Net.Forward(y, p, x) }

// EstimateBytes estimates the memory a U-Net of architecture a needs for
// n×n images: a Forward plus JVP/VJP with k vectors at once, with par's
// current worker count, plus the DIP fit state (parameters, gradient, two
// Adam moments and the best iterate). The CLI uses it to refuse up front.
func EstimateBytes(a Arch, n, k int) (int64, error) {
	u, err := NewUNet(a, n)
	if err != nil {
		return 0, err
	}
	return u.Net.MemoryBytes(k, par.Threads()) + 5*4*int64(u.NumParams()) + 8*4*int64(n*n), nil
}
