package nn

// PriorBlock names one group of conv weights that share a prior in the
// linearised model (DESIGN.md §5): all 3×3 filters of one U-Net block
// (Kernel 3, a Matérn-½ GP over the 9 filter positions), or the weights of one
// 1×1 conv (Kernel 1, an isotropic normal prior).
//
// Offset and Len index the linearised weight vector: the concatenation of the
// conv weights the Jacobian is taken with respect to, ordered so that every
// PriorBlock is one contiguous range. For Kernel 3, Len is a multiple of 9 and
// each consecutive 9 values are one 3×3 filter in row-major (ky, kx) order.
type PriorBlock struct {
	Name   string // e.g. "in", "down0", "up2", "skip1", "out"
	Kernel int    // 3 or 1
	Offset int
	Len    int
}
