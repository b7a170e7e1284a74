package pipeline

// Progress is a progress bar: Add advances it, Skip counts the steps a
// resumed run had already done (in the bar, not in its estimate of the
// time left), Describe changes its text, Finish closes it.
type Progress interface {
	Add(steps int)
	Skip(steps int)
	Describe(text string)
	Finish()
}

// Hooks connect a run to its caller. Any of them may be nil.
type Hooks struct {
	// Logf prints a line for the user (the CLI's log, silenced by -q).
	Logf func(format string, args ...any)
	// Debugf prints a line for -v.
	Debugf func(format string, args ...any)
	// NewBar starts a progress bar of total steps (total < 0: unknown).
	NewBar func(total int, what string) Progress
	// CheckMemory refuses a job that would need more than the machine has
	// (need in bytes), before anything is started or written.
	CheckMemory func(what string, need int64) error
	// AfterCheckpoint runs after each checkpoint is saved (tests interrupt
	// runs there).
	AfterCheckpoint func()
}

func (h Hooks) logf(format string, args ...any) {
	if h.Logf != nil {
		h.Logf(format, args...)
	}
}

func (h Hooks) debugf(format string, args ...any) {
	if h.Debugf != nil {
		h.Debugf(format, args...)
	}
}

func (h Hooks) bar(total int, what string) Progress {
	if h.NewBar != nil {
		return h.NewBar(total, what)
	}
	return noBar{}
}

func (h Hooks) checkMemory(what string, need int64) error {
	if h.CheckMemory != nil {
		return h.CheckMemory(what, need)
	}
	return nil
}

type noBar struct{}

func (noBar) Add(int)         {}
func (noBar) Skip(int)        {}
func (noBar) Describe(string) {}
func (noBar) Finish()         {}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
