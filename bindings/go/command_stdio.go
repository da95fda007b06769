// A Cmd's standard streams: pipes, the goroutines that copy them to the
// caller's readers and writers, and the os/exec pipe rules.

package multiproc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

func (c *Cmd) configureStdio(cmd capi.Cmd) error {
	for i := streamIn; i <= streamErr; i++ {
		mode, f, err := c.childStream(i)
		if err != nil {
			return err
		}
		if err := check("command stdio", func() int {
			if f != nil {
				return capi.Mp_cmd_set_stdio_fd(cmd, cStreams[i], int(f.Fd()))
			}
			return capi.Mp_cmd_set_stdio(cmd, cStreams[i], mode)
		}); err != nil {
			return err
		}
	}
	return nil
}

// childStream is what the child's stream i is: a C stdio mode, or a file
// (f != nil). A reader or writer gets a pipe of ours and a copier.
func (c *Cmd) childStream(i int) (mode cStdio, f *os.File, err error) {
	s := [3]interface{}{c.Stdin, c.Stdout, c.Stderr}[i]
	switch {
	case c.pipes[i]:
		return capi.MP_STDIO_PIPE, nil, nil
	case i == streamErr && s != nil && interfaceEqual(s, c.Stdout):
		return capi.MP_STDIO_STDOUT, nil, nil // the child's stderr is its stdout
	case s == nil || isNil(s):
		return capi.MP_STDIO_NULL, nil, nil
	case isFile(s):
		return 0, s.(*os.File), nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, nil, &Error{Code: ErrSystem, Op: "command stdio", Msg: err.Error()}
	}
	if i == streamIn {
		c.keepPipe(pr, pw)
		c.copiers = append(c.copiers, func() error { return feed(pw, c.Stdin) })
		return 0, pr, nil
	}
	c.keepPipe(pw, pr)
	w := s.(io.Writer)
	c.copiers = append(c.copiers, func() error { return drain(w, pr) })
	return 0, pw, nil
}

// keepPipe records a pipe: the child's end is closed after the spawn,
// ours when Wait is done.
func (c *Cmd) keepPipe(child, parent *os.File) {
	c.childFiles = append(c.childFiles, child)
	c.parentFiles = append(c.parentFiles, parent)
}

// interfaceEqual is a == b, false for values that cannot be compared.
func interfaceEqual(a, b interface{}) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a == b
}

func isFile(s interface{}) bool {
	f, ok := s.(*os.File)
	return ok && f != nil
}

// isNil catches a typed nil in an interface (a nil *bytes.Buffer).
func isNil(s interface{}) bool {
	switch v := s.(type) {
	case *os.File:
		return v == nil
	case *bytes.Buffer:
		return v == nil
	}
	return false
}

// drain copies the child's output pipe r to w. When w fails it closes r
// at once, so that a child writing more gets EPIPE instead of blocking
// on a full pipe, and Wait returns (os/exec's TestClosePipeOnCopyError).
func drain(w io.Writer, r *os.File) error {
	_, err := io.Copy(w, r)
	r.Close()
	return err
}

// feed copies r to the child's stdin and closes it; a child that stops
// reading early is not an error (as with Python's communicate and
// os/exec).
func feed(w *os.File, r io.Reader) error {
	_, err := io.Copy(w, r)
	if errors.Is(err, syscall.EPIPE) {
		err = nil
	}
	if cerr := w.Close(); err == nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr
	}
	return err
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// startCopiers starts the goroutines serving the streams; copyDone gets
// the first error once all of them have returned.
func (c *Cmd) startCopiers() {
	if len(c.copiers) == 0 {
		return
	}
	done := make(chan error, 1)
	c.copyDone = done
	var mu sync.Mutex
	running, first := len(c.copiers), error(nil)
	for _, f := range c.copiers {
		go func(f func() error) {
			err := f()
			mu.Lock()
			defer mu.Unlock()
			if first == nil {
				first = err
			}
			if running--; running == 0 {
				done <- first
			}
		}(f)
	}
	c.copiers = nil
}

// defaultWaitDelay is WaitDelay's 0 for the streams: mp_process_communicate's bound.
const defaultWaitDelay = 250 * time.Millisecond

// awaitCopiers waits for the copiers until deadline (zero: WaitDelay from
// now), then closes our ends of the pipes, which ends them at once. It
// returns the copiers' first error, or ErrWaitDelay when an explicit
// WaitDelay had to cut them.
func (c *Cmd) awaitCopiers(deadline time.Time) error {
	if c.copyDone == nil {
		return nil
	}
	select {
	case err := <-c.copyDone:
		return err
	default:
	}
	if deadline.IsZero() {
		delay := c.WaitDelay
		if delay == 0 {
			delay = defaultWaitDelay
		}
		deadline = time.Now().Add(delay)
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case err := <-c.copyDone:
		return err
	case <-t.C:
	}
	closeFiles(c.parentFiles)
	<-c.copyDone // their errors come from the close
	if c.WaitDelay == 0 {
		return nil // the default bound cuts without an error (see WaitDelay)
	}
	return ErrWaitDelay
}

// StdinPipe returns a pipe to the child's stdin, usable before Start (a
// write blocks once the pipe is full until the child reads). Close it so
// that the child reads the end of input; Wait closes it too.
func (c *Cmd) StdinPipe() (io.WriteCloser, error) {
	if c.Stdin != nil {
		return nil, errStdinSet
	}
	if c.Process != nil {
		return nil, &execError{"exec: StdinPipe after process started", ErrState}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, &Error{Code: ErrSystem, Op: "stdin pipe", Msg: err.Error()}
	}
	c.Stdin = pr
	c.keepPipe(pr, pw)
	return pw, nil
}

// StdoutPipe returns a pipe from the child's stdout, readable after Start.
// Wait closes it once the child has ended: read everything first. Closing
// it early makes the child's writes fail (EPIPE) instead of blocking.
func (c *Cmd) StdoutPipe() (io.ReadCloser, error) {
	if c.Stdout != nil {
		return nil, errStdoutSet
	}
	if c.Process != nil {
		return nil, &execError{"exec: StdoutPipe after process started", ErrState}
	}
	pr, pw, err := c.outPipe()
	if err == nil {
		c.Stdout = pw
	}
	return pr, err
}

// StderrPipe returns a pipe from the child's stderr, as StdoutPipe.
func (c *Cmd) StderrPipe() (io.ReadCloser, error) {
	if c.Stderr != nil {
		return nil, errStderrSet
	}
	if c.Process != nil {
		return nil, &execError{"exec: StderrPipe after process started", ErrState}
	}
	pr, pw, err := c.outPipe()
	if err == nil {
		c.Stderr = pw
	}
	return pr, err
}

func (c *Cmd) outPipe() (io.ReadCloser, *os.File, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, &Error{Code: ErrSystem, Op: "output pipe", Msg: err.Error()}
	}
	c.keepPipe(pw, pr)
	return pr, pw, nil
}
