package multiproc

// What only a queue on a redis server has: creating it with settings
// (NewQueueAt) and the id and delivery count of the last message got
// (LastDelivery), for the at-least-once delivery of docs/guide.md "Beyond
// one machine".

import (
	"context"

	"multiproc.dev/multiproc/internal/capi"
)

// Delivery says which message a get returned from a queue on a redis
// server: ID names the message for its whole life (the same on every
// delivery, so a consumer that must not act twice dedupes by it), Count
// is how often it was delivered, this time included (2 or more: a
// consumer that had it died or was cut off before it was done).
type Delivery struct {
	ID    string
	Count int64
}

// Redelivered reports whether the message was delivered before.
func (d Delivery) Redelivered() bool { return d.Count > 1 }

// NewQueueAt creates the queue of address "redis://[user@]host[:port][/db]#name"
// with o's MaxSize and Joinable, or opens the one already there if it has
// the same settings: every program sharing the queue can call it, in any
// order. (OpenQueueAt of a name with no queue makes a plain unbounded
// one.) o.MaxBytes must be 0: a remote queue has no ring. ctx bounds
// connecting and the reply, as for OpenQueueAt. Errors: ErrInvalid (not
// a redis:// address, a negative MaxSize, MaxBytes set), ErrExist (the
// queue exists with other settings), and those of OpenQueueAt.
func NewQueueAt(ctx context.Context, address string, o QueueOptions) (*Queue, error) {
	if o.MaxSize < 0 {
		return nil, &Error{Code: ErrInvalid, Op: "queue new at", Msg: "MaxSize must be >= 0 (0: no limit)"}
	}
	if o.MaxBytes != 0 {
		return nil, &Error{Code: ErrInvalid, Op: "queue new at", Msg: "MaxBytes must be 0: a queue on a redis server has no ring"}
	}
	flags := 0
	if o.Joinable {
		flags = capi.MP_QUEUE_JOINABLE
	}
	var q capi.Queue
	if err := openAt(ctx, "queue new at", address, func(ms int64) int {
		return capi.Mp_queue_new_at(&q, address, int64(o.MaxSize), flags, ms)
	}); err != nil {
		return nil, err
	}
	return newQueue(q), nil
}

// LastDelivery returns the id and delivery count of the last message got
// through this Queue from a redis server. With several goroutines
// getting through one Queue the last get of any of them counts: give
// each its own Queue. Errors: ErrNotSupported (a local queue: it delivers
// each message once and keeps no ids), ErrState (nothing got yet),
// ErrClosed (after Close).
func (q *Queue) LastDelivery() (Delivery, error) {
	var count int64
	id := make([]byte, capi.MP_QUEUE_ID_MAX)
	if _, err := q.h.do("queue last delivery", func(p uintptr) int {
		return capi.Mp_queue_last_delivery(&count, id, capi.Queue(p))
	}); err != nil {
		return Delivery{}, err
	}
	n := 0
	for n < len(id) && id[n] != 0 {
		n++
	}
	return Delivery{ID: string(id[:n]), Count: count}, nil
}
