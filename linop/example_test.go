package linop_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/linop"
)

// Any Operator, here a dense 2×3 matrix, gets the adjoint check every
// operator in ctrecon is tested with, and its batched form.
func Example() {
	A := linop.NewDense(2, 3, []float32{
		1, 2, 0,
		0, 1, 3,
	})
	y := make([]float32, 2)
	A.Apply(y, []float32{1, 1, 1})
	fmt.Println("A·1 =", y)
	x := make([]float32, 3)
	A.Adjoint(x, []float32{1, 0})
	fmt.Println("Aᵀ·e₁ =", x)
	// ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ for random x, y, to float32 rounding.
	fmt.Println("adjoint error below 1e-6:", linop.AdjointError(A, rand.New(rand.NewPCG(1, 2))) < 1e-6)
	// Two vectors at once.
	Y := make([]float32, 4)
	linop.ApplyBatch(A, Y, []float32{1, 0, 0, 0, 0, 1}, 2)
	fmt.Println("A·[e₁ e₃] =", Y)
	// Output:
	// A·1 = [3 4]
	// Aᵀ·e₁ = [1 2 0]
	// adjoint error below 1e-6: true
	// A·[e₁ e₃] = [1 0 0 3]
}
