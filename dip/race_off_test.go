//go:build !race

package dip

const raceEnabled = false
