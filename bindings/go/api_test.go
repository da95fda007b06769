package multiproc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

func TestConnRecvInto(t *testing.T) {
	a, b := testPipe(t)
	ctx := context.Background()
	a.Send(ctx, []byte("hello"))
	small := make([]byte, 2)
	if n, err := b.RecvInto(ctx, small); !errors.Is(err, ErrNoSpace) || n != 5 {
		t.Fatalf("RecvInto a small buffer: %d %v, want 5 and ErrNoSpace", n, err)
	}
	buf := make([]byte, 16)
	if n, err := b.RecvInto(ctx, buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("RecvInto: %q %v", buf[:n], err)
	}
	a.Shutdown()
	if _, err := b.RecvInto(ctx, buf); !errors.Is(err, io.EOF) || !errors.Is(err, ErrClosed) {
		t.Fatalf("RecvInto at the end of the stream: %v", err)
	}
}

// The end of a stream matches io.EOF (and still ErrClosed), so that the
// usual Go loop ends: for { m, err := c.Recv(ctx); if errors.Is(err, io.EOF) ... }.
func TestEndOfStreamIsEOF(t *testing.T) {
	a, b := testPipe(t)
	a.Shutdown()
	_, err := b.Recv(context.Background())
	if !errors.Is(err, io.EOF) || !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after the peer closed: %v (io.EOF %v)", err, errors.Is(err, io.EOF))
	}
	q := testQueue(t, 0)
	q.Shutdown()
	if _, err := q.Get(context.Background()); !errors.Is(err, io.EOF) || !errors.Is(err, ErrClosed) {
		t.Fatalf("Get of a shut down queue: %v", err)
	}
	// Other errors are not the end of a stream.
	if err := q.Put(context.Background(), []byte("x")); errors.Is(err, io.EOF) || !errors.Is(err, ErrClosed) {
		t.Fatalf("Put to a shut down queue: %v", err)
	}
	if _, err := b.RecvTimeout(0); errors.Is(err, io.EOF) && !errors.Is(err, ErrClosed) {
		t.Fatalf("a timeout: %v", err)
	}
}

func TestDictGetInto(t *testing.T) {
	d, err := NewDict(4, 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Set([]byte("k"), []byte("value"))
	buf := make([]byte, 16)
	if n, err := d.GetInto([]byte("k"), buf); err != nil || string(buf[:n]) != "value" {
		t.Fatalf("GetInto: %q %v", buf[:n], err)
	}
	if n, err := d.GetInto([]byte("k"), buf[:3]); !errors.Is(err, ErrNoSpace) || n != 5 {
		t.Fatalf("GetInto a small buffer: %d %v", n, err)
	}
	if _, err := d.GetInto([]byte("no"), buf); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetInto of a missing key: %v", err)
	}
}

func TestValueNegativeIndex(t *testing.T) {
	v, err := NewValue(Int64, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "index -1 is out of range") {
			t.Errorf("%s(-1): %v", what, err)
		}
	}
	check("SetInt", v.SetInt(-1, 1))
	_, err = v.Int(-1)
	check("Int", err)
	_, err = v.Add(-1, 1)
	check("Add", err)
	_, _, err = v.CompareAndSwap(-1, 0, 1)
	check("CompareAndSwap", err)
	check("SetUint", v.SetUint(-1, 1))
	_, err = v.Uint(-1)
	check("Uint", err)
	f, _ := NewValue(Float64, 1, false)
	defer f.Close()
	check("SetFloat", f.SetFloat(-1, 1))
	_, err = f.Float(-1)
	check("Float", err)
}

func TestQueueNegativeMaxsizeMessage(t *testing.T) {
	_, err := NewQueue(-1)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "maxsize must be >= 0 (0: no limit)") {
		t.Fatalf("NewQueue(-1): %v", err)
	}
}

// A child started from a target registered after Main would run Main
// before that registration, and fail: NewProcess says so in Go words.
func TestTargetRegisteredAfterMain(t *testing.T) {
	if err := Register("registered_after_main", func([]byte) int { return 0 }); err != nil {
		t.Fatal(err)
	}
	p, err := NewProcess("registered_after_main", nil, nil)
	if err == nil {
		p.Start()
		p.Join(context.Background())
		code, _ := p.ExitCode()
		t.Fatalf("NewProcess of a target registered after Main: no error (the child exited %d)", code)
	}
	if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "multiproc.Register before multiproc.Main") {
		t.Fatalf("NewProcess: %v", err)
	}
}

// noMainEnv makes the test binary skip Main and try to start a process
// and a pool (see TestMain), printing the errors.
const noMainEnv = "MULTIPROC_GO_TEST_NO_MAIN"

// runWithoutMain is what the test binary does under noMainEnv.
func runWithoutMain() {
	p, err := NewProcess("exit_with", []byte("0"), nil)
	if err == nil {
		err = p.Start()
	}
	os.Stdout.WriteString("process: " + errString(err) + "\n")
	pool, err := NewPool(&PoolOptions{Workers: 1})
	if err == nil {
		pool.Terminate()
	}
	os.Stdout.WriteString("pool: " + errString(err) + "\n")
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestWithoutMainTheErrorNamesGo(t *testing.T) {
	c := Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), noMainEnv+"=1")
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.Contains(line, "call multiproc.Main") || strings.Contains(line, "mp_main") {
			t.Errorf("without Main: %s", line)
		}
	}
	if !bytes.Contains(out, []byte("pool: ")) {
		t.Errorf("output: %s", out)
	}
}
