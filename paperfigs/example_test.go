package paperfigs_test

import (
	"context"
	"io"
	"log"
	"os"
	"os/exec"

	"github.com/ctrecon/ctrecon/paperfigs"
)

// Making two of the figures with an installed ctrecon binary: the Maker
// decides which command lines to run and draws from their outputs; Exec
// runs each one (the CLI's `figures` command runs them in-process instead).
// A second call finds every output in figs/ and only draws.
func Example() {
	m := &paperfigs.Maker{Dir: "figs", Settings: paperfigs.Quick, Seed: 1,
		Exec: func(ctx context.Context, args []string, stdout io.Writer) error {
			cmd := exec.CommandContext(ctx, "ctrecon", append([]string{"--seed", "1", "-q"}, args...)...)
			cmd.Stdout, cmd.Stderr = stdout, os.Stderr
			return cmd.Run()
		},
		Logf: log.Printf}
	if err := m.Make(context.Background(), []string{"recon", "uncertainty"}); err != nil {
		log.Fatal(err)
	}
}
