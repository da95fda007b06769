package multiproc

import (
	"context"
	"strings"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

// ListenerOptions configure Listen. The zero value is a listener with no
// authkey, which Listen refuses for a tcp:// address unless AllowNoAuth.
type ListenerOptions struct {
	// AuthKey is the key every peer must prove it knows (Python's
	// authkey; at most 4096 bytes). nil or empty: no handshake.
	AuthKey []byte
	// AllowNoAuth lets a tcp:// listener run without an AuthKey: anyone
	// who reaches the port may connect.
	AllowNoAuth bool
	// Backlog is listen()'s backlog (0: 128).
	Backlog int
	// HandshakeTimeout bounds each peer's handshake (0: 5 s); a slower
	// peer is dropped without holding up the others.
	HandshakeTimeout time.Duration
}

// Listener accepts connections at a tcp://host:port or unix: address
// (Python's multiprocessing.connection.Listener), wire-compatible with
// CPython: a Python Client(address, authkey=...) is a peer. Each accepted
// connection is a *Conn. It is shaped like net.Listener: Accept, Addr,
// Close; Accept takes a context.
type Listener struct {
	h    handle
	addr ListenerAddr
}

// ListenerAddr is a listener's address ("tcp://127.0.0.1:40123",
// "unix:/run/app.sock"); it is a net.Addr.
type ListenerAddr string

// Network is "tcp" or "unix".
func (a ListenerAddr) Network() string {
	if strings.HasPrefix(string(a), "tcp://") {
		return "tcp"
	}
	return "unix"
}

func (a ListenerAddr) String() string { return string(a) }

// Listen listens at address (tcp://host:port, port 0 for a free one, see
// Addr; unix:/path, created mode 0600 and removed by Close; unix:@name).
// Errors: ErrInvalid (a bad address, an address with #name, tcp://
// without AuthKey or AllowNoAuth), ErrExist (the address is in use, or
// the socket file exists: it is never removed), ErrNotFound (no such
// directory, unknown host), ErrNotSupported (redis://).
func Listen(address string, opts ListenerOptions) (*Listener, error) {
	var o capi.ListenerOpts
	if err := check("listen", func() int { return capi.Mp_listener_opts_new(&o) }); err != nil {
		return nil, err
	}
	defer capi.Mp_listener_opts_free(o)
	err := check("listen", func() int {
		if rc := capi.Mp_listener_opts_set_authkey(o, opts.AuthKey); rc < 0 {
			return rc
		}
		if rc := capi.Mp_listener_opts_set_allow_no_auth(o, boolInt(opts.AllowNoAuth)); rc < 0 {
			return rc
		}
		if opts.Backlog != 0 {
			if rc := capi.Mp_listener_opts_set_backlog(o, opts.Backlog); rc < 0 {
				return rc
			}
		}
		if opts.HandshakeTimeout != 0 {
			return capi.Mp_listener_opts_set_handshake_timeout(o, timeoutOf(opts.HandshakeTimeout))
		}
		return 0
	})
	if err != nil {
		return nil, err
	}
	var l capi.Listener
	if err := check("listen", func() int { return capi.Mp_listener_new(&l, address, o) }); err != nil {
		return nil, err
	}
	lis := &Listener{
		h:    handle{p: uintptr(l), free: func(p uintptr) { capi.Mp_listener_free(capi.Listener(p)) }},
		addr: ListenerAddr(capi.Mp_listener_address(l)),
	}
	setFinalizer(lis)
	return lis, nil
}

// Accept waits for the next peer that finished the handshake, until ctx
// is done. Handshakes run apart from Accept, so a peer that says nothing
// holds up no other. Errors: ErrAccess (a peer failed the authentication:
// the message names it; the next Accept goes on with the next peer, as
// Python's accept raises AuthenticationError), ErrClosed (Close was
// called, also while this call waited), ctx's error.
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	var c capi.Conn
	_, err := l.h.wait(ctx, "listener accept", forever, func(p uintptr, ms int64) int {
		return capi.Mp_listener_accept(&c, capi.Listener(p), ms)
	})
	if err != nil {
		return nil, err
	}
	return newConn(c), nil
}

// Addr is the address served, with the real port for port 0.
func (l *Listener) Addr() ListenerAddr { return l.addr }

// Close stops listening: waiting Accept calls return ErrClosed, peers in
// a handshake and connections not yet accepted are closed, a unix: socket
// file is removed. Connections already accepted stay open. Closing again
// does nothing.
func (l *Listener) Close() error {
	// Wake Accept calls first: each holds the handle until it returns.
	_, _ = l.h.do("listener close", func(p uintptr) int {
		return capi.Mp_listener_close(capi.Listener(p))
	})
	closeObject(l, &l.h)
	return nil
}

// Dial connects to a Listener at address, this library's or CPython's
// (Python's Client), and runs the handshake when authkey is not empty;
// ctx bounds the connection and the handshake. Errors: ErrConnRefused
// (nothing listens), ErrNotFound (no socket file, unknown host),
// ErrAccess (the listener refused the key or could not prove it knows
// it), ErrBrokenPipe (the listener closed during the handshake),
// ErrInvalid, ErrNotSupported (redis://), ctx's error (ErrTimeout for its
// deadline).
func Dial(ctx context.Context, address string, authkey []byte) (*Conn, error) {
	var c capi.Conn
	_, err := blocking(ctx, "dial", forever, func(ms int64) int {
		return capi.Mp_conn_connect(&c, address, authkey, ms)
	})
	if err != nil {
		return nil, err
	}
	return newConn(c), nil
}
