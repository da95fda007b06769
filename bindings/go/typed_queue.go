package multiproc

// TypedQueue[T]: a Queue whose messages are values of T, encoded by the
// queue's codec (JSON unless told otherwise), so that programs pass their
// own types instead of []byte.

import "context"

// TypedQueue is a Queue carrying values of T. It is a view: the Queue
// underneath (Queue()) is the shared object, passed to children and closed
// as usual; every process that uses it must use the same codec.
type TypedQueue[T any] struct {
	q     *Queue
	codec Codec[T]
}

// NewTypedQueue makes a new queue (NewQueue(maxsize)) carrying T with
// codec, JSON when codec is nil.
func NewTypedQueue[T any](maxsize int, codec Codec[T]) (*TypedQueue[T], error) {
	q, err := NewQueue(maxsize)
	if err != nil {
		return nil, err
	}
	return TypedQueueOf(q, codec), nil
}

// TypedQueueOf views q (a new one, or one a child opened with OpenQueue) as
// a queue of T with codec, JSON when codec is nil.
func TypedQueueOf[T any](q *Queue, codec Codec[T]) *TypedQueue[T] {
	return &TypedQueue[T]{q: q, codec: orJSON(codec)}
}

// Queue is the queue underneath: pass it to children, Shutdown, Close it.
func (t *TypedQueue[T]) Queue() *Queue { return t.q }

// Codec is the queue's codec.
func (t *TypedQueue[T]) Codec() Codec[T] { return t.codec }

func (t *TypedQueue[T]) fileno() (int, error) { return t.q.fileno() }

// Put encodes v and puts it (Queue.Put). An *EncodeError puts nothing.
func (t *TypedQueue[T]) Put(ctx context.Context, v T) error {
	b, err := encode(t.codec, "queue", v)
	if err != nil {
		return err
	}
	return t.q.Put(ctx, b)
}

// PutNowait is Put without waiting for room (ErrFull).
func (t *TypedQueue[T]) PutNowait(v T) error {
	b, err := encode(t.codec, "queue", v)
	if err != nil {
		return err
	}
	return t.q.PutNowait(b)
}

// Get takes one message and decodes it. A message that does not decode is
// taken all the same and reported as a *DecodeError naming T.
func (t *TypedQueue[T]) Get(ctx context.Context) (T, error) {
	b, err := t.q.Get(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	return decode(t.codec, "queue", b)
}

// GetNowait is Get without waiting (ErrEmpty).
func (t *TypedQueue[T]) GetNowait() (T, error) {
	b, err := t.q.GetNowait()
	if err != nil {
		var zero T
		return zero, err
	}
	return decode(t.codec, "queue", b)
}

// Len, Shutdown and Close are the Queue's.
func (t *TypedQueue[T]) Len() int        { return t.q.Len() }
func (t *TypedQueue[T]) Shutdown() error { return t.q.Shutdown() }
func (t *TypedQueue[T]) Close() error    { return t.q.Close() }
