package multiproc

// TypedDict[V]: a shared Dict with string keys and values of V encoded by
// the dict's codec (JSON unless told otherwise).

import "strconv"

// TypedDict is a Dict whose keys are strings and whose values are V. It is
// a view of the Dict underneath (Dict()), which is what is passed to
// children and closed; every process must use the same codec.
type TypedDict[V any] struct {
	d     *Dict
	codec Codec[V]
}

// NewTypedDict makes a new dict (NewDict(maxEntries, maxBytes)) holding V
// with codec, JSON when codec is nil.
func NewTypedDict[V any](maxEntries, maxBytes int, codec Codec[V]) (*TypedDict[V], error) {
	d, err := NewDict(maxEntries, maxBytes)
	if err != nil {
		return nil, err
	}
	return TypedDictOf(d, codec), nil
}

// TypedDictOf views d as a dict of V with codec, JSON when codec is nil.
func TypedDictOf[V any](d *Dict, codec Codec[V]) *TypedDict[V] {
	return &TypedDict[V]{d: d, codec: orJSON(codec)}
}

// Dict is the dict underneath: pass it to children, Close it.
func (t *TypedDict[V]) Dict() *Dict { return t.d }

func (t *TypedDict[V]) fileno() (int, error) { return t.d.fileno() }

func keyObject(key string) string { return "dict key " + strconv.Quote(key) }

// Set encodes v and stores it under key. Errors: *EncodeError, ErrNoSpace.
func (t *TypedDict[V]) Set(key string, v V) error {
	b, err := encode(t.codec, keyObject(key), v)
	if err != nil {
		return err
	}
	return t.d.Set([]byte(key), b)
}

// Get returns the value of key decoded. Errors: ErrNotFound, *DecodeError.
func (t *TypedDict[V]) Get(key string) (V, error) {
	b, err := t.d.Get([]byte(key))
	if err != nil {
		var zero V
		return zero, err
	}
	return decode(t.codec, keyObject(key), b)
}

// Delete, Contains, Len and Close are the Dict's.
func (t *TypedDict[V]) Delete(key string) error  { return t.d.Delete([]byte(key)) }
func (t *TypedDict[V]) Contains(key string) bool { return t.d.Contains([]byte(key)) }
func (t *TypedDict[V]) Len() int                 { return t.d.Len() }
func (t *TypedDict[V]) Close() error             { return t.d.Close() }

// Items returns a snapshot of every key and decoded value; a value that
// does not decode ends it with a *DecodeError naming its key.
func (t *TypedDict[V]) Items() (map[string]V, error) {
	items, err := t.d.Items()
	if err != nil {
		return nil, err
	}
	m := make(map[string]V, len(items))
	for _, it := range items {
		v, err := decode(t.codec, keyObject(string(it.Key)), it.Value)
		if err != nil {
			return nil, err
		}
		m[string(it.Key)] = v
	}
	return m, nil
}
