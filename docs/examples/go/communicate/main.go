// Popen(stdin=PIPE, stdout=PIPE, stderr=PIPE).communicate(input) and
// returncode. Port of docs/examples/c/example_communicate.c; same output.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"multiproc.dev/multiproc"
)

// popenCommunicate runs program with input on stdin, prints both streams
// and the exit code, and returns the exit code.
func popenCommunicate(program, input string) (int, error) {
	cmd := multiproc.Command(program)
	cmd.Env = append(os.Environ(), "LC_ALL=C") // byte order for sort
	out, errOut, err := cmd.Communicate(context.Background(), []byte(input))
	var exit *multiproc.ExitError
	if err != nil && !errors.As(err, &exit) {
		return 0, err
	}
	code, err := cmd.Process.ExitCode() // p.returncode
	if err != nil {
		return 0, err
	}
	fmt.Printf("$ %s\n", program)
	fmt.Printf("--- stdout (%d bytes) ---\n%s", len(out), out)
	fmt.Printf("--- stderr (%d bytes) ---\n%s", len(errOut), errOut)
	fmt.Printf("Exit code: %d\n", code)
	return code, nil
}

func main() {
	multiproc.Main()
	code, err := popenCommunicate("sort", "pear\napple\nfig\nbanana\n")
	if err != nil || code != 0 {
		fmt.Fprintln(os.Stderr, "sort:", err)
		os.Exit(1)
	}
	fmt.Println()
	// Like nslookup, sh reads its commands from stdin until "exit".
	const script = "x=41\n" +
		"echo \"the answer is $((x + 1))\"\n" +
		"echo 'a line on stderr' >&2\n" +
		"exit 5\n" +
		"echo 'never reached'\n"
	code, err = popenCommunicate("sh", script)
	if err != nil || code != 5 {
		fmt.Fprintln(os.Stderr, "sh:", err)
		os.Exit(1)
	}
}
