package multiproc

// Stream views of a Conn: an io.Reader over the messages received and an
// io.Writer sending each Write as one message, for io.Copy, bufio, json
// streams and the like. Message boundaries are not kept by the Reader.

import (
	"context"
	"errors"
	"io"
)

// Reader returns an io.Reader over the messages this end receives, read
// as one byte stream, waiting as Recv until ctx is done. Read returns
// io.EOF at the end of the stream (the peer end closed everywhere and
// everything received). Not safe for concurrent Reads.
func (c *Conn) Reader(ctx context.Context) io.Reader { return &connReader{c: c, ctx: ctx} }

// Writer returns an io.Writer sending each non-empty Write as one message
// (Send with ctx): a Write is whole or fails.
func (c *Conn) Writer(ctx context.Context) io.Writer { return &connWriter{c: c, ctx: ctx} }

type connReader struct {
	c    *Conn
	ctx  context.Context
	rest []byte // what the last message left for the next Read
}

func (r *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.rest) == 0 { // an empty message carries nothing: take the next
		msg, err := r.c.Recv(r.ctx)
		if errors.Is(err, io.EOF) {
			return 0, io.EOF // exactly io.EOF, as io.Copy and ReadAll expect
		}
		if err != nil {
			return 0, err
		}
		r.rest = msg
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

type connWriter struct {
	c   *Conn
	ctx context.Context
}

func (w *connWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := w.c.Send(w.ctx, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
