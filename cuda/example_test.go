package cuda_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/ctrecon/ctrecon/cuda"
	"github.com/ctrecon/ctrecon/radon"
)

// Projecting a batch of slices on the GPU when there is one, and on the
// CPU otherwise: the results are the same numbers either way.
func Example() {
	g := radon.NewGeometry(512, radon.EqualAngles(720))
	m, n := 720*g.NDet, 512*512
	const slices = 16
	x := make([]float32, slices*n) // the images, one after another
	y := make([]float32, slices*m)
	d, err := cuda.Open(0)
	if errors.Is(err, cuda.ErrNoDevice) {
		radon.NewProjector(g).ApplyBatch(y, x, slices)
		fmt.Println("no GPU: projected on the CPU")
		return
	} else if err != nil {
		log.Fatal(err)
	}
	p, err := d.NewProjector(g)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	if err := p.Forward(y, x, slices); err != nil {
		log.Fatal(err)
	}
	fmt.Println("projected on", d)
}
