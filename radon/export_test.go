package radon

import (
	"runtime"
	"testing"

	"github.com/ctrecon/ctrecon/internal/par"
)

// BenchThreads makes -cpu choose the thread count of a benchmark:
// go test -bench . -cpu 1,2.
func BenchThreads(b *testing.B) {
	old := par.Threads()
	par.SetThreads(runtime.GOMAXPROCS(0))
	b.Cleanup(func() { par.SetThreads(old) })
}
