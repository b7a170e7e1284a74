package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Files fetched by `make data`, relative to the data folder.
const (
	CraniumFile      = "cranium/matrix.dat"
	CraniumPlist     = "cranium/main.plist"
	DICOMFile        = "pydicom/CT_small.dcm"
	MNISTTestImages  = "mnist/t10k-images-idx3-ubyte.gz"
	MNISTTrainImages = "mnist/train-images-idx3-ubyte.gz"
)

// ErrMissing is wrapped by Locate's error when a file is absent.
var ErrMissing = errors.New("data file missing")

// DefaultDir is the data folder: $CTRECON_DATA if set; otherwise the
// folder "data" of the repository containing the working directory (found
// by walking up to the folder with go.mod), so tests and the CLI agree
// wherever they run; otherwise "data" in the working directory.
func DefaultDir() string {
	if d := os.Getenv("CTRECON_DATA"); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; {
			if fileExists(filepath.Join(d, "go.mod")) {
				if st, err := os.Stat(filepath.Join(d, "data")); err == nil && st.IsDir() {
					return filepath.Join(d, "data")
				}
				break
			}
			up := filepath.Dir(d)
			if up == d {
				break
			}
			d = up
		}
	}
	return "data"
}

// Locate returns the path of rel (one of the *File constants) in
// DefaultDir, or an error wrapping ErrMissing that says to run `make data`.
func Locate(rel string) (string, error) {
	return LocateIn(DefaultDir(), rel)
}

// LocateIn is Locate in the data folder dir.
func LocateIn(dir, rel string) (string, error) {
	p := filepath.Join(dir, rel)
	if !fileExists(p) {
		return "", fmt.Errorf("datasets: %s not found: %w; run `make data` to fetch it (into %s, or set CTRECON_DATA)", p, ErrMissing, dir)
	}
	return p, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
