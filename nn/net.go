package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ParamInfo names one block of the flat parameter vector.
type ParamInfo struct {
	Name   string // node name + ".weight" or ".bias", e.g. "down0/conv1.weight"
	Block  string // the block (scope) the layer was added in, e.g. "down0"
	Kind   ParamKind
	Offset int
	Len    int
	FanIn  int
	Kernel int // conv weights only
}

// span is one parameter block of a layer in the flat parameter vector.
type span struct{ off, len int }

type node struct {
	name    string
	block   string
	layer   Layer
	in      []int
	out     int
	minOff  int // smallest parameter offset of the layer, MaxInt if none
	params  []span
	noGrad1 bool
}

// Builder assembles a Net: a directed acyclic graph of Layers over
// activation slots. Slot 0 is the network input.
type Builder struct {
	nodes  []node
	shapes []Shape
	specs  [][]ParamSpec
	block  string
}

// NewBuilder starts a network whose input has shape in.
func NewBuilder(in Shape) *Builder {
	return &Builder{shapes: []Shape{in}}
}

// Input is the slot of the network input (0).
func (b *Builder) Input() int { return 0 }

// Shape returns the shape of slot s.
func (b *Builder) Shape(s int) Shape { return b.shapes[s] }

// SetBlock names the block that subsequently added layers belong to. Conv
// weights of one block form one contiguous PriorBlock.
func (b *Builder) SetBlock(name string) { b.block = name }

// Add appends layer l reading the given slots and returns its output slot.
// name must be unique (e.g. "conv0"); the node is called block/name.
func (b *Builder) Add(name string, l Layer, in ...int) int {
	for _, s := range in {
		if s < 0 || s >= len(b.shapes) {
			panic(fmt.Sprintf("nn: Builder.Add(%s): no slot %d", name, s))
		}
	}
	sh := make([]Shape, len(in))
	for i, s := range in {
		sh[i] = b.shapes[s]
	}
	out, specs := l.Setup(sh)
	full := name
	if b.block != "" {
		full = b.block + "/" + name
	}
	for _, n := range b.nodes {
		if n.name == full {
			panic("nn: Builder.Add: duplicate node name " + full)
		}
	}
	nd := node{name: full, block: b.block, layer: l, in: slices.Clone(in), out: len(b.shapes)}
	if g, ok := l.(interface{ NeedsGrad(int) bool }); ok && len(in) > 1 && !g.NeedsGrad(1) {
		nd.noGrad1 = true
	}
	b.nodes = append(b.nodes, nd)
	b.specs = append(b.specs, specs)
	b.shapes = append(b.shapes, out)
	return len(b.shapes) - 1
}

