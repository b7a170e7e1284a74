package datasets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// DICOMImage is one uncompressed greyscale DICOM image.
type DICOMImage struct {
	Rows, Cols int
	// Values are RescaleSlope·stored + RescaleIntercept, row-major: for CT,
	// Hounsfield units.
	Values []float32
	// PixelSpacing is the distance between rows and between columns in
	// mm, zero if the file does not say.
	PixelSpacing [2]float64
	Modality     string
	// TransferSyntax is the UID the file was encoded with.
	TransferSyntax string
}

const (
	tsImplicitLE = "1.2.840.10008.1.2"
	tsExplicitLE = "1.2.840.10008.1.2.1"
)

// ReadDICOM reads a single-frame, single-sample DICOM image stored
// uncompressed in little endian (implicit or explicit VR), the encoding of
// most CT files and of pydicom's CT_small.dcm. Files without the 128-byte
// preamble and "DICM" are read as implicit VR little endian. Other
// transfer syntaxes (compressed, deflated, big endian) give an error
// naming the syntax. Elements inside sequences are skipped.
func ReadDICOM(path string) (*DICOMImage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("datasets: %s not found: %w; run `make data` to fetch it", path, ErrMissing)
		}
		return nil, fmt.Errorf("datasets: %w", err)
	}
	img, err := decodeDICOM(b)
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	return img, nil
}

// DICOMSlice reads a square CT image as scaled attenuation (MuFromHU),
// resized to n×n by area averaging when n > 0 and differs from its size.
func DICOMSlice(path string, n int) (*Volume, error) {
	d, err := ReadDICOM(path)
	if err != nil {
		return nil, err
	}
	if d.Rows != d.Cols {
		return nil, fmt.Errorf("datasets: %s is %d×%d; only square images are supported", path, d.Rows, d.Cols)
	}
	v := &Volume{Slices: 1, N: d.Rows, Data: d.Values, Spacing: [3]float64{d.PixelSpacing[0], d.PixelSpacing[1], 0}}
	MuFromHU(v.Data, v.Data)
	if n > 0 && n != v.N {
		out := &Volume{Slices: 1, N: n, Data: make([]float32, n*n), Spacing: v.Spacing}
		f := float64(v.N) / float64(n)
		out.Spacing[0], out.Spacing[1] = v.Spacing[0]*f, v.Spacing[1]*f
		Resize(out.Data, v.Data, v.N, n)
		v = out
	}
	return v, nil
}

var transferSyntaxNames = map[string]string{
	"1.2.840.10008.1.2.2":    "explicit VR big endian",
	"1.2.840.10008.1.2.1.99": "deflated explicit VR little endian",
	"1.2.840.10008.1.2.4.50": "JPEG baseline",
	"1.2.840.10008.1.2.4.51": "JPEG extended",
	"1.2.840.10008.1.2.4.57": "JPEG lossless",
	"1.2.840.10008.1.2.4.70": "JPEG lossless SV1",
	"1.2.840.10008.1.2.4.80": "JPEG-LS lossless",
	"1.2.840.10008.1.2.4.81": "JPEG-LS near-lossless",
	"1.2.840.10008.1.2.4.90": "JPEG 2000 lossless",
	"1.2.840.10008.1.2.4.91": "JPEG 2000",
	"1.2.840.10008.1.2.5":    "RLE lossless",
}

const (
	tagTransferSyntax = 0x00020010
	tagModality       = 0x00080060
	tagSamples        = 0x00280002
	tagFrames         = 0x00280008
	tagRows           = 0x00280010
	tagCols           = 0x00280011
	tagPixelSpacing   = 0x00280030
	tagBitsAllocated  = 0x00280100
	tagBitsStored     = 0x00280101
	tagPixelRepr      = 0x00280103
	tagIntercept      = 0x00281052
	tagSlope          = 0x00281053
	tagPixelData      = 0x7fe00010
	undefinedLength   = 0xffffffff
)

type dcmReader struct {
	b        []byte
	off      int
	explicit bool
}

var errTruncated = errors.New("file ends inside an element")

