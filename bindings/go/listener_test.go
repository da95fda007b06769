package multiproc

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testKey = []byte("go secret")

func listenT(t *testing.T, address string, opts ListenerOptions) *Listener {
	t.Helper()
	l, err := Listen(address, opts)
	if err != nil {
		t.Fatalf("Listen(%s): %v", address, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// exchangeT sends a message each way between an accepted pair.
func exchangeT(t *testing.T, server, client *Conn) {
	t.Helper()
	ctx := context.Background()
	if err := client.Send(ctx, []byte("from the client")); err != nil {
		t.Fatal(err)
	}
	if m, err := server.Recv(ctx); err != nil || string(m) != "from the client" {
		t.Fatalf("server recv %q %v", m, err)
	}
	if err := server.Send(ctx, []byte("from the listener")); err != nil {
		t.Fatal(err)
	}
	if m, err := client.Recv(ctx); err != nil || string(m) != "from the listener" {
		t.Fatalf("client recv %q %v", m, err)
	}
}

func TestListenerDialBothSchemes(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "l.sock")
	for _, address := range []string{"tcp://127.0.0.1:0", "unix:" + sock} {
		l := listenT(t, address, ListenerOptions{AuthKey: testKey})
		addr := l.Addr().String()
		if strings.HasSuffix(addr, ":0") || l.Addr().Network() != address[:strings.IndexByte(address, ':')] {
			t.Fatalf("Addr %q (network %s) for %s", addr, l.Addr().Network(), address)
		}
		var _ net.Addr = l.Addr()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, err := Dial(ctx, addr, testKey)
		if err != nil {
			t.Fatalf("Dial(%s): %v", addr, err)
		}
		s, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		exchangeT(t, s, c)
		c.Close()
		s.Close()
		cancel()
		if strings.HasPrefix(address, "unix:") {
			if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("socket file: %v %v", fi, err)
			}
			l.Close()
			if _, err := os.Stat(sock); !os.IsNotExist(err) {
				t.Fatalf("socket file still there after Close: %v", err)
			}
		}
	}
}

func TestListenerWrongKey(t *testing.T) {
	l := listenT(t, "tcp://127.0.0.1:0", ListenerOptions{AuthKey: testKey})
	ctx := context.Background()
	if _, err := Dial(ctx, l.Addr().String(), []byte("wrong")); !errors.Is(err, ErrAccess) {
		t.Fatalf("Dial with a wrong key: %v, want ErrAccess", err)
	}
	if _, err := l.Accept(ctx); !errors.Is(err, ErrAccess) || !strings.Contains(err.Error(), "peer 127.0.0.1:") {
		t.Fatalf("Accept of a wrong key: %v, want ErrAccess naming the peer", err)
	}
	// Then a good peer.
	c, err := Dial(ctx, l.Addr().String(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exchangeT(t, s, c)
}

func TestListenerRefusesTCPWithoutKey(t *testing.T) {
	if _, err := Listen("tcp://127.0.0.1:0", ListenerOptions{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tcp:// without a key: %v, want ErrInvalid", err)
	}
	l := listenT(t, "tcp://127.0.0.1:0", ListenerOptions{AllowNoAuth: true})
	c, err := Dial(context.Background(), l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exchangeT(t, s, c)
}

func TestListenerAcceptContext(t *testing.T) {
	l := listenT(t, "tcp://127.0.0.1:0", ListenerOptions{AuthKey: testKey})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.Accept(ctx)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Accept past the deadline: %v", err)
	}
	if d := time.Since(start); d < 80*time.Millisecond || d > 10*time.Second {
		t.Fatalf("Accept returned after %v", d)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel2() }()
	if _, err := l.Accept(ctx2); !errors.Is(err, context.Canceled) {
		t.Fatalf("Accept canceled: %v", err)
	}
}

func TestListenerCloseWakesAccept(t *testing.T) {
	l, err := Listen("tcp://127.0.0.1:0", ListenerOptions{AuthKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept(context.Background())
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Accept after Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still waits after Close")
	}
	if err := l.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := l.Accept(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Accept on a closed listener: %v", err)
	}
}

func TestListenerErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		address string
		want    Code
	}{
		{"tcp://127.0.0.1", ErrInvalid},
		{"unix:relative", ErrInvalid},
		{"unix:/tmp/x.sock#name", ErrInvalid},
		{"redis://localhost", ErrInvalid}, // a Listener serves no redis://
	} {
		if _, err := Listen(tc.address, ListenerOptions{AuthKey: testKey}); !errors.Is(err, tc.want) {
			t.Errorf("Listen(%s): %v, want %v", tc.address, err, tc.want)
		}
		if _, err := Dial(ctx, tc.address, nil); !errors.Is(err, tc.want) {
			t.Errorf("Dial(%s): %v, want %v", tc.address, err, tc.want)
		}
	}
	sock := filepath.Join(t.TempDir(), "taken")
	if err := os.WriteFile(sock, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen("unix:"+sock, ListenerOptions{}); !errors.Is(err, ErrExist) {
		t.Fatalf("Listen at an existing file: %v, want ErrExist", err)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Fatal("the existing file was removed:", err)
	}
	if _, err := Dial(ctx, "unix:"+sock+".none", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Dial to no socket file: %v", err)
	}
	mustPanicNilContext(t, "Dial", func() { Dial(nil, "unix:"+sock, nil) }) //nolint:staticcheck
	l := listenT(t, "unix:"+sock+".l", ListenerOptions{})
	mustPanicNilContext(t, "Accept", func() { l.Accept(nil) }) //nolint:staticcheck
}
