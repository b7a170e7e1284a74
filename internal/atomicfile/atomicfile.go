// Package atomicfile writes output files the way DESIGN.md §2 asks: under a
// temporary name in the destination's folder, renamed into place only when
// complete, so a failed or interrupted run leaves no partial file.
//
// The temporary file is created with permission 0666, which the kernel masks
// with the process umask, as for any file made by os.Create: committed
// outputs get the usual permissions (0644 under umask 022, 0600 under 077).
// os.CreateTemp is not used because it creates 0600 files, and repairing that
// with a chmod would need the umask, which can only be read by changing it
// (syscall.Umask), a process-wide race with any other goroutine creating files.
package atomicfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// CreateTemp creates and opens a new file beside path, named
// ".BASE.tmpRANDOM", for writing. Its permission is 0666 less the umask.
// The caller renames it to path when done (or removes it).
func CreateTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	prefix := filepath.Join(dir, "."+base+".tmp")
	for try := 0; try < 10000; try++ {
		name := prefix + strconv.FormatUint(uint64(rand.Uint32()), 10)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, &fs.PathError{Op: "createtemp", Path: prefix + "*", Err: fs.ErrExist}
}

// Write creates path atomically: write fills a temporary file beside it,
// which is synced, closed and renamed to path. On any error the temporary
// file is removed and an existing file at path is left as it was.
func Write(path string, write func(f *os.File) error) (err error) {
	f, err := CreateTemp(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}

// WriteBytes creates path atomically with the contents b.
func WriteBytes(path string, b []byte) error {
	return Write(path, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// WriteJSON creates path atomically with v as indented JSON.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return WriteBytes(path, b)
}
