package linop

// Composition is A·B (B applied first). Its Adjoint is Bᵀ·Aᵀ.
type Composition struct {
	A, B Operator
	tmp  []float32
}

// Compose returns the operator x ↦ A(B x). It panics with ErrShape when the
// inner dimensions differ. The result keeps a scratch buffer and is not safe
// for concurrent use.
func Compose(a, b Operator) *Composition {
	_, an := a.Dims()
	bm, _ := b.Dims()
	checkLen("Compose inner dimension", bm, an)
	return &Composition{A: a, B: b, tmp: make([]float32, an)}
}

func (c *Composition) Dims() (int, int) {
	m, _ := c.A.Dims()
	_, n := c.B.Dims()
	return m, n
}

func (c *Composition) Apply(dst, x []float32) {
	CheckDims(c, dst, x, true)
	c.B.Apply(c.tmp, x)
	c.A.Apply(dst, c.tmp)
}

func (c *Composition) Adjoint(dst, y []float32) {
	CheckDims(c, dst, y, false)
	c.A.Adjoint(c.tmp, y)
	c.B.Adjoint(dst, c.tmp)
}

// Scaled is s·A.
type Scaled struct {
	S  float32
	Op Operator
}

func (s Scaled) Dims() (int, int) { return s.Op.Dims() }

func (s Scaled) Apply(dst, x []float32) {
	s.Op.Apply(dst, x)
	for i := range dst {
		dst[i] *= s.S
	}
}

func (s Scaled) Adjoint(dst, y []float32) {
	s.Op.Adjoint(dst, y)
	for i := range dst {
		dst[i] *= s.S
	}
}

// Dense is an explicit m×n row-major matrix, for tests and for small
// assembled operators.
type Dense struct {
	M, N int
	Data []float32 // row-major, len M*N
}

// NewDense wraps data (row-major m×n) without copying.
func NewDense(m, n int, data []float32) *Dense {
	checkLen("NewDense data", len(data), m*n)
	return &Dense{M: m, N: n, Data: data}
}

func (d *Dense) Dims() (int, int) { return d.M, d.N }

func (d *Dense) Apply(dst, x []float32) {
	CheckDims(d, dst, x, true)
	for i := 0; i < d.M; i++ {
		row := d.Data[i*d.N : (i+1)*d.N]
		var s float64
		for j, v := range row {
			s += float64(v) * float64(x[j])
		}
		dst[i] = float32(s)
	}
}

func (d *Dense) Adjoint(dst, y []float32) {
	CheckDims(d, dst, y, false)
	acc := make([]float64, d.N)
	for i := 0; i < d.M; i++ {
		yi := float64(y[i])
		row := d.Data[i*d.N : (i+1)*d.N]
		for j, v := range row {
			acc[j] += yi * float64(v)
		}
	}
	for j := range dst {
		dst[j] = float32(acc[j])
	}
}

// Assemble returns the dense matrix of op by applying it to the unit vectors.
// It costs n applications; use it for tests and small operators only.
func Assemble(op Operator) *Dense {
	m, n := op.Dims()
	d := &Dense{M: m, N: n, Data: make([]float32, m*n)}
	e := make([]float32, n)
	col := make([]float32, m)
	for j := 0; j < n; j++ {
		e[j] = 1
		op.Apply(col, e)
		e[j] = 0
		for i := 0; i < m; i++ {
			d.Data[i*n+j] = col[i]
		}
	}
	return d
}