// Build fixes the parameter layout and returns the Net whose output is
// slot out. Conv weights come first, grouped by block so that each block's
// weights are contiguous: blocks whose convs have K > 1 in the order they
// were first used, then 1×1 blocks likewise (so a block may not mix kernel
// sizes). Biases and norm parameters follow in the order they were added.
func (b *Builder) Build(out int) *Net {
	type ref struct{ node, spec int }
	var big, one []string
	byBlock := map[string][]ref{}
	kernel := map[string]int{}
	var rest []ref
	for i, specs := range b.specs {
		for j, s := range specs {
			if s.Kind != ConvWeight {
				rest = append(rest, ref{i, j})
				continue
			}
			blk := b.nodes[i].block
			if k, ok := kernel[blk]; ok && (k == 1) != (s.Kernel == 1) {
				panic(fmt.Sprintf("nn: block %q mixes 1×1 and %d×%d conv weights", blk, s.Kernel, s.Kernel))
			} else if !ok {
				kernel[blk] = s.Kernel
				if s.Kernel == 1 {
					one = append(one, blk)
				} else {
					big = append(big, blk)
				}
			}
			byBlock[blk] = append(byBlock[blk], ref{i, j})
		}
	}
	n := &Net{shapes: b.shapes, output: out}
	offsets := make([][]int, len(b.nodes))
	for i := range offsets {
		offsets[i] = make([]int, len(b.specs[i]))
	}
	off := 0
	place := func(r ref) {
		s := b.specs[r.node][r.spec]
		offsets[r.node][r.spec] = off
		suffix := ".weight"
		if s.Kind == ConvBias || s.Kind == NormBias {
			suffix = ".bias"
		}
		nd := b.nodes[r.node]
		n.params = append(n.params, ParamInfo{Name: nd.name + suffix, Block: nd.block, Kind: s.Kind,
			Offset: off, Len: s.Len, FanIn: s.FanIn, Kernel: s.Kernel})
		off += s.Len
	}
	for _, blk := range append(big, one...) {
		start := off
		for _, r := range byBlock[blk] {
			place(r)
		}
		n.prior = append(n.prior, PriorBlock{Name: blk, Kernel: kernel[blk], Offset: start, Len: off - start})
	}
	n.nConv = off
	for _, r := range rest {
		place(r)
	}
	n.nParams = off
	n.nodes = b.nodes
	for i := range n.nodes {
		n.nodes[i].layer.Bind(offsets[i])
		n.nodes[i].minOff = math.MaxInt
		for j, o := range offsets[i] {
			n.nodes[i].minOff = min(n.nodes[i].minOff, o)
			n.nodes[i].params = append(n.nodes[i].params, span{o, b.specs[i][j].Len})
		}
	}
	n.lastUse = make([]int, len(n.shapes))
	for i := range n.lastUse {
		n.lastUse[i] = -1
	}
	for i, nd := range n.nodes {
		for _, s := range nd.in {
			n.lastUse[s] = i
		}
	}
	n.pool = map[int][][]float32{}
	return n
}

// Net is a built network: layers, the flat parameter layout, and the
// activations of the last Forward (so it is not safe for concurrent use;
// build one Net per goroutine).
type Net struct {
	nodes   []node
	shapes  []Shape
	output  int
	params  []ParamInfo
	prior   []PriorBlock
	nConv   int
	nParams int
	lastUse []int

	p    []float32   // parameters of the last Forward
	acts [][]float32 // primal activations per slot
	tan  [][]float32 // scratch: tangents / cotangents per slot
	own  []bool
	ins  [][]float32
	pool map[int][][]float32
}

// InShape and OutShape are the shapes of the network input and output.
func (n *Net) InShape() Shape  { return n.shapes[0] }
func (n *Net) OutShape() Shape { return n.shapes[n.output] }

// NumParams is the length of the flat parameter vector.
func (n *Net) NumParams() int { return n.nParams }

// NumConvWeights is the number of conv weights; they are the first
// NumConvWeights entries of the parameter vector.
func (n *Net) NumConvWeights() int { return n.nConv }

// Params lists the parameter blocks in the order of the flat vector.
func (n *Net) Params() []ParamInfo { return slices.Clone(n.params) }

// Param returns the block called name (e.g. "in/conv0.weight").
func (n *Net) Param(name string) (ParamInfo, bool) {
	for _, p := range n.params {
		if p.Name == name {
			return p, true
		}
	}
	return ParamInfo{}, false
}

// PriorBlocks lists the conv-weight blocks (one per Builder block), which
// tile [0, NumConvWeights) in order.
func (n *Net) PriorBlocks() []PriorBlock { return slices.Clone(n.prior) }

// Init fills p (len NumParams) with PyTorch's default initialisation: conv
// weights and biases U(−1/√fanIn, 1/√fanIn) (kaiming_uniform with a = √5
// gives this bound for weights), GroupNorm γ = 1, β = 0.
func (n *Net) Init(p []float32, rng *rand.Rand) {
	checkLen("Init params", len(p), n.nParams)
	for _, pi := range n.params {
		seg := p[pi.Offset : pi.Offset+pi.Len]
		switch pi.Kind {
		case ConvWeight, ConvBias:
			bound := 1 / math.Sqrt(float64(pi.FanIn))
			for i := range seg {
				seg[i] = float32((2*rng.Float64() - 1) * bound)
			}
		case NormWeight:
			for i := range seg {
				seg[i] = 1
			}
		case NormBias:
			zero(seg)
		}
	}
}

