package radon_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

// Simulate a sparse-angle scan of a phantom and reconstruct it two ways.
func Example() {
	g := radon.NewGeometry(64, radon.EqualAngles(30))
	p, err := radon.NewProjectorChecked(g)
	if err != nil {
		panic(err)
	}
	truth := phantoms.SheppLogan().Image(g.N, 4)

	y := make([]float32, g.SinoLen()) // [30 angles][93 bins]
	p.Apply(y, truth)
	sigma := radon.AddNoise(y, y, 0.05, rand.New(rand.NewPCG(1, 2)))

	fbp := make([]float32, g.ImageLen())
	if err := radon.FBP(fbp, y, g, radon.FBPSettings{Filter: radon.Hann}); err != nil {
		panic(err)
	}
	tv := make([]float32, g.ImageLen())
	if err := radon.TV(tv, y, g, radon.TVSettings{}, nil); err != nil {
		panic(err)
	}
	fmt.Printf("%d angles × %d bins, σ = %.2f\n", g.NumAngles(), g.NDet, sigma)
	fmt.Printf("TV beats FBP: %v\n", psnr(tv, truth) > psnr(fbp, truth))
	// Output:
	// 30 angles × 93 bins, σ = 0.27
	// TV beats FBP: true
}
