package linearised_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/linearised"
	"github.com/ctrecon/ctrecon/linop"
	"github.com/ctrecon/ctrecon/nn"
)

// Example runs the whole uncertainty step on a toy problem: a random
// 16-pixel "Jacobian" over one 3×3 block and one 1×1 block, and a random
// 8-measurement "ray transform".
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	blocks := []nn.PriorBlock{
		{Name: "in", Kernel: 3, Offset: 0, Len: 18},
		{Name: "out", Kernel: 1, Offset: 18, Len: 4},
	}
	randOp := func(m, n int) *linop.Dense {
		d := make([]float32, m*n)
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
		return linop.NewDense(m, n, d)
	}
	J, A := randOp(16, 22), randOp(8, 16)
	xhat := make([]float32, 16)
	y := make([]float32, 8)
	A.Apply(y, xhat)
	prob := &linearised.Problem{J: J, Blocks: blocks, A: A, Y: y, Xhat: xhat, Theta: make([]float32, 22)}

	res, err := linearised.Run(context.Background(), prob, nil,
		linearised.Settings{MLL: linearised.MLLSettings{Steps: 100}}, rng, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Regime, len(res.Std), res.Fit.Steps)
	// Output: exact 16 100
}
