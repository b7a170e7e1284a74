//go:build !amd64

package vec

const useAsm = false

func sum64(x *float32, n int) float64                                { panic("unreachable") }
func sumSqDev64(x *float32, n int, m float64) float64                { panic("unreachable") }
func dotDev64(t, x *float32, n int, m float64) (st, stx float64)     { panic("unreachable") }
func affine(dst, src *float32, n int, a, b float32)                  { panic("unreachable") }
func affine2(dst, t, x *float32, n int, a, b, m, c float32, acc int) { panic("unreachable") }
func leaky(dst, t, x *float32, n int, slope float32, acc int)        { panic("unreachable") }
