// Package par runs loops on the worker threads ctrecon is allowed to use.
// The thread count is process-wide (set once by the CLI's --threads flag);
// every parallel loop in ctrecon goes through For so that one setting
// governs them all.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets the number of workers used by For; k < 1 means all CPUs.
func SetThreads(k int) {
	if k < 1 {
		k = runtime.NumCPU()
	}
	threads.Store(int32(k))
}

// Threads returns the number of workers For uses.
func Threads() int { return int(threads.Load()) }

// For splits [0, n) into at most Threads() contiguous chunks and calls
// body(lo, hi) for each concurrently, returning when all are done. Chunks
// never overlap, so bodies may write disjoint parts of shared slices.
// With one thread (or n small) body runs on the calling goroutine.
func For(n int, body func(lo, hi int)) {
	ForGrain(n, 1, body)
}

// ForGrain is For with chunks of at least grain items, so that tiny loops
// are not split into chunks whose start-up costs more than their work.
func ForGrain(n, grain int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	k := Threads()
	if grain < 1 {
		grain = 1
	}
	if maxK := (n + grain - 1) / grain; k > maxK {
		k = maxK
	}
	if k <= 1 {
		body(0, n)
		return
	}
	if runPooled(n, k, body) {
		return
	}
	// The pool is busy (a For inside a For, or two goroutines looping at
	// once): goroutines, the caller taking the first chunk itself.
	var wg sync.WaitGroup
	for w := 1; w < k; w++ {
		lo, hi := w*n/k, (w+1)*n/k
		if lo == hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	body(0, n/k)
	wg.Wait()
}
