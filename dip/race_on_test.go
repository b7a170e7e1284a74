//go:build race

package dip

// raceEnabled: the race detector makes sync.Pool drop buffers at random,
// so allocation counts are not comparable.
const raceEnabled = true
