package par

import "testing"

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
