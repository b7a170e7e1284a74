package vec

import (
	"os"

	"golang.org/x/sys/cpu"
)

// useAsm: AVX-512F+VL, unless CTRECON_VEC=go asks for the Go loops.
var useAsm = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && os.Getenv("CTRECON_VEC") != "go"

//go:noescape
func sum64(x *float32, n int) float64

//go:noescape
func sumSqDev64(x *float32, n int, m float64) float64

//go:noescape
func dotDev64(t, x *float32, n int, m float64) (st, stx float64)

//go:noescape
func affine(dst, src *float32, n int, a, b float32)

//go:noescape
func affine2(dst, t, x *float32, n int, a, b, m, c float32, acc int)

//go:noescape
func leaky(dst, t, x *float32, n int, slope float32, acc int)
