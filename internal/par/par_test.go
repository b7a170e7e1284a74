package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestForCoversRangeOnce(t *testing.T) {
	for _, k := range []int{1, 2, 3, 7} {
		SetThreads(k)
		for _, n := range []int{0, 1, 5, 100} {
			hits := make([]int32, n)
			For(n, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					hits[i]++
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("threads=%d n=%d: index %d visited %d times", k, n, i, h)
				}
			}
		}
	}
	SetThreads(0)
}

// TestNestedAndConcurrent: a For inside a For, and Fors from several
// goroutines at once, find the worker pool busy and fall back to
// goroutines; every index must still be visited exactly once.
func TestNestedAndConcurrent(t *testing.T) {
	SetThreads(3)
	defer SetThreads(0)
	const n, m = 37, 11
	var hits [n * m]atomic.Int32
	For(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			For(m, func(a, b int) {
				for j := a; j < b; j++ {
					hits[i*m+j].Add(1)
				}
			})
		}
	})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			For(n*m, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
		}()
	}
	wg.Wait()
	for i := range hits {
		if h := hits[i].Load(); h != 5 {
			t.Fatalf("index %d visited %d times, want 5", i, h)
		}
	}
}

// TestMoreWorkersThanPs: with one P and two workers the spinning sides
// must yield, or each loop would wait out the spin before the other ran.
func TestMoreWorkersThanPs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	SetThreads(2)
	defer SetThreads(0)
	start := time.Now()
	var sum atomic.Int64
	for r := 0; r < 2000; r++ {
		For(2, func(lo, hi int) { sum.Add(int64(hi - lo)) })
	}
	if sum.Load() != 4000 {
		t.Fatalf("sum %d", sum.Load())
	}
	// 2000 loops × 2 spins of 200 µs would be 0.8 s; yielding is far faster.
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("2000 loops took %v with one P", d)
	}
}
