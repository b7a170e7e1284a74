package radon

import (
	"sync"

	"github.com/ctrecon/ctrecon/linop"
)

// Backend makes ray transforms that run somewhere other than this CPU code
// (package cuda's GPU projector). Its operators must be the same matched
// pair A, Aᵀ as Projector's, to float32 rounding.
type Backend interface {
	// Name says where the operators run, for logs and fingerprints.
	Name() string
	// NewOperator returns the ray transform of a valid geometry.
	NewOperator(g Geometry) (linop.BatchOperator, error)
}

var (
	backendMu sync.RWMutex
	backend   Backend
)

// SetBackend makes NewOperator use b (nil: the CPU projector). A command
// sets it once, from its --device flag, before any work.
func SetBackend(b Backend) {
	backendMu.Lock()
	defer backendMu.Unlock()
	backend = b
}

// BackendName is the backend's name, or "cpu".
func BackendName() string {
	backendMu.RLock()
	defer backendMu.RUnlock()
	if backend == nil {
		return "cpu"
	}
	return backend.Name()
}

// NewOperator is the one factory for the ray transform of g that ctrecon's
// reconstructions and designs use: the backend's (a GPU) when one is set,
// otherwise the CPU Projector. An invalid geometry is an error.
func NewOperator(g Geometry) (linop.BatchOperator, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	backendMu.RLock()
	b := backend
	backendMu.RUnlock()
	if b != nil {
		return b.NewOperator(g)
	}
	return NewProjectorChecked(g)
}
