package phantoms_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/ctrecon/ctrecon/phantoms"
	"github.com/ctrecon/ctrecon/radon"
)

func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	p := phantoms.RandomRectangles(rng, phantoms.DefaultRectangles, phantoms.DefaultRectangleSpread)
	img := p.Image(128, 8) // ground truth, 128×128
	g := radon.NewGeometry(128, radon.EqualAngles(60))
	sino := p.BinSinogram(g) // exact data, [60][183]
	fmt.Println(len(p.Rectangles), len(img), len(sino))
	fmt.Printf("Shepp–Logan at the centre: %.1f\n", phantoms.SheppLogan().At(0, 0))
	// Output:
	// 3 16384 10980
	// Shepp–Logan at the centre: 0.2
}
