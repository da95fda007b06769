package multiproc

import (
	"sync"
	"time"

	"multiproc.dev/multiproc/internal/capi"
)

// A Broker serves the objects of this program by name at a unix: address
// ("unix:/run/app.sock" or "unix:@app"), so that programs this one did
// not start, in any language, open them with the OpenXxxAt functions
// ("unix:/run/app.sock#jobs"). They receive the object itself (its
// descriptor, over the socket), not a proxy: the same speed and crash
// guarantees as a child's, and the object outlives the broker. A
// published Pool stays here: an opened pool sends its tasks to this
// program's workers.
//
// Who may connect: processes of this program's uid, plus the uids and
// gids of the BrokerOptions (checked by SO_PEERCRED on every connection).
type Broker struct {
	h handle

	mu    sync.Mutex
	pools map[string]*Pool // published pools, kept alive while published
}

// BrokerOptions are the settings of a broker; the zero value (or nil)
// means the defaults.
type BrokerOptions struct {
	AllowUIDs        []uint32      // uids allowed beside this process's own
	AllowGIDs        []uint32      // gids allowed (the peer's effective gid)
	MaxClients       int           // connections served at once; 0: 128
	HandshakeTimeout time.Duration // how long a peer may take to ask; 0: 5 s
}

// NewBroker serves at address (unix:/path or unix:@name, without #name)
// from a thread of the library; nothing is published yet. The socket file
// is created mode 0600 (wider with AllowGIDs/AllowUIDs, the peer check
// still applies) in a directory the caller chose; a stale socket of a dead
// broker is replaced, anything else at the path is never touched.
// Errors: ErrInvalid (bad address or option), ErrExist (a live broker, or
// a file that is not a stale broker socket), ErrAccess, ErrNotFound (no
// such directory), ErrSystem.
func NewBroker(address string, opts *BrokerOptions) (*Broker, error) {
	var o capi.BrokerOpts
	if err := check("broker options", func() int { return capi.Mp_broker_opts_new(&o) }); err != nil {
		return nil, err
	}
	defer capi.Mp_broker_opts_free(o)
	if opts != nil {
		if err := applyBrokerOptions(o, opts); err != nil {
			return nil, err
		}
	}
	var b capi.Broker
	if err := check("broker new", func() int { return capi.Mp_broker_new(&b, address, o) }); err != nil {
		return nil, err
	}
	broker := &Broker{h: handle{p: uintptr(b), free: func(p uintptr) { capi.Mp_broker_free(capi.Broker(p)) }}}
	setFinalizer(broker)
	return broker, nil
}

func applyBrokerOptions(o capi.BrokerOpts, opts *BrokerOptions) error {
	var steps []func() int
	for _, uid := range opts.AllowUIDs {
		uid := uid
		steps = append(steps, func() int { return capi.Mp_broker_opts_add_uid(o, uint(uid)) })
	}
	for _, gid := range opts.AllowGIDs {
		gid := gid
		steps = append(steps, func() int { return capi.Mp_broker_opts_add_gid(o, uint(gid)) })
	}
	if opts.MaxClients != 0 {
		if opts.MaxClients < 0 {
			return &Error{Code: ErrInvalid, Op: "broker options", Msg: "MaxClients < 0"}
		}
		steps = append(steps, func() int { return capi.Mp_broker_opts_set_max_clients(o, uint(opts.MaxClients)) })
	}
	if opts.HandshakeTimeout != 0 {
		if opts.HandshakeTimeout < 0 {
			return &Error{Code: ErrInvalid, Op: "broker options", Msg: "HandshakeTimeout < 0"}
		}
		ms := timeoutOf(opts.HandshakeTimeout)
		steps = append(steps, func() int { return capi.Mp_broker_opts_set_handshake_timeout(o, ms) })
	}
	for _, f := range steps {
		if err := check("broker options", f); err != nil {
			return err
		}
	}
	return nil
}

// Publish makes h (a *Queue, *Lock, *Semaphore, *Event, *Condition,
// *Barrier, *Value, *SharedMemory or *Dict) openable under name (letters,
// digits, '_'). The broker keeps its own descriptor: h may be closed
// afterwards. Errors: ErrInvalid (bad name), ErrExist (name taken),
// ErrClosed (h or the broker was closed).
func (b *Broker) Publish(name string, h Handle) error {
	fd, err := h.fileno()
	if err != nil {
		return err
	}
	_, err = b.h.do("broker publish", func(p uintptr) int { return capi.Mp_broker_publish(capi.Broker(p), name, fd) })
	return err
}

// PublishPool makes pool usable under name: OpenPoolAt in another program
// gives a pool whose tasks run on this pool's workers, by task name (the
// tasks registered here with RegisterTask). The pool stays published
// until Unpublish or Close of the broker; closing the pool first
// withdraws it (its clients' unfinished tasks fail with ErrClosed).
func (b *Broker) PublishPool(name string, pool *Pool) error {
	pp, err := pool.h.use("broker publish pool")
	if err != nil {
		return err
	}
	defer pool.h.done()
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err = b.h.do("broker publish pool", func(p uintptr) int {
		return capi.Mp_broker_publish_pool(capi.Broker(p), name, capi.Pool(pp))
	})
	if err != nil {
		return err
	}
	if b.pools == nil {
		b.pools = map[string]*Pool{}
	}
	b.pools[name] = pool
	pool.addBroker(b, name)
	return nil
}

// Unpublish withdraws name: later opens fail with ErrNotFound; objects
// already opened live on. For a pool it returns once no request uses it
// (the clients' unfinished tasks fail with ErrClosed).
// Errors: ErrNotFound (nothing published under name), ErrClosed.
func (b *Broker) Unpublish(name string) error {
	b.mu.Lock()
	pool := b.pools[name]
	delete(b.pools, name)
	b.mu.Unlock()
	if pool != nil {
		pool.removeBroker(b, name)
	}
	_, err := b.h.do("broker unpublish", func(p uintptr) int { return capi.Mp_broker_unpublish(capi.Broker(p), name) })
	return err
}

// Close stops serving: every connection is closed (pool clients' pending
// tasks fail with ErrBrokenPipe), the socket file is removed. The objects
// live on in every program that opened them. Closing again does nothing.
func (b *Broker) Close() error {
	closeObject(b, &b.h)
	b.mu.Lock()
	pools := b.pools
	b.pools = nil
	b.mu.Unlock()
	for name, pool := range pools {
		pool.removeBroker(b, name)
	}
	return nil
}

// publication is one name under which a pool is published.
type publication struct {
	broker *Broker
	name   string
}

func (p *Pool) addBroker(b *Broker, name string) {
	p.pubMu.Lock()
	p.pubs = append(p.pubs, publication{b, name})
	p.pubMu.Unlock()
}

func (p *Pool) removeBroker(b *Broker, name string) {
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	for i, pub := range p.pubs {
		if pub.broker == b && pub.name == name {
			p.pubs = append(p.pubs[:i], p.pubs[i+1:]...)
			return
		}
	}
}

// withdraw unpublishes the pool from every broker before it is freed: a
// broker borrows the C pool and must not use it after mp_pool_free.
func (p *Pool) withdraw() {
	p.pubMu.Lock()
	pubs := p.pubs
	p.pubs = nil
	p.pubMu.Unlock()
	for _, pub := range pubs {
		_ = pub.broker.Unpublish(pub.name)
	}
}
