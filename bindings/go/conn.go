package multiproc

import (
	"context"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

// Conn is one end of a connection (Python's Connection): whole byte
// messages, in order, in one or both directions. The wire format is
// CPython's, so a Python Connection can be the peer.
type Conn struct{ h handle }

// Flags of OpenConn and InheritConn.
const (
	Readable = capi.MP_CONN_READABLE
	Writable = capi.MP_CONN_WRITABLE
)

func newConn(c capi.Conn) *Conn {
	conn := &Conn{h: handle{p: uintptr(c), free: func(p uintptr) { capi.Mp_conn_free(capi.Conn(p)) }}}
	setFinalizer(conn)
	return conn
}

// Pipe creates a connected pair of ends (Python's Pipe(duplex)). With
// duplex false, a only receives and b only sends.
func Pipe(duplex bool) (a, b *Conn, err error) {
	var ca, cb capi.Conn
	if err := check("pipe", func() int { return capi.Mp_pipe(&ca, &cb, boolInt(duplex)) }); err != nil {
		return nil, nil, err
	}
	return newConn(ca), newConn(cb), nil
}

// OpenConn opens, in a child, the end passed at index i (ProcessOptions
// Handles), readable and writable as flags says.
func OpenConn(i int, flags int) (*Conn, error) {
	var c capi.Conn
	err := check("open conn", func() int {
		fd := capi.Mp_child_fd(int64(i))
		if fd < 0 {
			return fd
		}
		return capi.Mp_conn_from_fd(&c, fd, flags)
	})
	if err != nil {
		return nil, err
	}
	return newConn(c), nil
}

// InheritConn opens, in a command's program, the end passed under name
// with Cmd.PassConn.
func InheritConn(name string, flags int) (*Conn, error) {
	var c capi.Conn
	if err := check("inherit conn", func() int { return capi.Mp_conn_inherit(&c, name, flags) }); err != nil {
		return nil, err
	}
	return newConn(c), nil
}

func (c *Conn) fileno() (int, error) {
	return c.h.fd("conn fileno", func(p uintptr) int { return capi.Mp_conn_fileno(capi.Conn(p)) })
}

// Send sends one message, waiting while the peer does not read, until ctx
// is done. Errors: ErrBrokenPipe (the peer end is closed everywhere),
// ErrClosed (this end was closed).
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	_, err := c.h.wait(ctx, "conn send", forever, func(p uintptr, ms int64) int {
		return capi.Mp_conn_send(capi.Conn(p), msg, ms)
	})
	return err
}

// Recv receives one message, waiting until one arrives or ctx is done.
// Errors: ErrClosed at the end of the stream (the peer closed and every
// message was received: Python's EOFError; the error also matches io.EOF),
// ErrMsgSize.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) { return c.recv(ctx, forever) }

// RecvTimeout is Recv with a timeout instead of a context: ErrTimeout
// if no whole message came within d.
// A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
//
// Deprecated: use Recv with a context from context.WithTimeout, the one
// form of every blocking call (see the package documentation); RecvTimeout
// stays for the callers of 0.1.
func (c *Conn) RecvTimeout(d time.Duration) ([]byte, error) {
	return c.recv(context.Background(), timeoutOf(d))
}

func (c *Conn) recv(ctx context.Context, limit int64) ([]byte, error) {
	var msg []byte
	_, err := c.h.wait(ctx, "conn recv", limit, func(p uintptr, ms int64) int {
		return capi.Mp_conn_recv(&msg, capi.Conn(p), ms)
	})
	if err != nil {
		return nil, endOfStream(err)
	}
	return msg, nil
}

// RecvInto receives one message into buf and returns its length
// (recv_bytes_into), waiting as Recv. If buf is too small the message
// stays for the next receive and the error is ErrNoSpace with n the size
// needed. Other errors as Recv (the end of the stream matches io.EOF).
func (c *Conn) RecvInto(ctx context.Context, buf []byte) (n int, err error) {
	var got int64
	_, err = c.h.wait(ctx, "conn recv", forever, func(p uintptr, ms int64) int {
		return capi.Mp_conn_recv_into(&got, capi.Conn(p), buf, ms)
	})
	return int(got), endOfStream(err)
}

// Poll reports whether a message (or the end of the stream) can be
// received within d. A d <= 0 asks about now, without waiting (see
// Timeouts in the package documentation).
func (c *Conn) Poll(d time.Duration) (bool, error) {
	rc, err := c.h.wait(context.Background(), "conn poll", timeoutOf(d), func(p uintptr, ms int64) int {
		return capi.Mp_conn_poll(capi.Conn(p), ms)
	})
	return rc == 1, err
}

// SetMaxMessage sets the largest message this end accepts (default 1 GiB).
func (c *Conn) SetMaxMessage(max int) error {
	_, err := c.h.do("conn max message", func(p uintptr) int { return capi.Mp_conn_set_max_message(capi.Conn(p), int64(max)) })
	return err
}

// Shutdown closes this end's descriptor while keeping the object (Python's
// Connection.close): later calls get ErrClosed, and the peer sees the
// end of the stream once every copy of this end is closed.
func (c *Conn) Shutdown() error {
	_, err := c.h.do("conn close", func(p uintptr) int { return capi.Mp_conn_close(capi.Conn(p)) })
	return err
}

// Close closes and releases this end.
func (c *Conn) Close() error {
	closeObject(c, &c.h)
	return nil
}