func (n *Net) alloc() {
	if n.acts != nil {
		return
	}
	n.acts = make([][]float32, len(n.shapes))
	for i := 1; i < len(n.shapes); i++ {
		n.acts[i] = make([]float32, n.shapes[i].Size())
	}
	n.tan = make([][]float32, len(n.shapes))
	n.own = make([]bool, len(n.shapes))
}

// Forward computes y = f(x; p) for one input x and keeps the activations
// for the JVP and VJP that follow, which use the same p (p must not change
// in between). y may be nil; Output returns the result either way.
func (n *Net) Forward(y, p, x []float32) {
	checkLen("Forward params", len(p), n.nParams)
	checkLen("Forward input", len(x), n.shapes[0].Size())
	n.alloc()
	n.p = p
	n.acts[0] = x
	for _, nd := range n.nodes {
		n.layerIn(nd, n.acts)
		nd.layer.Forward(p, n.acts[nd.out], n.ins)
	}
	if y != nil {
		checkLen("Forward output", len(y), n.OutShape().Size())
		copy(y, n.acts[n.output])
	}
}

// Output is the result of the last Forward (owned by the Net).
func (n *Net) Output() []float32 { return n.acts[n.output] }

func (n *Net) layerIn(nd node, src [][]float32) {
	n.ins = n.ins[:0]
	for _, s := range nd.in {
		n.ins = append(n.ins, src[s])
	}
}

func (n *Net) get(size int, zeroed bool) []float32 {
	if l := n.pool[size]; len(l) > 0 {
		b := l[len(l)-1]
		n.pool[size] = l[:len(l)-1]
		if zeroed {
			zero(b)
		}
		return b
	}
	return make([]float32, size)
}

func (n *Net) put(b []float32) { n.pool[len(b)] = append(n.pool[len(b)], b) }

func (n *Net) release(s int) {
	if n.own[s] && n.tan[s] != nil {
		n.put(n.tan[s])
	}
	n.tan[s], n.own[s] = nil, false
}

func (n *Net) checkFwd() {
	if n.p == nil {
		panic("nn: JVP/VJP before Forward")
	}
}

// JVP computes dy = J·(dx, dp) at the point of the last Forward for k
// tangents at once: dx holds k input tangents ([C][k][H][W], nil for zero)
// and dp holds k parameter tangents of length stride back to back
// (stride ≤ NumParams; parameters from index stride on have zero tangent,
// so stride = NumConvWeights differentiates w.r.t. the conv weights only;
// dp nil for zero). dy receives k outputs in the [C][k][H][W] layout, which
// for a one-channel output is k images back to back.
func (n *Net) JVP(dy, dp []float32, stride int, dx []float32, k int) {
	n.checkFwd()
	checkLen("JVP output", len(dy), k*n.OutShape().Size())
	if dx != nil {
		checkLen("JVP input tangent", len(dx), k*n.shapes[0].Size())
	}
	if dp != nil {
		checkLen("JVP parameter tangent", len(dp), k*stride)
	}
	n.tan[0] = dx
	for i, nd := range n.nodes {
		n.layerIn(nd, n.tan)
		active := dp != nil && nd.minOff < stride
		for _, t := range n.ins {
			active = active || t != nil
		}
		if active {
			out := n.get(k*n.shapes[nd.out].Size(), false)
			tin := slices.Clone(n.ins)
			n.layerIn(nd, n.acts)
			nd.layer.JVP(n.p, out, tin, dp, stride, n.ins, n.acts[nd.out], k)
			n.tan[nd.out], n.own[nd.out] = out, true
		}
		for _, s := range nd.in {
			if n.lastUse[s] == i {
				n.release(s)
			}
		}
	}
	if t := n.tan[n.output]; t != nil {
		copy(dy, t)
	} else {
		zero(dy)
	}
	n.release(n.output)
	n.tan[0] = nil
}

