// Package datasets reads the real data ctrecon works on, fetched into the
// data folder by `make data` (see data/README.md for sources, licences and
// checksums). Everything is pure Go.
//
//   - Head CT: the InVesalius "Cranium" volume, 108 slices of 256×256 in
//     Hounsfield units (ReadCraniumHU, CraniumSlices).
//   - One CT slice in DICOM: pydicom's CT_small.dcm, 128×128 (ReadDICOM,
//     DICOMSlice; a minimal reader for uncompressed little endian files).
//   - Handwritten digits: MNIST's idx files from the GoMNIST module
//     (MNISTImage, MNISTImages).
//
// # Attenuation scaling
//
// CT values are converted from HU to linear attenuation relative to water,
// μ/μ_water = max(0, 1 + HU/1000), and divided by MuScale = 3 (the μ of
// +2000 HU), so air is 0, water 1/3 and skull bone up to about 0.9: images
// in about [0, 1], comparable between slices and data sets, ready to be
// projected (MuFromHU). Resize area-averages an image to another size.
//
// # Locating files
//
// DefaultDir is $CTRECON_DATA or the repository's data/ folder; Locate
// returns a file's path there or an error (wrapping ErrMissing) that says
// to run `make data`.
//
// # Example
//
//	path, err := datasets.Locate(datasets.CraniumFile)
//	if err != nil {
//		return err // "… not found …; run `make data` …"
//	}
//	vol, err := datasets.CraniumSlices(filepath.Dir(path), 54, 55, 128)
//	// vol.Slice(0) is a 128×128 attenuation image in about [0, 1].
package datasets
