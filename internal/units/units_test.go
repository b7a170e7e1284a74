package units

import "testing"

// Each size is written in the largest unit that keeps it at least 1.
func TestBytesPicksTheLargestUnitAtLeastOne(t *testing.T) {
	for _, c := range []struct {
		b    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{20 << 10, "20.0 KiB"},
		{3 << 19, "1.5 MiB"},
		{1<<30 - 1<<20, "1023.0 MiB"},
		{9 << 30, "9.0 GiB"},
		{5 << 40, "5.0 TiB"},
	} {
		if got := Bytes(c.b); got != c.want {
			t.Errorf("Bytes(%d) = %q, want %q", c.b, got, c.want)
		}
	}
}
