package phantoms

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// BuiltinKinds are the phantoms that need no download and have analytic
// sinograms.
var BuiltinKinds = []string{"shepp-logan", "ellipses", "rectangles"}

// Builtin returns draw number k of a built-in phantom kind. Draw k of a
// seed is the same whatever other draws are made, so every command agrees
// on what "seed s, slice k" is (phantom, simulate --analytic, study).
func Builtin(kind string, seed uint64, k int) (Phantom, error) {
	rng := rand.New(rand.NewPCG(seed, uint64(k)+0x9e3779b97f4a7c15))
	switch kind {
	case "shepp-logan":
		return SheppLogan(), nil
	case "ellipses":
		return RandomEllipses(rng, 8), nil
	case "rectangles":
		return RandomRectangles(rng, DefaultRectangles, DefaultRectangleSpread), nil
	}
	return Phantom{}, fmt.Errorf("unknown phantom kind %q (built in: %s)", kind, strings.Join(BuiltinKinds, ", "))
}
