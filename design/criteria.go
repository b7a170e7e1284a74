package design

import (
	"fmt"
	"math"
)

// Criterion scores a candidate angle.
type Criterion int

const (
	// EIG is the expected information gain ½ log det(I + Ĉ_a/σ_y²).
	EIG Criterion = iota
	// DiagEIG keeps only the diagonal of Ĉ_a: Σ_k ½ log(1 + Ĉ_a,kk/σ_y²).
	DiagEIG
	// Variance is the mean predictive variance of the angle's bins (the
	// reference code's default).
	Variance
)

func (c Criterion) String() string {
	switch c {
	case DiagEIG:
		return "diag-eig"
	case Variance:
		return "var"
	}
	return "eig"
}

// ParseCriterion reads eig, diag-eig or var.
func ParseCriterion(s string) (Criterion, error) {
	for _, c := range []Criterion{EIG, DiagEIG, Variance} {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("criterion %q: want eig, diag-eig or var", s)
}

// score returns a non-EIG criterion from a candidate's per-bin predictive
// variances diag, or halfLogDet (½ log det(I + Ĉ/σ²)) for EIG.
func score(crit Criterion, diag []float64, noiseVar, halfLogDet float64) float64 {
	switch crit {
	case DiagEIG:
		var s float64
		for _, v := range diag {
			s += 0.5 * math.Log1p(math.Max(v, 0)/noiseVar)
		}
		return s
	case Variance:
		var s float64
		for _, v := range diag {
			s += v
		}
		return s / float64(len(diag))
	}
	return halfLogDet
}

// halfLogDetI returns ½ log det(I + M/σ²) of a symmetric positive
// semi-definite d×d matrix M (overwritten) by Cholesky in float64.
func halfLogDetI(m []float64, d int, noiseVar float64) (float64, error) {
	for i := 0; i < d; i++ {
		for j := 0; j <= i; j++ {
			m[i*d+j] /= noiseVar
		}
		m[i*d+i]++
	}
	if err := cholesky(m, d); err != nil {
		return 0, err
	}
	var s float64
	for j := 0; j < d; j++ {
		s += math.Log(m[j*d+j])
	}
	return s, nil // ½ log det = Σ log L_jj
}
