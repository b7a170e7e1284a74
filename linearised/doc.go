// Package linearised attaches a pixelwise uncertainty to a deep-image-prior
// reconstruction by linearising the trained network (DESIGN.md §5): the
// "linearised DIP" of Antorán et al. (TMLR 2023) and its sample-based
// inference (ICLR 2023).
//
// # Model
//
// Around the trained conv weights θ* the network is h(θ) = f(θ*) + J(θ − θ*),
// J = ∂f/∂θ (N² × n). With the block prior θ ~ N(0, Σ_θ) (Prior: per U-Net
// block a Matérn-½ Gaussian process over the 9 positions of each 3×3 filter,
// or an isotropic normal for 1×1 convs) and y = A x + N(0, σ_y² I):
//
//	Σ_xx = J Σ_θ Jᵀ,   K_yy = A Σ_xx Aᵀ + σ_y² I,
//	Σ_post = Σ_xx − Σ_xx Aᵀ K_yy⁻¹ A Σ_xx,
//
// and the predictive mean is the DIP output x̂ = f(θ*). The hyperparameters
// (σ_b², ℓ_b per block, σ_y²) are fitted by type-II maximum likelihood,
//
//	L = ½‖y − A x̂‖²/σ_y² + ½ θ̄ᵀΣ_θ⁻¹θ̄ + ½ log|K_yy|,
//
// with Adam (lr 0.01) on the log-hyperparameters, log-variances clamped at
// −6.9. θ̄ is Problem.Theta: the trained conv weights θ* by default, as in
// bayes_dip's experiments (use_linearized_weights = False).
//
// The reported std adds δ = σ_y² · mean diag((AᵀA)⁺) (ImageNoiseTerm, from a
// truncated SVD of A), which keeps pixels where J ≈ 0 (saturated sigmoid)
// from being certain.
//
// # Two regimes, one entry point
//
// Exact (m_y up to a few thousand): AJ is assembled by batched VJPs or JVPs,
// and K_yy is a weighted sum of precomputed matrices (six per 3×3 block: one
// per distinct distance between filter positions; one per 1×1 block), so
// each MLL step is a weighted sum, one Cholesky and one inverse with exact
// gradients. Posterior variances come in closed form, streaming rows of J.
//
// Matrix-free (larger): by default the subspace model (subspace.go): the
// model conditioned on Qᵀy, Q grown by randomized range finding until it
// misses at most 5% of the effective dimension; per-block Gram matrices
// make K_sub = Qᵀ K_yy Q exact for any scales, so the Laplace fixed point
// and Matheron samples need no CG (exact at r = m_y, conservative below).
// Alternatively the full model: K_yy v through J, Jᵀ, A, Aᵀ; batched CG
// with a randomized Nyström preconditioner; Matheron samples; Hutchinson
// estimates of tr(K_yy⁻¹ ∂K_yy) for the MLL gradient.
//
// Run chooses between them by size (Settings.Regime overrides), fits (by
// default Adam on the exact MLL in the exact regime and, in the
// matrix-free regime, the MacKay fixed point of the same Laplace MLL in
// the scales from moment-initialised hyperparameters, within the subspace; optionally the
// TV-PredCP hyperprior, or the EM of arXiv 2210.04994 on the linear
// model's evidence), and returns variances (subspace samples in the
// matrix-free regime unless SampleCG), δ and the std. GPrior rewrites
// a Problem for that paper's g-prior (Jacobian columns normalised by their
// scale in the data). Calibrate, PatchLogLik and the CovFunc
// adapters evaluate the result against a ground truth (test log-likelihood,
// patch log-likelihoods, coverage, binned error against σ, Spearman).
//
// # Example
//
//	prob := &linearised.Problem{J: jac, Blocks: net.PriorBlocks(), A: proj,
//		Y: y, Xhat: xhat, Theta: convWeights}
//	res, err := linearised.Run(ctx, prob, nil, linearised.Settings{}, rng,
//		func(step int, loss float64) { /* report */ })
//	// res.Std is the per-pixel uncertainty of xhat.
//
// # From a trained DIP
//
// NewDIPModel is the one path from a trained DIP slice (DIPSlice, or
// SliceOf a stored dip.Model) and its measurement to the model: it checks
// the stored image against the network, builds the Problem, centres the
// prior (θ₀ by default), chooses the regime and applies the g-prior.
// DefaultDIPSettings are `ctrecon uncertainty`'s defaults, which `study`
// and the experimental design (package design) share. A Result is a
// Posterior: mean, variances, σ_y² and samples drawn from the same model
// that produced the variances.
//
// Numerical trouble is reported, never hidden: a K_yy that needs diagonal
// jitter to factorise records it (Exact.Jitter, FitResult.Jitter); CG that
// misses its tolerance returns an error wrapping ErrCGNotConverged.
package linearised
