package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A pool of long-lived workers that spin briefly before they park.
//
// Why: a layer of the U-Net at 128² is a few hundred microseconds of work
// split over the threads, and a forward or backward pass is a hundred such
// loops back to back. A fresh goroutine per chunk has to wake a parked OS
// thread (a futex round trip, tens of microseconds here) every time, which
// left the second core idle ~40% of a 2-thread VJP (measured). Workers that
// keep polling for spinFor after each chunk pick the next loop up at once,
// as OpenMP's threads do behind PyTorch; after that they park and cost
// nothing.

const spinFor = 200 * time.Microsecond

type job struct {
	body    func(lo, hi int)
	lo, hi  int
	pending *atomic.Int32
	done    chan struct{} // closed by the worker that finishes last
}

type worker struct {
	next   atomic.Pointer[job]
	parked atomic.Bool
	wake   chan struct{}
}

var pool struct {
	mu      sync.Mutex // held by the one loop that uses the workers
	workers []*worker
}

// give hands j to w, waking it if it has parked.
func (w *worker) give(j *job) {
	w.next.Store(j)
	if w.parked.Load() {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *worker) run() {
	for {
		j := w.wait()
		j.body(j.lo, j.hi)
		if j.pending.Add(-1) == 0 {
			close(j.done)
		}
	}
}

// wait spins for a job, then parks until given one.
func (w *worker) wait() *job {
	for {
		start := time.Now()
		for i := 0; ; i++ {
			if j := w.next.Swap(nil); j != nil {
				return j
			}
			if i%64 == 63 {
				if time.Since(start) > spinFor {
					break
				}
				runtime.Gosched()
			}
		}
		w.parked.Store(true)
		if j := w.next.Swap(nil); j != nil { // given between the poll and parked
			w.parked.Store(false)
			return j
		}
		<-w.wake
		w.parked.Store(false)
	}
}

// runPooled runs chunks 1…k−1 of [0, n) on pool workers and chunk 0 on the
// caller. It reports false, doing nothing, when another loop holds the
// pool (a nested or concurrent For): that loop then starts goroutines.
func runPooled(n, k int, body func(lo, hi int)) bool {
	if !pool.mu.TryLock() {
		return false
	}
	defer pool.mu.Unlock()
	for len(pool.workers) < k-1 {
		w := &worker{wake: make(chan struct{}, 1)}
		pool.workers = append(pool.workers, w)
		go w.run()
	}
	// k ≤ n (ForGrain), so no chunk is empty.
	var pending atomic.Int32
	pending.Store(int32(k - 1))
	done := make(chan struct{})
	jobs := make([]job, k-1)
	for c := 1; c < k; c++ {
		jobs[c-1] = job{body: body, lo: c * n / k, hi: (c + 1) * n / k, pending: &pending, done: done}
		pool.workers[c-1].give(&jobs[c-1])
	}
	body(0, n/k)
	// Spin while the others finish (they run as long as this chunk did),
	// then block.
	for start, i := time.Now(), 0; pending.Load() != 0; i++ {
		if i%64 == 63 {
			if time.Since(start) > spinFor {
				<-done
				break
			}
			runtime.Gosched() // with fewer Ps than workers, let them run
		}
	}
	return true
}
