// Package pipeline runs ctrecon's per-slice methods over a scan volume as
// files: the DIP fit of each slice of a range, checkpointed and resumable
// (DIPVolume), and the linearised uncertainty of a DIP file's slices
// (UQVolume), each written as the reconstruction file of DESIGN.md §2 with
// its per-slice table; the plan of the next angles from an uncertainty file
// (PlanJob: the file's samples or its rebuilt model, design's selection, the
// plan file's contents); the simulated acquisition study kept in a folder
// (DesignStudy: state.json, resume, parts merged, results.h5, table.md,
// psnr.png); the accuracy-and-calibration study over many images (Study:
// the tables of docs/RESULTS.md, per-image values saved and merged); the
// simulated scan of an image or phantom (Simulation: projection, Gaussian
// noise or photon counts); and the mapping between scan files and projector
// geometries (ScanGeometry).
//
// It is its own package because this glue joins several others (dip and
// linearised for the methods, evaluation for the calibration columns, h5io
// for the files, volume for resumable slice jobs, radon for the projector
// and FBP) and must not live in the CLI: a command parses
// flags, builds a job here, and prints. Tests and other programs drive the
// same runs, with the same settings strings and resume fingerprints, so a
// run started by one resumes in the other.
//
// What a run needs from its caller (log lines, progress bars, the memory
// check against what the machine has) comes in through Hooks; every hook
// may be nil.
package pipeline
