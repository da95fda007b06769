// The Go peer of the cross-language rendezvous (tests/rendezvous/xl/README.md):
// two programs that did not start each other share a queue, a lock, a dict
// and a pool through a broker, knowing only its address.
//
//	multiproc-rendezvous-go serve unix:/path   publish jobs, lock, dict, pool; print "ready",
//	                                           then what the opener sent
//	multiproc-rendezvous-go open unix:/path    open them by address and answer
//
// Exit 0 on success; any error: a message on stderr and status 1.
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

const lang = "go"

func main() {
	if err := multiproc.RegisterTask("rv_upper", func(arg []byte) ([]byte, error) {
		return bytes.ToUpper(arg), nil
	}); err != nil {
		fail(err)
	}
	multiproc.Main()
	var err error
	switch {
	case len(os.Args) == 3 && os.Args[1] == "serve":
		err = serve(os.Args[2])
	case len(os.Args) == 3 && os.Args[1] == "open":
		err = open(os.Args[2])
	default:
		err = errors.New("usage: serve|open unix:/path")
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "multiproc-rendezvous-go:", err)
	os.Exit(1)
}

// objects are the four shared objects of both sides.
type objects struct {
	q    *multiproc.Queue
	lock *multiproc.Lock
	d    *multiproc.Dict
	pool *multiproc.Pool
}

func (o *objects) Close() {
	o.pool.Close()
	o.d.Close()
	o.lock.Close()
	o.q.Close()
}

func create() (*objects, error) {
	var o objects
	var err error
	if o.q, err = multiproc.NewQueue(0); err != nil {
		return nil, err
	}
	if o.lock, err = multiproc.NewLock(); err != nil {
		return nil, err
	}
	if o.d, err = multiproc.NewDict(64, 1<<16); err != nil {
		return nil, err
	}
	if o.pool, err = multiproc.NewPool(&multiproc.PoolOptions{Workers: 2}); err != nil {
		return nil, err
	}
	return &o, nil
}

func serve(addr string) error {
	o, err := create()
	if err != nil {
		return err
	}
	defer o.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := o.lock.Acquire(ctx); err != nil {
		return err
	}
	if err := o.d.Set([]byte("server"), []byte(lang)); err != nil {
		return err
	}
	b, err := multiproc.NewBroker(addr, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	for name, h := range map[string]multiproc.Handle{"jobs": o.q, "lock": o.lock, "dict": o.d} {
		if err := b.Publish(name, h); err != nil {
			return err
		}
	}
	if err := b.PublishPool("pool", o.pool); err != nil {
		return err
	}
	fmt.Println("ready")
	msg, err := o.q.Get(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("got %s\n", msg)
	if err := o.lock.Release(); err != nil {
		return err
	}
	for { // the opener sets "ack" holding the lock, once it got it
		if ack, err := o.d.Get([]byte("ack")); err == nil {
			fmt.Printf("ack=%s\n", ack)
			return nil
		} else if !errors.Is(err, multiproc.ErrNotFound) {
			return err
		}
		if ctx.Err() != nil {
			return errors.New("no ack from the opener")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func open(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var o objects
	var err error
	if o.q, err = multiproc.OpenQueueAt(ctx, addr+"#jobs"); err != nil {
		return err
	}
	if o.lock, err = multiproc.OpenLockAt(ctx, addr+"#lock"); err != nil {
		return err
	}
	if o.d, err = multiproc.OpenDictAt(ctx, addr+"#dict"); err != nil {
		return err
	}
	if o.pool, err = multiproc.OpenPoolAt(ctx, addr+"#pool"); err != nil {
		return err
	}
	defer o.Close()
	// the server holds the lock: the same lock cannot be taken here
	if ok, err := o.lock.TryAcquire(); err != nil || ok {
		return fmt.Errorf("the lock is not the server's: acquired while it holds it (%v)", err)
	}
	server, err := o.d.Get([]byte("server"))
	if err != nil {
		return fmt.Errorf("dict server: %w", err)
	}
	res, err := o.pool.Apply(ctx, "rv_upper", []byte("ping-"+lang))
	if err != nil {
		return err
	}
	if err := o.q.Put(ctx, []byte(fmt.Sprintf("client=%s server=%s pool=%s", lang, server, res))); err != nil {
		return err
	}
	if err := o.lock.Acquire(ctx); err != nil {
		return err
	}
	if err := o.d.Set([]byte("ack"), []byte(lang)); err != nil {
		return err
	}
	if err := o.lock.Release(); err != nil {
		return err
	}
	fmt.Println("done")
	return nil
}
