// Package units writes quantities for messages to the user. It exists so
// that the CLI's memory refusals and h5io's write errors print sizes the
// same way.
package units

import "fmt"

// Bytes is a size for a message, in the largest binary unit (B, KiB, MiB,
// GiB, TiB) that keeps it at least 1, to one decimal.
func Bytes(b int64) string {
	if b < 1024 {
		return fmt.Sprintf("%d B", b)
	}
	v := float64(b)
	for _, u := range []string{"KiB", "MiB", "GiB"} {
		v /= 1024
		if v < 1024 {
			return fmt.Sprintf("%.1f %s", v, u)
		}
	}
	return fmt.Sprintf("%.1f TiB", v/1024)
}
