// Package radon is ctrecon's classical CT core: the 2D parallel-beam ray
// transform A and its exact transpose, filtered back-projection, TV
// reconstruction and the noise model.
//
// # Geometry
//
// A Geometry is an N×N image of unit pixels and a detector of NDet bins of
// width DetSpacing, seen at a list of angles (radians). The conventions are
// DESIGN.md §2, a contract shared with the file formats: pixel (i, j) has
// centre x = j + 0.5 − N/2, y = N/2 − i − 0.5; bin k has centre
// s_k = (k + 0.5 − NDet/2)·DetSpacing; the ray (θ, k) is the line
// x cos θ + y sin θ = s_k; images are row-major, sinograms [angle][bin].
// NewGeometry picks the detector that sees the whole image; Subset restricts
// a geometry to some of its angles (how experimental design evaluates
// candidates). Validate says what is wrong with a geometry from a user.
//
// # Fan beam
//
// A Geometry with Beam = Fan has a point source at SourceDistance from the
// rotation centre and a flat (or arc) detector DetectorDistance beyond it;
// CenterOffset moves the rotation axis off the detector's centre, in either
// beam. Geometry.Ray describes every ray of either beam as a line x cos φ +
// y sin φ = t, and everything downstream (the projector's traversal, the
// phantoms' exact sinograms, the adjoint suite) takes rays from it, so fan
// beam adds no second traversal. NewFanGeometry picks a detector that sees
// the image disc with bins of one pixel at the rotation centre.
//
// # Projector
//
// A Projector is A as a linop.Operator and linop.BatchOperator (a batch is
// many slices). It uses Joseph's method: on each pixel row (column, for rays
// nearer horizontal) a ray takes the linear interpolation between the two
// nearest pixel centres, times its length per row. Forward and back
// projection run the same traversal with a "gather" and a "scatter" policy,
// as in ASTRA, so Aᵀ is the exact transpose to float32 rounding
// (linop.AdjointError ~1e-7), which CG and the covariances of the
// linearised model rely on. Joseph's weights have no tie-breaking problem
// when rays run along pixel edges (0°, 90° with whole-number bin centres).
// Against the exact line integrals of Shepp–Logan's ellipses the relative
// error of A·(pixel image) is 2.7% at N = 128 and 1.4% at N = 256, as for
// ASTRA's linear kernel.
//
// Forward projection is split over rays; back-projection over blocks of
// image rows, each worker scattering only into its own rows, so there are no
// races, no per-thread images, and results are bit-for-bit the same for any
// thread count (internal/par) and batch size. A projector costs
// O(angles·NDet) to make, so one per candidate angle is cheap.
//
// # Reconstruction
//
// FBP filters with the ramp, Shepp–Logan, cosine or Hann window (optionally
// cut off below Nyquist) and back-projects by interpolation, scaled so that
// values come out in image units whatever the angles, NDet or DetSpacing.
// Fan-beam FBP is Kak & Slaney's weighted FBP (cosine pre-weight, distance
// weight in the back-projection; for an arc detector the (γ/sin γ)²
// kernel), with weight ½ on a full circle and Parker's weights on a short
// scan of at least 180° plus the fan angle (shorter is refused).
// TV minimises ½‖Ax − y‖² + λ·TV(x) (anisotropic, x ≥ 0 by default) by a
// preconditioned primal–dual method. CGLS is the unregularised
// least-squares baseline (stopped early). SIRT, beside it, takes any
// linop.Operator with nonnegative entries and iterates
// x ← x + λ·C·Aᵀ·R·(y − A x) with R and C the inverse row and column sums
// of A (SIRTWeights), optionally clipping x ≥ 0; the iteration count
// regularises (DefaultSIRTIters is chosen for 5% noise), or NoiseStd stops
// it at the discrepancy principle. AddNoise draws DESIGN's η-relative
// Gaussian noise from a caller's *rand.Rand.
//
// # Other backends
//
// NewOperator is the one factory the reconstructions and designs use for A:
// the CPU Projector, or the operator of a Backend set by SetBackend (the
// CLI's --device; package cuda's GPU projector), which must be the same
// matched pair. RayTable exports the projector's traversal and FBPRows
// FBP's filtered rows and positions, so a backend computes the same
// numbers; adjointGather and applyRays (reference_test.go) are their CPU references, equal to
// Adjoint and Apply bit for bit (the GPU kernels are written from them).
//
// # Errors
//
// Run-time conditions (an invalid geometry or setting, as read from a file or
// a flag) are returned as errors. Slices of the wrong length are programmer
// mistakes and panic with an error wrapping linop.ErrShape; NewProjector
// panics on an invalid geometry, NewProjectorChecked returns the error.
package radon
