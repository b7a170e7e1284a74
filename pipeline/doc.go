// Package pipeline holds the runs behind ctrecon's commands, each reading
// and writing the files of DESIGN.md §2:
//
//   - Simulation: a simulated scan of an image or phantom (projection,
//     Gaussian noise or photon counts), seeded.
//   - DIPVolume: the DIP fit of each slice of a range, checkpointed and
//     resumable, with its per-slice table.
//   - UQVolume: the linearised uncertainty of a DIP file's slices, with the
//     calibration columns when the scan has a ground truth.
//   - PlanJob: the next angles to measure from an uncertainty file (its
//     samples or its rebuilt model, design's selection, the plan file).
//   - DesignStudy: the simulated acquisition study kept in a folder
//     (state.json, resume, parts merged, results.h5, table.md, psnr.png).
//   - Study: the accuracy-and-calibration tables over many images
//     (docs/RESULTS.md), per-image values saved and merged.
//   - ScanGeometry: a scan file's projector geometry.
//
// It is its own package because this glue joins several others (dip and
// linearised for the methods, design for the selection, evaluation for the
// calibration columns, h5io for the files, volume for resumable slice jobs,
// radon for the projector and FBP) and must not live in the CLI: a command
// parses flags, builds a job here, and prints. Tests and other programs
// drive the same runs with the same settings strings and resume
// fingerprints, so a run started by one resumes in the other (the strings
// are tested against files the runs in progress wrote).
//
// What a run needs from its caller (log lines, progress bars, the memory
// check against what the machine has, a test's hook after each save) comes
// in through Hooks; every hook may be nil.
package pipeline
