package multiproc

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
)

// Messages are byte strings, which is what crosses languages; these
// helpers put Go values through JSON (readable by any language) or gob
// (Go only, faster for Go types).

// PutJSON puts v encoded as JSON.
func (q *Queue) PutJSON(ctx context.Context, v interface{}) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return q.Put(ctx, b)
}

// GetJSON gets one message and decodes it as JSON into v.
func (q *Queue) GetJSON(ctx context.Context, v interface{}) error {
	b, err := q.Get(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// PutGob puts v encoded with encoding/gob.
func (q *Queue) PutGob(ctx context.Context, v interface{}) error {
	b, err := gobEncode(v)
	if err != nil {
		return err
	}
	return q.Put(ctx, b)
}

// GetGob gets one message and decodes it with encoding/gob into v.
func (q *Queue) GetGob(ctx context.Context, v interface{}) error {
	b, err := q.Get(ctx)
	if err != nil {
		return err
	}
	return gob.NewDecoder(bytes.NewReader(b)).Decode(v)
}

// SendJSON sends v encoded as JSON.
func (c *Conn) SendJSON(ctx context.Context, v interface{}) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Send(ctx, b)
}

// RecvJSON receives one message and decodes it as JSON into v.
func (c *Conn) RecvJSON(ctx context.Context, v interface{}) error {
	b, err := c.Recv(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func gobEncode(v interface{}) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
