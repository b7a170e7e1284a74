package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MNISTSize is the side of an MNIST image.
const MNISTSize = 28

// MNISTImage returns image index (0-based) of the gzipped idx3 images file
// at path as 28×28 row-major float32 in [0, 1] (byte/255), with its label
// from the matching labels file beside it ("…-images-idx3-ubyte.gz" →
// "…-labels-idx1-ubyte.gz").
func MNISTImage(path string, index int) ([]float32, int, error) {
	imgs, labels, err := MNISTImages(path, index, index+1)
	if err != nil {
		return nil, 0, err
	}
	return imgs, labels[0], nil
}

// MNISTImages returns images [from, to) of the idx3 file at path, stored
// one after another (image k at [k·784, (k+1)·784)), and their labels.
func MNISTImages(path string, from, to int) ([]float32, []int, error) {
	if from < 0 || to <= from {
		return nil, nil, fmt.Errorf("datasets: MNIST range [%d, %d) is empty or negative", from, to)
	}
	lpath := strings.Replace(path, "images-idx3", "labels-idx1", 1)
	if lpath == path {
		return nil, nil, fmt.Errorf("datasets: %s: not an \"…-images-idx3-ubyte.gz\" file, so its labels file cannot be found", path)
	}
	raw, dims, err := readIDX(path, 0x0803, from, to)
	if err != nil {
		return nil, nil, err
	}
	if dims[1] != MNISTSize || dims[2] != MNISTSize {
		return nil, nil, fmt.Errorf("datasets: %s: images are %d×%d, want 28×28", path, dims[1], dims[2])
	}
	lraw, ldims, err := readIDX(lpath, 0x0801, from, to)
	if err != nil {
		return nil, nil, err
	}
	if ldims[0] != dims[0] {
		return nil, nil, fmt.Errorf("datasets: %d images in %s but %d labels in %s", dims[0], path, ldims[0], lpath)
	}
	imgs := make([]float32, len(raw))
	for i, b := range raw {
		imgs[i] = float32(b) / 255
	}
	labels := make([]int, len(lraw))
	for i, b := range lraw {
		labels[i] = int(b)
	}
	return imgs, labels, nil
}

// readIDX reads records [from, to) of a gzipped idx file whose magic must
// be magic (0x0803: 3-D unsigned bytes, 0x0801: 1-D), returning their
// bytes and the file's dimensions.
func readIDX(path string, magic uint32, from, to int) ([]byte, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("datasets: %s not found: %w; run `make data` to fetch it", path, ErrMissing)
		}
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	var m uint32
	if err := binary.Read(zr, binary.BigEndian, &m); err != nil {
		return nil, nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	if m != magic {
		return nil, nil, fmt.Errorf("datasets: %s: idx magic %#08x, want %#08x", path, m, magic)
	}
	dims := make([]int, magic&0xff)
	rec := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(zr, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("datasets: %s: %w", path, err)
		}
		dims[i] = int(d)
		if i > 0 {
			rec *= int(d)
		}
	}
	if to > dims[0] {
		return nil, nil, fmt.Errorf("datasets: %s holds %d records; [%d, %d) is out of range", path, dims[0], from, to)
	}
	if _, err := io.CopyN(io.Discard, zr, int64(from*rec)); err != nil {
		return nil, nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	out := make([]byte, (to-from)*rec)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	return out, dims, nil
}
