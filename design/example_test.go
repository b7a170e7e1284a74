package design_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/design"
	"github.com/ctrecon/ctrecon/radon"
)

// Choosing the next two of four candidate angles (0°, 90°, 180°, 270°)
// for an 8×8 image whose posterior varies most along its columns: 0° and
// 180° see the same rays. Scored once (top-k), both are taken; chosen
// jointly, the second pick is an angle that adds information.
func ExampleSelect() {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, S = 8, 4000
	x := make([]float32, S*n*n) // posterior samples: column and row stripes
	for s := 0; s < S; s++ {
		for j := 0; j < n; j++ {
			a, b := float32(1.25*rng.NormFloat64()), float32(0.4*rng.NormFloat64())
			for i := 0; i < n; i++ {
				x[s*n*n+i*n+j] += a // column j
				x[s*n*n+j*n+i] += b // row j
			}
		}
	}
	geo := radon.NewGeometry(n, nil)
	cands, _ := design.NewCandidates(4, design.Interval{Lo: 0, Hi: 2 * math.Pi}, math.Pi, nil, nil)
	samples := []design.SliceSamples{{X: x, S: S, NoiseVar: 1}}
	deg := func(p *design.Plan) []float64 {
		var d []float64
		for _, c := range p.Chosen {
			d = append(d, cands.Angles[c]*180/math.Pi)
		}
		return d
	}
	top, _ := design.Select(context.Background(), geo, cands, samples, 2, design.Settings{TopK: true}, rng, nil)
	joint, _ := design.Select(context.Background(), geo, cands, samples, 2, design.Settings{}, rng, nil)
	fmt.Println("top-k:", deg(top)[0] == 0 || deg(top)[0] == 180, math.Mod(deg(top)[1], 180) == 0)
	fmt.Println("joint second pick is 90° or 270°:", math.Mod(deg(joint)[1], 180) == 90)
	// Output:
	// top-k: true true
	// joint second pick is 90° or 270°: true
}
