// Package metrics scores a reconstruction against a known image: PSNR and
// SSIM, and the object region (ObjectRegion) on which scores are also
// reported. It is its own package because the CLI, the DIP fit (progress with a
// ground truth), the accuracy studies and the uncertainty evaluation all
// report the same numbers and must compute them one way.
//
// Conventions follow scikit-image, so our tables can be compared with the
// papers': PSNR uses a stated data range (the reference's max − min by
// default); SSIM uses a 7×7 uniform window, K1 = 0.01, K2 = 0.03, sample
// covariances, and averages over the windows that fit inside the image.
//
// Example:
//
//	p := metrics.PSNR(recon, truth, 0) // range from the truth
package metrics
