package multiproc

// A queue as a Go channel: Chan hands out what a queue yields on a channel
// served by one goroutine, Feed puts what a channel yields. Both end on the
// queue's shutdown and on their context, and leave no goroutine behind.

import (
	"context"
	"errors"
)

// Chan returns a channel of the values got from the queue, served by one
// goroutine, and a function telling why the channel was closed (call it
// after the channel is closed): nil when the queue was shut down and
// drained, ctx's error when ctx was done, or the error of a Get (a
// *DecodeError included: it ends the channel). Cancel ctx to stop early;
// the goroutine then ends at once. A value already taken from the queue
// when ctx is done is lost with it, as with any consumer that stops.
func (t *TypedQueue[T]) Chan(ctx context.Context) (<-chan T, func() error) {
	ch := make(chan T)
	var reason error
	go func() {
		defer close(ch)
		for {
			v, err := t.Get(ctx)
			if err != nil {
				reason = chanEnd(ctx, err)
				return
			}
			select {
			case ch <- v:
			case <-ctx.Done():
				reason = ctx.Err()
				return
			}
		}
	}()
	// reason is written before close(ch), which happens before a receive
	// that sees the channel closed: safe to read after that.
	return ch, func() error { return reason }
}

// chanEnd is why Chan's channel ends: a shut-down queue is its normal end.
func chanEnd(ctx context.Context, err error) error {
	if errors.Is(err, ErrClosed) {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Feed puts every value received from in, in order, until in is closed
// (then it returns nil), ctx is done (ctx's error; a Put waiting for room
// is woken) or a Put fails (ErrClosed once the queue is shut down, an
// *EncodeError). It runs in the caller's goroutine.
func (t *TypedQueue[T]) Feed(ctx context.Context, in <-chan T) error {
	for {
		select {
		case v, ok := <-in:
			if !ok {
				return nil
			}
			if err := t.Put(ctx, v); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Chan is TypedQueue.Chan of the queue's raw messages.
func (q *Queue) Chan(ctx context.Context) (<-chan []byte, func() error) {
	return TypedQueueOf(q, RawCodec()).Chan(ctx)
}

// Feed is TypedQueue.Feed of raw messages.
func (q *Queue) Feed(ctx context.Context, in <-chan []byte) error {
	return TypedQueueOf(q, RawCodec()).Feed(ctx, in)
}
