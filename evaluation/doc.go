// Package evaluation scores a reconstruction and its pixelwise std map
// against a ground truth: accuracy (PSNR, SSIM, RMSE), and for the std map
// the test log-likelihood beside a constant-σ oracle, coverage, rank
// correlation of |error| and σ (per pixel and on patches) and the
// patch-wise test LL under posterior samples — on all pixels and on the
// object region (metrics.ObjectMask).
//
// It is its own package because three places report these numbers and must
// report the same ones: `ctrecon evaluate`, the per-slice table that
// `ctrecon uncertainty` writes, and the studies. It joins metrics (accuracy,
// the object region) and linearised (calibration, patch LL); the CLI keeps
// only the printing.
package evaluation
