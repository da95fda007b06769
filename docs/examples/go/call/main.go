// subprocess.call, check_output, run(capture_output=True, env=...),
// run(timeout=...) -> TimeoutExpired, a missing program ->
// FileNotFoundError. Port of docs/examples/c/example_call.c; same output.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"multiproc.dev/multiproc"
)

// exitCode is the exit code of a command that ran (nil or *ExitError).
func exitCode(err error) (int, error) {
	var exit *multiproc.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}

// r = subprocess.call(argv): inherit stdout, return the exit code.
func demoCall() error {
	fmt.Println("$ sh -c 'echo hello from sh; exit 3'")
	cmd := multiproc.Command("sh", "-c", "echo hello from sh; exit 3")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	code, err := exitCode(cmd.Run())
	if err != nil {
		return err
	}
	fmt.Printf("Exit code: %d\n", code)
	if code != 3 {
		return errors.New("expected exit code 3")
	}
	return nil
}

// out = subprocess.check_output(argv)
func demoCheckOutput() error {
	fmt.Println("$ echo captured text   (check_output)")
	out, err := multiproc.Command("echo", "captured", "text").Output()
	if err != nil { // check_output raises CalledProcessError
		return err
	}
	fmt.Printf("output: %d bytes: %s", len(out), out)
	return nil
}

// subprocess.run(argv, capture_output=True, env=...): a failing command.
func demoFailingCommand() error {
	fmt.Println("$ cat /no/such/file   (run, capture_output=True)")
	var out, errOut bytes.Buffer
	cmd := multiproc.Command("cat", "/no/such/file")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = append(os.Environ(), "LC_ALL=C") // an untranslated message
	code, err := exitCode(cmd.Run())
	if err != nil {
		return err
	}
	fmt.Printf("Exit code: %d\n", code)
	fmt.Printf("stdout: %d bytes\n", out.Len())
	fmt.Printf("stderr: %s", errOut.Bytes())
	if code == 0 {
		return errors.New("expected a failure")
	}
	return nil
}

// subprocess.run(['sleep', '5'], timeout=0.2) raises TimeoutExpired. As
// with os/exec, the context kills the child and Run reports that death.
func demoTimeout() error {
	fmt.Println("$ sleep 5   (run, timeout=0.2)")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := multiproc.CommandContext(ctx, "sleep", "5").Run() // killed and reaped
	var exit *multiproc.ExitError
	if !errors.As(err, &exit) || ctx.Err() != context.DeadlineExceeded {
		return fmt.Errorf("expected the kill of a timed-out command, got %v", err)
	}
	fmt.Printf("TimeoutExpired: %s: %s\n", multiproc.ErrTimeout.Name(), multiproc.ErrTimeout.Error())
	return nil
}

// subprocess.call(['/no/such/program']) raises FileNotFoundError.
func demoMissingProgram() error {
	fmt.Println("$ /no/such/program")
	err := multiproc.Command("/no/such/program").Run()
	var e *multiproc.Error
	if !errors.As(err, &e) || e.Code != multiproc.ErrNotFound {
		return fmt.Errorf("expected ErrNotFound, got %v", err)
	}
	fmt.Fprintf(os.Stderr, "(detail: %s)\n", e.Msg) // varies: on stderr
	fmt.Printf("FileNotFoundError: %s: %s\n", e.Code.Name(), e.Code.Error())
	return nil
}

func main() {
	multiproc.Main()
	demos := []func() error{demoCall, demoCheckOutput, demoFailingCommand, demoTimeout, demoMissingProgram}
	for i, demo := range demos {
		if i > 0 {
			fmt.Println()
		}
		if err := demo(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
