package multiproc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// testPipe is a duplex pipe whose ends are closed when the test ends (a
// test may close one sooner: Close again is a no-op).
func testPipe(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	a, b, err := Pipe(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestPipeSendRecvAndEOF(t *testing.T) {
	a, b := testPipe(t)
	ctx := context.Background()
	if err := a.Send(ctx, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if m, err := b.Recv(ctx); err != nil || string(m) != "ping" {
		t.Fatalf("recv %q %v", m, err)
	}
	if m, err := b.Recv(ctx); err != nil || len(m) != 0 {
		t.Fatalf("empty message %q %v", m, err)
	}
	if ok, _ := b.Poll(0); ok {
		t.Fatal("poll: ready with nothing sent")
	}
	if _, err := b.RecvTimeout(20 * time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("recv timeout: %v", err)
	}
	type point struct{ X, Y int }
	if err := b.SendJSON(ctx, point{1, 2}); err != nil {
		t.Fatal(err)
	}
	var p point
	if err := a.RecvJSON(ctx, &p); err != nil || p != (point{1, 2}) {
		t.Fatalf("json %v %v", p, err)
	}
	a.Shutdown()
	if _, err := b.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("recv after peer close: %v", err)
	}
	if err := a.Send(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("send on closed end: %v", err)
	}
}

func TestPipeOneWay(t *testing.T) {
	r, w, err := Pipe(false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := r.Send(context.Background(), []byte("x")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("send on receive-only end: %v", err)
	}
}

func TestConnEchoChild(t *testing.T) {
	a, b := testPipe(t)
	p := start(t, "conn_echo", "", b)
	b.Close() // the child holds its copy
	for _, m := range []string{"one", "two"} {
		if err := a.Send(context.Background(), []byte(m)); err != nil {
			t.Fatal(err)
		}
		got, err := a.RecvTimeout(30 * time.Second)
		if err != nil || string(got) != map[string]string{"one": "ONE", "two": "TWO"}[m] {
			t.Fatalf("echo %q %v", got, err)
		}
	}
	a.Shutdown()
	p.JoinTimeout(30 * time.Second)
	if code, _ := p.ExitCode(); code != 0 {
		t.Fatalf("child exit %d", code)
	}
}

func TestConnPeerKilledGivesEOF(t *testing.T) {
	a, b := testPipe(t)
	p := start(t, "conn_echo", "", b)
	b.Close()
	p.Kill()
	if _, err := a.RecvTimeout(30 * time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("recv from killed peer: %v", err)
	}
}
