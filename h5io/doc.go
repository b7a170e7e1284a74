// Package h5io reads and writes ctrecon's four HDF5 file kinds (DESIGN.md §2),
// the contract other tools rely on:
//
//   - image files (`ctrecon phantom`): /image float32 [slices][N][N];
//   - scan files, DXchange layout: /exchange/data float32 [angles][slices][NDet],
//     /exchange/theta float64 [angles] in degrees, optional
//     /exchange/ground_truth, attributes image_size, det_spacing, noise_std,
//     noise_rel on /exchange/data, and the beam geometry there: geometry
//     ("parallel" or "fan"), source_distance, detector_distance, detector
//     ("flat" or "arc"), center_offset (absent: parallel, centred). Raw
//     scans hold counts in /exchange/data with /exchange/data_white (and
//     /exchange/data_dark) [frames][slices][NDet]; ReadScan normalises them
//     (RawCounts.Normalize) and keeps the counts in Scan.Raw;
//   - reconstruction files: /recon/image, /recon/std, /recon/samples, attribute
//     method, plus extra groups (a DIP model, fitted hyperparameters, the
//     per-slice table /slices). A file may hold a slice range of its scan
//     (attributes slice_start, scan_slices); every dataset is per slice
//     along its first axis (samples along the second), so MergeRecon joins
//     ranges and Recon.SliceRows cuts them;
//   - plan files: /design/theta_candidates, theta_selected, scores, criterion.
//
// Writes are atomic: a Writer builds a temporary file in the destination folder
// and renames it on Commit, so a failed or interrupted run leaves no partial
// file and never touches an existing one. Volumes are chunked by slice and
// deflate-compressed. Reads convert any numeric HDF5 type (float64, big-endian,
// integers, as h5py writes them) to the Go type asked for, and validate: a
// missing dataset, a wrong rank or shape, theta not matching the data, NaN or
// Inf values, a file that is not HDF5 or is truncated each give an error that
// names the file and the dataset.
//
// Example:
//
//	s, err := h5io.ReadScan("scan.h5")
//	if err != nil { return err }
//	sino := s.Sinogram(nil, 0) // slice 0, [angles][NDet]
package h5io