// VJP computes (dx, dp) = Jᵀ·dy at the point of the last Forward for k
// output cotangents dy at once. dp (len k·stride, may be nil) is
// overwritten with the parameter gradients of indices < stride, dx (len
// k·input size, may be nil) with the input gradients.
func (n *Net) VJP(dp []float32, stride int, dx, dy []float32, k int) {
	n.checkFwd()
	checkLen("VJP output cotangent", len(dy), k*n.OutShape().Size())
	if dp != nil {
		// Layers write their own parameters' gradients (Layer's VJP
		// contract), so dp is not cleared; only layers that no cotangent
		// reaches get zeros.
		checkLen("VJP parameter gradient", len(dp), k*stride)
	}
	if dx != nil {
		checkLen("VJP input gradient", len(dx), k*n.shapes[0].Size())
		zero(dx)
	}
	g := n.get(len(dy), false)
	copy(g, dy)
	n.tan[n.output], n.own[n.output] = g, true
	n.tan[0] = dx
	for i := len(n.nodes) - 1; i >= 0; i-- {
		nd := n.nodes[i]
		gout := n.tan[nd.out]
		if gout == nil {
			n.zeroParams(dp, stride, nd, k)
			continue
		}
		din := make([][]float32, len(nd.in))
		for j, s := range nd.in {
			if j == 1 && nd.noGrad1 {
				continue
			}
			if s != 0 && n.tan[s] == nil {
				n.tan[s], n.own[s] = n.get(k*n.shapes[s].Size(), true), true
			}
			din[j] = n.tan[s]
		}
		n.layerIn(nd, n.acts)
		nd.layer.VJP(n.p, din, dp, stride, gout, n.ins, n.acts[nd.out], k)
		n.release(nd.out)
	}
	n.tan[0] = nil
}

// zeroParams clears node nd's parameters (those below stride) in all k
// vectors of dp.
func (n *Net) zeroParams(dp []float32, stride int, nd node, k int) {
	if dp == nil {
		return
	}
	for _, sp := range nd.params {
		if sp.off >= stride {
			continue
		}
		for b := 0; b < k; b++ {
			zero(dp[b*stride+sp.off:][:min(sp.len, stride-sp.off)])
		}
	}
}

// MemoryBytes estimates the bytes a Forward followed by JVP or VJP with
// batch k needs: primal activations, the peak of live tangent buffers and
// the conv scratch (one im2col tile and one dW partial per worker).
func (n *Net) MemoryBytes(k, workers int) int64 {
	var acts int64
	for _, s := range n.shapes[1:] {
		acts += int64(s.Size())
	}
	// peak live tangents, JVP order (VJP's liveness is the mirror image and
	// its peak is bounded by the same skip-connection structure).
	live := map[int]int64{}
	var cur, peak int64
	for i, nd := range n.nodes {
		sz := int64(k * n.shapes[nd.out].Size())
		live[nd.out] = sz
		cur += sz
		peak = max(peak, cur)
		for _, s := range nd.in {
			if n.lastUse[s] == i && s != 0 {
				cur -= live[s]
			}
		}
	}
	cur, vpeak := int64(0), int64(0)
	for i := len(n.nodes) - 1; i >= 0; i-- {
		nd := n.nodes[i]
		for _, s := range nd.in {
			if _, ok := live[-s-1]; !ok && s != 0 {
				live[-s-1] = 1
				cur += int64(k * n.shapes[s].Size())
			}
		}
		if i == len(n.nodes)-1 {
			cur += int64(k * n.shapes[nd.out].Size())
		}
		vpeak = max(vpeak, cur)
		cur -= int64(k * n.shapes[nd.out].Size())
	}
	var scratch int64
	for _, nd := range n.nodes {
		if c, ok := nd.layer.(*Conv2D); ok {
			r := int64(c.r())
			scratch = max(scratch, int64(tileFloats)+r*64+int64(c.Out*k)*r)
		}
	}
	// The tangent pool keeps the JVP's and the VJP's buffers, so count both;
	// 25% on top for the scratch pool's slack (measured against the bytes
	// actually allocated by Forward+JVP+VJP: see TestMemoryBytes in dip).
	b := 4 * (acts + peak + vpeak + int64(workers)*scratch + int64(k*n.nParams))
	return b + b/4
}

// Layers returns the layers in evaluation order with their node names
// (block/name), e.g. to adjust a Dropout or Sigmoid after building.
func (n *Net) Layers() (names []string, layers []Layer) {
	for _, nd := range n.nodes {
		names = append(names, nd.name)
		layers = append(layers, nd.layer)
	}
	return names, layers
}
