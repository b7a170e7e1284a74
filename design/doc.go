// Package design chooses which projection angles to measure next
// (DESIGN.md §6): greedy Bayesian experimental design by expected
// information gain under the linearised-DIP posterior, and the baselines
// it is compared with.
//
// # Criteria
//
// For a candidate angle a with ray transform A_a (one row per detector
// bin), from S zero-mean posterior samples x_s projected onto it
// (z_s = A_a x_s, all candidates in one batched projector call):
//
//	EIG(a)      = ½ log det(I + Ĉ_a/σ_y²),   Ĉ_a = (1/S) Σ_s z_s z_sᵀ
//	diag-EIG(a) = Σ_k ½ log(1 + Ĉ_a,kk/σ_y²)  (≥ EIG: Hadamard's inequality)
//	var(a)      = mean over s and k of z_sk²
//
// EIG is ½ log det(Ĉ_a + σ_y² I) − ½ log det(σ_y² I), computed in the S×S
// dual when S is below the bin count. ClosedForm gives the same criteria
// from a dense posterior covariance, the limit of many samples, and
// SelectDense chooses from it with exact conditioning (the exact regime's
// sizes).
//
// Select and SelectDense take any radon.Geometry, parallel or fan beam:
// the candidates replace its angles. Candidates count a measured view as
// taken modulo ViewPeriod (π in parallel beam, where the opposite view is
// the same rays reversed; 2π in fan beam). The acquisition loop and its
// equal and golden-angle baselines are parallel-beam (mod π).
//
// # Joint batches
//
// Select picks one angle at a time. After each pick it conditions the
// samples on a simulated measurement of that angle (Matheron's rule with
// the samples' own covariance, the ensemble-Kalman update
// x_s ← x_s − Ĉ_xa (Ĉ_a + σ_y²I)⁻¹ (z_s + σ_y ε_s)), so the next pick sees
// what the first one already told: a batch does not cluster on redundant
// angles, as plain top-k does. The update is a right-multiplication of the
// sample matrix by an S×S matrix, applied to the stored projections of
// every candidate, so nothing is projected twice. With fixed
// hyperparameters and no refit the posterior covariance does not depend on
// the measured values, so a whole plan is fixed by the current scan: it is
// adaptive only across refits of the DIP.
//
// # Region of interest
//
// With a ROI, the criteria are computed from the samples' ROI pixels only
// (the rest set to zero before projection): what a measurement at a would
// tell about the ROI's own contribution. Conditioning always uses the full
// samples (a real measurement sees the whole slice), and the predicted
// ROI std after a plan is that of the conditioned samples.
//
// # The acquisition loop
//
// Acquire simulates one strategy on one full scan (every candidate angle
// measured): from a pilot of equally spaced angles it acquires rows of the
// full scan up to a budget, refitting the DIP (from the same initial
// weights) and its linearised posterior every RefitEvery acquisitions for
// the lin-DIP strategies (eig-pilot keeps the pilot's fit and conditions
// its linearised model on each batch instead: the same choice without
// adaptation), and scores DIP and TV reconstructions at the
// evaluation counts with one stopping rule for all. Its RunState is saved
// after every step and hands back to Acquire to resume; Summarise makes
// the study tables (means, standard errors, paired differences to equal
// spacing).
//
// # Baselines
//
// Equal (k equally spaced angles, the nearest free candidates), Random
// (seeded), Golden (the golden-angle sequence, 180°/φ steps) and
// PixelGaussian: a linear-Gaussian model with an isotropic pixel prior whose
// scale and noise are fitted by marginal likelihood on the measured data,
// choosing by the same criteria from its own samples.
package design
