package multiproc

// Codecs of the typed wrappers (TypedQueue, TypedDict, Func): how a Go value
// of type T becomes the bytes a queue, dict or pool carries, chosen per
// object. JSON is the default because C, Ruby and Python read it; gob is
// Go-only and keeps Go types exactly; Raw passes []byte through as today.

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"reflect"
)

// Codec turns values of T into message bytes and back. Both ends of an
// object must use the same codec.
type Codec[T any] interface {
	Name() string // "json", "gob", "raw": named in decode errors
	Encode(v T) ([]byte, error)
	Decode(b []byte) (T, error)
}

// JSONCodec encodes with encoding/json: the cross-language choice (a Ruby
// queue with codec: :json, any JSON reader in C). The default of every
// typed wrapper given a nil codec.
func JSONCodec[T any]() Codec[T] { return jsonCodec[T]{} }

// GobCodec encodes with encoding/gob: Go programs only, one self-describing
// gob stream per message.
func GobCodec[T any]() Codec[T] { return gobCodec[T]{} }

// RawCodec passes messages through as bytes (what Queue.Put takes).
func RawCodec() Codec[[]byte] { return rawCodec{} }

type jsonCodec[T any] struct{}

func (jsonCodec[T]) Name() string               { return "json" }
func (jsonCodec[T]) Encode(v T) ([]byte, error) { return json.Marshal(v) }
func (jsonCodec[T]) Decode(b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

type gobCodec[T any] struct{}

func (gobCodec[T]) Name() string { return "gob" }
func (gobCodec[T]) Encode(v T) ([]byte, error) {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(v)
	return buf.Bytes(), err
}
func (gobCodec[T]) Decode(b []byte) (T, error) {
	var v T
	err := gob.NewDecoder(bytes.NewReader(b)).Decode(&v)
	return v, err
}

type rawCodec struct{}

func (rawCodec) Name() string                    { return "raw" }
func (rawCodec) Encode(v []byte) ([]byte, error) { return v, nil }
func (rawCodec) Decode(b []byte) ([]byte, error) { return b, nil }

// DecodeError is a message that its object's codec could not turn into
// the Go type asked for. errors.As finds it; Unwrap gives the codec's error.
type DecodeError struct {
	Object string // what carried the message: `queue`, `dict key "k"`, `task "sq" result`
	Type   string // the Go type it was decoded as, e.g. "main.Point"
	Codec  string // the codec's Name
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("multiproc: %s: cannot decode %s message as %s: %v",
		e.Object, e.Codec, e.Type, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError is a value its object's codec could not encode (a channel
// in JSON, an unregistered interface in gob): nothing was sent.
type EncodeError struct {
	Object, Type, Codec string
	Err                 error
}

func (e *EncodeError) Error() string {
	return fmt.Sprintf("multiproc: %s: cannot encode %s as %s: %v",
		e.Object, e.Type, e.Codec, e.Err)
}

func (e *EncodeError) Unwrap() error { return e.Err }

func typeName[T any]() string { return reflect.TypeOf((*T)(nil)).Elem().String() }

func orJSON[T any](c Codec[T]) Codec[T] {
	if c == nil {
		return JSONCodec[T]()
	}
	return c
}

func encode[T any](c Codec[T], object string, v T) ([]byte, error) {
	b, err := c.Encode(v)
	if err != nil {
		return nil, &EncodeError{Object: object, Type: typeName[T](), Codec: c.Name(), Err: err}
	}
	return b, nil
}

func decode[T any](c Codec[T], object string, b []byte) (T, error) {
	v, err := c.Decode(b)
	if err != nil {
		return v, &DecodeError{Object: object, Type: typeName[T](), Codec: c.Name(), Err: err}
	}
	return v, nil
}