// longVR are the explicit VRs with a 2-byte reserved field and 4-byte length.
func longVR(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

// next reads one element header and value; undefined-length values
// (sequences) are skipped and returned as nil with undefined set.
func (r *dcmReader) next() (tag uint32, val []byte, undefined bool, err error) {
	if r.off+8 > len(r.b) {
		return 0, nil, false, errTruncated
	}
	le := binary.LittleEndian
	tag = uint32(le.Uint16(r.b[r.off:]))<<16 | uint32(le.Uint16(r.b[r.off+2:]))
	var n uint32
	switch {
	case tag>>16 == 0xfffe || !r.explicit:
		n = le.Uint32(r.b[r.off+4:])
		r.off += 8
	default:
		vr := string(r.b[r.off+4 : r.off+6])
		if longVR(vr) {
			if r.off+12 > len(r.b) {
				return 0, nil, false, errTruncated
			}
			n = le.Uint32(r.b[r.off+8:])
			r.off += 12
		} else {
			n = uint32(le.Uint16(r.b[r.off+6:]))
			r.off += 8
		}
	}
	if n == undefinedLength {
		switch tag {
		case tagPixelData:
			return tag, nil, true, errors.New("encapsulated (compressed) pixel data is not supported")
		case 0xfffee000: // an item of undefined length
			return tag, nil, true, r.skipItem()
		}
		return tag, nil, true, r.skipSequence()
	}
	if uint64(r.off)+uint64(n) > uint64(len(r.b)) {
		return 0, nil, false, errTruncated
	}
	val = r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return tag, val, false, nil
}

// skipSequence skips items up to the sequence delimitation item.
func (r *dcmReader) skipSequence() error {
	for {
		tag, _, _, err := r.next()
		if err != nil {
			return err
		}
		switch tag {
		case 0xfffee0dd: // sequence delimiter
			return nil
		case 0xfffee000: // item: next skipped it, whatever its length
			continue
		}
		return fmt.Errorf("unexpected element (%04x,%04x) in a sequence", tag>>16, tag&0xffff)
	}
}

// skipItem skips the elements of an undefined-length item up to its
// delimiter.
func (r *dcmReader) skipItem() error {
	for {
		if r.off+8 > len(r.b) {
			return errTruncated
		}
		if binary.LittleEndian.Uint32(r.b[r.off:]) == 0xe00dfffe {
			r.off += 8
			return nil
		}
		if _, _, _, err := r.next(); err != nil {
			return err
		}
	}
}

func decodeDICOM(b []byte) (*DICOMImage, error) {
	r := &dcmReader{b: b}
	ts := tsImplicitLE
	if len(b) >= 132 && string(b[128:132]) == "DICM" {
		// File meta information: always explicit VR little endian.
		r.off, r.explicit = 132, true
		for r.off+2 <= len(b) && binary.LittleEndian.Uint16(b[r.off:]) == 0x0002 {
			tag, val, _, err := r.next()
			if err != nil {
				return nil, fmt.Errorf("file meta: %w", err)
			}
			if tag == tagTransferSyntax {
				ts = strings.TrimRight(string(val), "\x00 ")
			}
		}
	}
	switch ts {
	case tsImplicitLE:
		r.explicit = false
	case tsExplicitLE:
		r.explicit = true
	default:
		name := transferSyntaxNames[ts]
		if name == "" {
			name = "unknown"
		}
		return nil, fmt.Errorf("transfer syntax %s (%s) is not supported: only uncompressed little endian (implicit or explicit VR) is", ts, name)
	}

	img := &DICOMImage{TransferSyntax: ts}
	var (
		bitsAlloc, bitsStored, repr int
		samples, frames             = 1, 1
		slope, intercept            = 1.0, 0.0
		pixels                      []byte
	)
	us := func(v []byte) int {
		if len(v) < 2 {
			return -1
		}
		return int(binary.LittleEndian.Uint16(v))
	}
	str := func(v []byte) string { return strings.Trim(string(v), "\x00 ") }
	num := func(v []byte) (float64, error) { return strconv.ParseFloat(strings.Split(str(v), `\`)[0], 64) }
	for r.off < len(b) && pixels == nil {
		tag, val, _, err := r.next()
		if err != nil {
			return nil, err
		}
		switch tag {
		case tagModality:
			img.Modality = str(val)
		case tagSamples:
			samples = us(val)
		case tagFrames:
			f, err := strconv.Atoi(str(val))
			if err != nil {
				return nil, fmt.Errorf("NumberOfFrames %q: %w", str(val), err)
			}
			frames = f
		case tagRows:
			img.Rows = us(val)
		case tagCols:
			img.Cols = us(val)
		case tagPixelSpacing:
			parts := strings.Split(str(val), `\`)
			for i := 0; i < 2 && i < len(parts); i++ {
				img.PixelSpacing[i], _ = strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
			}
		case tagBitsAllocated:
			bitsAlloc = us(val)
		case tagBitsStored:
			bitsStored = us(val)
		case tagPixelRepr:
			repr = us(val)
		case tagSlope:
			if slope, err = num(val); err != nil {
				return nil, fmt.Errorf("RescaleSlope: %w", err)
			}
		case tagIntercept:
			if intercept, err = num(val); err != nil {
				return nil, fmt.Errorf("RescaleIntercept: %w", err)
			}
		case tagPixelData:
			pixels = val
		}
	}
	switch {
	case pixels == nil:
		return nil, errors.New("no pixel data")
	case img.Rows < 1 || img.Cols < 1:
		return nil, fmt.Errorf("bad image size %d×%d", img.Rows, img.Cols)
	case samples != 1:
		return nil, fmt.Errorf("%d samples per pixel: only greyscale is supported", samples)
	case frames != 1:
		return nil, fmt.Errorf("%d frames: only single-frame images are supported", frames)
	case bitsAlloc != 8 && bitsAlloc != 16:
		return nil, fmt.Errorf("%d bits allocated: only 8 and 16 are supported", bitsAlloc)
	}
	if bitsStored < 1 || bitsStored > bitsAlloc {
		bitsStored = bitsAlloc
	}
	n := img.Rows * img.Cols
	if len(pixels) < n*bitsAlloc/8 {
		return nil, fmt.Errorf("pixel data has %d bytes, want %d", len(pixels), n*bitsAlloc/8)
	}
	img.Values = make([]float32, n)
	mask := uint32(1)<<bitsStored - 1
	sign := uint32(1) << (bitsStored - 1)
	for i := range img.Values {
		var u uint32
		if bitsAlloc == 16 {
			u = uint32(binary.LittleEndian.Uint16(pixels[2*i:]))
		} else {
			u = uint32(pixels[i])
		}
		u &= mask
		v := int64(u)
		if repr == 1 && u&sign != 0 {
			v -= int64(mask) + 1 // two's complement in bitsStored bits
		}
		img.Values[i] = float32(slope*float64(v) + intercept)
	}
	return img, nil
}
