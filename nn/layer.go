package nn

import "fmt"

// ErrShape is the panic value (wrapped with details) for slices whose
// lengths do not match a layer's shapes.
var ErrShape = fmt.Errorf("nn: shape mismatch")

// Shape is the shape of one activation: C channels of H×W pixels.
//
// A batch of k activations of one Shape is stored channel-major as
// [C][k][H][W]: channel c of batch member b starts at (c·k + b)·H·W. With
// this layout a conv layer is a single GEMM for the whole batch,
// W (Cout × Cin·K²) · col (Cin·K² × k·H·W), and its output is already in
// the same layout.
type Shape struct{ C, H, W int }

// Size is C·H·W.
func (s Shape) Size() int { return s.C * s.H * s.W }

// ParamKind says what a parameter block is, which decides its
// initialisation and where the Net places it in the flat parameter vector.
type ParamKind int

const (
	ConvWeight ParamKind = iota // conv filters [Cout][Cin][K][K], U(±1/√fanIn)
	ConvBias                    // conv bias [Cout], U(±1/√fanIn)
	NormWeight                  // GroupNorm γ [C], 1
	NormBias                    // GroupNorm β [C], 0
)

// ParamSpec describes one block of parameters a layer owns.
type ParamSpec struct {
	Kind   ParamKind
	Len    int
	FanIn  int // Cin·K² for conv weights and biases
	Kernel int // K for conv weights
}

// Layer is one differentiable operation of a Net. A layer is set up once
// by Builder.Add (Setup, then Bind with the offsets of its parameters in
// the flat parameter vector) and then evaluated many times.
//
// Conventions for the three products (all inputs and outputs in the
// [C][k][H][W] batch layout, primal activations with k = 1):
//
//   - Forward(p, y, x): y = f(x; p) for one sample.
//   - JVP(p, dy, dx, dp, stride, x, y, k): overwrite dy with the directional
//     derivative of f at the primal (x, y) along the k input tangents dx and
//     parameter tangents dp. dx[i] == nil means a zero tangent for input i.
//     dp holds k vectors of length stride back to back (dp[b·stride+i] for
//     parameter i); parameters with index ≥ stride have a zero tangent, and
//     dp == nil means all parameter tangents are zero.
//   - VJP(p, dx, dp, stride, dy, x, y, k): accumulate (+=) Jᵀdy into dx[i]
//     (skipped where dx[i] == nil; an activation may feed several layers)
//     and overwrite (=) the layer's own parameters in dp (same layout as
//     JVP; only parameters with index < stride; skipped when dp == nil).
//     A parameter belongs to one layer, so writing instead of adding saves
//     clearing k·stride floats per call (~10% of a linearisation).
//
// A layer whose second input takes no cotangent (Concat with ZeroSecond)
// may also implement NeedsGrad(i int) bool, so that the Net does not
// allocate one.
type Layer interface {
	// Setup checks the input shapes and returns the output shape and the
	// parameter blocks the layer owns.
	Setup(in []Shape) (Shape, []ParamSpec)
	// Bind gives the offset of each ParamSpec in the flat parameter vector.
	Bind(offsets []int)
	Forward(p, y []float32, x [][]float32)
	JVP(p, dy []float32, dx [][]float32, dp []float32, stride int, x [][]float32, y []float32, k int)
	VJP(p []float32, dx [][]float32, dp []float32, stride int, dy []float32, x [][]float32, y []float32, k int)
}

func checkLen(what string, got, want int) {
	if got != want {
		panic(fmt.Errorf("%w: %s has length %d, want %d", ErrShape, what, got, want))
	}
}
