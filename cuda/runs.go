package cuda

import "github.com/ctrecon/ctrecon/radon"

// Run hints for the backward kernel, computed once per projector on the
// host. For each run of rays (bins [RunLo, RunHi) of one angle):
//
//   - direction: 1 if the rays' positions increase with the bin at every
//     working row of the image, 0 if they decrease at every row, 2 if it
//     is not the same everywhere (the kernel then decides per pixel, as
//     radon's reference does). The difference of the run's last and first
//     positions is linear in the row, so its sign at rows 0 and n−1 decides
//     it for every row in between: the kernel's answer is the reference's.
//   - guess: the first and last ray's position at row 0 and their slopes
//     per row, in pixels (float32). Only a first guess of where a pixel's
//     rays start; the kernel checks it against the exact fixed-point
//     positions, so its accuracy changes speed, never results.
func runHints(t radon.RayTable) (guess []float32, direction []uint8) {
	const scale = 1.0 / (1 << 32)
	nruns := len(t.RunLo)
	guess, direction = make([]float32, 4*nruns), make([]uint8, nruns)
	last := int64(t.N - 1)
	for a := 0; a < t.NAngles; a++ {
		base := a * t.NDet
		for u := t.RunOff[a]; u < t.RunOff[a+1]; u++ {
			ka, kb := base+int(t.RunLo[u]), base+int(t.RunHi[u])-1
			d0 := t.Q[kb] - t.Q[ka]
			d1 := d0 + last*(t.G[kb]-t.G[ka])
			switch {
			case d0 >= 0 && d1 >= 0:
				direction[u] = 1
			case d0 < 0 && d1 < 0:
				direction[u] = 0
			default:
				direction[u] = 2
			}
			guess[4*u] = float32(float64(t.Q[ka]) * scale)
			guess[4*u+1] = float32(float64(t.G[ka]) * scale)
			guess[4*u+2] = float32(float64(t.Q[kb]) * scale)
			guess[4*u+3] = float32(float64(t.G[kb]) * scale)
		}
	}
	return guess, direction
}
