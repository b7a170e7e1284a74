// Package volume runs per-slice work over a scan's slices so that a volume
// can be reconstructed in pieces: by one process that may be interrupted, or
// by many (a Slurm array, a Kubernetes Indexed Job) that each take a slice
// range.
//
// It is its own package because the idea is shared by every per-slice
// command (dip, uncertainty) and is about files, not about any one method:
// a Job keeps each finished slice as its own write-once reconstruction file
// (h5io's one-slice part, with slice_start and the job's fingerprint) in a
// folder beside the output. A resumed or retried job skips the slices whose
// files are there, so an interruption loses at most the slice in flight (and
// that slice's own checkpoint, kept by the command, loses less); the output
// is h5io.MergeRecon of the slice files, the same function `ctrecon merge`
// uses to join the outputs of several processes.
//
// Range parses and checks "a:b" slice ranges. EstimateBytes-style memory
// checks stay with the methods; a Job only adds what assembling the output
// costs (AssemblyBytes).
package volume
