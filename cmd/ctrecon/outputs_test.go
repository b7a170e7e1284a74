package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOutputPermissionsFollowUmask: HDF5 outputs and figures get 0666 less
// the umask, like any tool's output (they used to keep the 0600 of their
// temporary file).
func TestOutputPermissionsFollowUmask(t *testing.T) {
	for _, c := range []struct {
		umask int
		want  os.FileMode
	}{{0o022, 0o644}, {0o077, 0o600}} {
		d := t.TempDir()
		p := func(s string) string { return filepath.Join(d, s) }
		func() {
			defer syscall.Umask(syscall.Umask(c.umask))
			mustRun(t, "phantom", "--size", "16", "-o", p("img.h5"))
			mustRun(t, "plot", "-i", p("img.h5"), "-o", p("img.png"))
		}()
		for _, f := range []string{"img.h5", "img.png"} {
			st, err := os.Stat(p(f))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != c.want {
				t.Errorf("umask %03o: %s has mode %v, want %v", c.umask, f, st.Mode().Perm(), c.want)
			}
		}
	}
}
