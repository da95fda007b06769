package multiproc

import "multiproc.dev/multiproc/internal/capi"

// Dict is a map of byte-string keys to byte-string values in shared
// memory (Manager().dict(), without a server process). Every operation is
// atomic across processes; a process killed in the middle of a write
// leaves it consistent.
type Dict struct{ h handle }

func newDict(d capi.Dict) *Dict {
	dict := &Dict{h: handle{p: uintptr(d), free: func(p uintptr) { capi.Mp_dict_free(capi.Dict(p)) }}}
	setFinalizer(dict)
	return dict
}

// NewDict creates a dict with room for maxEntries keys and maxBytes of
// keys and values together (both fixed).
func NewDict(maxEntries, maxBytes int) (*Dict, error) {
	var d capi.Dict
	if maxEntries <= 0 || maxBytes <= 0 {
		return nil, &Error{Code: ErrInvalid, Op: "dict new", Msg: "sizes must be > 0"}
	}
	if err := check("dict new", func() int { return capi.Mp_dict_new(&d, int64(maxEntries), int64(maxBytes)) }); err != nil {
		return nil, err
	}
	return newDict(d), nil
}

// OpenDict opens, in a child, the dict passed at index i.
func OpenDict(i int) (*Dict, error) {
	var d capi.Dict
	if err := openChild("open dict", i, func(fd int) int { return capi.Mp_dict_from_fd(&d, fd) }); err != nil {
		return nil, err
	}
	return newDict(d), nil
}

func (d *Dict) fileno() (int, error) {
	return d.h.fd("dict fileno", func(p uintptr) int { return capi.Mp_dict_fileno(capi.Dict(p)) })
}

// Set sets key to value (d[key] = value). Errors: ErrNoSpace.
func (d *Dict) Set(key, value []byte) error {
	_, err := d.h.do("dict set", func(p uintptr) int { return capi.Mp_dict_set(capi.Dict(p), key, value) })
	return err
}

// Get returns the value of key. Errors: ErrNotFound (Python's KeyError).
func (d *Dict) Get(key []byte) ([]byte, error) {
	var v []byte
	_, err := d.h.do("dict get", func(p uintptr) int { return capi.Mp_dict_get(&v, capi.Dict(p), key) })
	if err != nil {
		return nil, err
	}
	return v, nil
}

// GetInto copies the value of key into buf and returns its length. If
// buf is too small the error is ErrNoSpace with n the size needed.
// Errors: ErrNotFound (Python's KeyError), ErrNoSpace.
func (d *Dict) GetInto(key, buf []byte) (n int, err error) {
	var got int64
	_, err = d.h.do("dict get", func(p uintptr) int { return capi.Mp_dict_get_into(&got, capi.Dict(p), key, buf) })
	return int(got), err
}

// Delete removes key. Errors: ErrNotFound.
func (d *Dict) Delete(key []byte) error {
	_, err := d.h.do("dict delete", func(p uintptr) int { return capi.Mp_dict_delete(capi.Dict(p), key) })
	return err
}

// Contains reports whether key is present.
func (d *Dict) Contains(key []byte) bool {
	n, err := d.h.do("dict contains", func(p uintptr) int { return capi.Mp_dict_contains(capi.Dict(p), key) })
	return err == nil && n == 1
}

// Len is the number of keys.
func (d *Dict) Len() int {
	n, _ := d.h.do("dict len", func(p uintptr) int { return capi.Mp_dict_len(capi.Dict(p)) })
	return n
}

// Clear removes every key.
func (d *Dict) Clear() error {
	_, err := d.h.do("dict clear", func(p uintptr) int { return capi.Mp_dict_clear(capi.Dict(p)) })
	return err
}

// Incr atomically adds delta to the integer at key (8 bytes little-endian;
// a missing key counts as 0) and returns the new value.
func (d *Dict) Incr(key []byte, delta int64) (int64, error) {
	var x int64
	_, err := d.h.do("dict incr", func(p uintptr) int { return capi.Mp_dict_incr(&x, capi.Dict(p), key, delta) })
	return x, err
}

// CompareAndSwap sets key to new if its value equals old (old nil: only if
// the key is absent) and reports whether it did.
func (d *Dict) CompareAndSwap(key, old, new []byte) (bool, error) {
	n, err := d.h.do("dict cas", func(p uintptr) int { return capi.Mp_dict_cas(capi.Dict(p), key, old, new) })
	return n == 1, err
}

// Item is one key and value of a dict.
type Item struct {
	Key, Value []byte
}

// Items returns a consistent snapshot of every item, in no set order.
func (d *Dict) Items() ([]Item, error) {
	var it capi.DictIter
	_, err := d.h.do("dict items", func(p uintptr) int { return capi.Mp_dict_iter_new(&it, capi.Dict(p)) })
	if err != nil {
		return nil, err
	}
	defer capi.Mp_dict_iter_free(it)
	var items []Item
	for {
		var k, v []byte
		n, err := call("dict items", func() int { return capi.Mp_dict_iter_next2(&k, &v, it) })
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return items, nil
		}
		items = append(items, Item{k, v})
	}
}

// Close unmaps the dict in this process.
func (d *Dict) Close() error {
	closeObject(d, &d.h)
	return nil
}
