package multiproc

import (
	"context"
	"fmt"
	"time"
	"unsafe"

	"multiproc.dev/multiproc/internal/capi"
)

// SharedMemory is a block of bytes shared between the processes it is
// passed to (shared_memory.SharedMemory). Bytes aliases the shared block:
// synchronise access between processes yourself (a Lock), and do not use
// the slice after Close.
type SharedMemory struct{ h handle }

func newShm(s capi.Shm) *SharedMemory {
	shm := &SharedMemory{h: handle{p: uintptr(s), free: func(p uintptr) { capi.Mp_shm_free(capi.Shm(p)) }}}
	setFinalizer(shm)
	return shm
}

// NewSharedMemory creates a zero-filled block of size bytes (> 0).
// Errors: ErrNoSpace when /dev/shm is full (never a SIGBUS later).
func NewSharedMemory(size int) (*SharedMemory, error) {
	var s capi.Shm
	if size <= 0 {
		return nil, &Error{Code: ErrInvalid, Op: "shared memory new", Msg: "size must be > 0"}
	}
	if err := check("shared memory new", func() int { return capi.Mp_shm_new(&s, int64(size)) }); err != nil {
		return nil, err
	}
	return newShm(s), nil
}

// OpenSharedMemory opens, in a child, the block passed at index i.
func OpenSharedMemory(i int) (*SharedMemory, error) {
	var s capi.Shm
	if err := openChild("open shared memory", i, func(fd int) int { return capi.Mp_shm_from_fd(&s, fd) }); err != nil {
		return nil, err
	}
	return newShm(s), nil
}

func (s *SharedMemory) fileno() (int, error) {
	return s.h.fd("shared memory fileno", func(p uintptr) int { return capi.Mp_shm_fileno(capi.Shm(p)) })
}

// Bytes is the shared block, valid until Close (nil after Close).
func (s *SharedMemory) Bytes() []byte {
	p, err := s.h.use("shared memory bytes")
	if err != nil {
		return nil
	}
	defer s.h.done()
	data := capi.Mp_shm_data(capi.Shm(p))
	var size int64
	if capi.Mp_shm_size2(&size, capi.Shm(p)) < 0 {
		size = 0 // a bad handle: an empty block, as mp_shm_size() gave
	}
	return unsafe.Slice((*byte)(data), size)
}

// Size is the block's size in bytes.
func (s *SharedMemory) Size() int { return len(s.Bytes()) }

// Close unmaps the block in this process; other processes keep it.
func (s *SharedMemory) Close() error {
	closeObject(s, &s.h)
	return nil
}

// Type is the element type of a Value.
type Type int

// Element types (Python's typecodes in parentheses). The integer types
// are read with Int, SetInt, Add and CompareAndSwap (Add wraps around
// within the type, as ctypes does); Float32 with Float and SetFloat (the
// float64 is rounded to float32).
const (
	Int32   Type = 1  // 'i'
	Int64   Type = 2  // 'q'
	Uint64  Type = 3  // 'Q'
	Float64 Type = 4  // 'd'
	Bytes   Type = 5  // 'c' array: a byte string
	Int16   Type = 6  // 'h'
	Uint16  Type = 7  // 'H'
	Int8    Type = 8  // 'b'
	Uint8   Type = 9  // 'B'
	Char    Type = 10 // 'c' Value: one byte per element, read as 0-255
	Float32 Type = 11 // 'f'
	Bool    Type = 12 // '?' (ctypes' c_bool): read with Bool, SetBool
	Record  Type = 13 // what Type reports for records (NewRecords); not for NewValue
)

// typeCodes maps Python's typecodes to the element types.
var typeCodes = map[string]Type{
	"i": Int32, "q": Int64, "Q": Uint64, "d": Float64, "h": Int16, "H": Uint16,
	"b": Int8, "B": Uint8, "c": Char, "f": Float32, "?": Bool,
}

// TypeOf returns the element type of a Python typecode ("i", "q", "Q",
// "d", "h", "H", "b", "B", "c", "f", "?"); ErrInvalid for any other. For a byte
// string (Python's Array('c', ...)) use Bytes.
func TypeOf(code string) (Type, error) {
	if t, ok := typeCodes[code]; ok {
		return t, nil
	}
	return 0, &Error{Code: ErrInvalid, Op: "value type", Msg: fmt.Sprintf("unknown typecode %q", code)}
}

// Value is a typed value or array in shared memory (Value, Array). Each
// element is read and written atomically; a Value made WithLock also has
// a lock for compound updates (Acquire, Release), and one made by
// NewValueWithLock shares an existing Lock.
type Value struct {
	h    handle
	lock *Lock // the shared lock bound (kept alive with the value)
}

func newValue(v capi.Value) *Value {
	val := &Value{h: handle{p: uintptr(v), free: func(p uintptr) { capi.Mp_value_free(capi.Value(p)) }}}
	setFinalizer(val)
	return val
}

// NewValue creates count zero elements of type t (count 1: a Value; more:
// an Array; for Bytes, count is the capacity in bytes). withLock adds a
// lock (Python's lock=True).
func NewValue(t Type, count int, withLock bool) (*Value, error) {
	var v capi.Value
	if count <= 0 {
		return nil, &Error{Code: ErrInvalid, Op: "value new", Msg: "count must be > 0"}
	}
	flags := 0
	if withLock {
		flags = capi.MP_VALUE_LOCK
	}
	if err := check("value new", func() int { return capi.Mp_value_new(&v, cType(t), int64(count), flags) }); err != nil {
		return nil, err
	}
	return newValue(v), nil
}

// NewValueWithLock creates count zero elements of type t guarded by an
// existing lock (Python's Value('i', 0, lock=lock)): the values and arrays
// made with one lock are updated together under it, and Acquire/Release
// take that lock. A process that opens the value (OpenValue, InheritValue,
// OpenValueAt) opens the lock as well and calls BindLock before Acquire.
// The lock must stay open while the value is used; an RLock held already
// is taken again.
func NewValueWithLock(t Type, count int, lock *Lock) (*Value, error) {
	var v capi.Value
	if count <= 0 {
		return nil, &Error{Code: ErrInvalid, Op: "value new", Msg: "count must be > 0"}
	}
	_, err := lock.h.do("value new", func(l uintptr) int {
		return capi.Mp_value_new_with_lock(&v, cType(t), int64(count), capi.Lock(l))
	})
	if err != nil {
		return nil, err
	}
	val := newValue(v)
	val.lock = lock
	return val, nil
}

// BindLock binds this process's handle on a value made with a shared lock
// to this process's handle on that lock (opened from what the creator
// passed alongside the value), so that Acquire takes it. Errors:
// ErrInvalid for another lock, ErrState for a value without a shared lock.
func (v *Value) BindLock(lock *Lock) error {
	lp, err := lock.h.use("value bind lock")
	if err != nil {
		return err
	}
	defer lock.h.done()
	if _, err := v.h.do("value bind lock", func(p uintptr) int {
		return capi.Mp_value_bind_lock(capi.Value(p), capi.Lock(lp))
	}); err != nil {
		return err
	}
	v.lock = lock
	return nil
}

// OpenValue opens, in a child, the value passed at index i.
func OpenValue(i int) (*Value, error) {
	var v capi.Value
	if err := openChild("open value", i, func(fd int) int { return capi.Mp_value_from_fd(&v, fd) }); err != nil {
		return nil, err
	}
	return newValue(v), nil
}

func (v *Value) fileno() (int, error) {
	return v.h.fd("value fileno", func(p uintptr) int { return capi.Mp_value_fileno(capi.Value(p)) })
}

// Type is the element type.
func (v *Value) Type() Type {
	t, _ := v.h.do("value type", func(p uintptr) int { return capi.Mp_value_type(capi.Value(p)) })
	return Type(t)
}

// Len is the number of elements (bytes for Bytes).
func (v *Value) Len() int {
	var n int64
	if _, err := v.h.do("value count", func(p uintptr) int { return capi.Mp_value_count2(&n, capi.Value(p)) }); err != nil {
		return 0 // closed or bad handle: no elements, as before
	}
	return int(n)
}

// element runs f, a C call on element i, with the C handle. A negative i
// is refused here: the C index is unsigned, where -1 would read as
// 18446744073709551615 in the message.
func (v *Value) element(op string, i int, f func(p uintptr) int) (int, error) {
	if i < 0 {
		return 0, &Error{Code: ErrInvalid, Op: op, Msg: fmt.Sprintf("index %d is out of range (count %d)", i, v.Len())}
	}
	return v.h.do(op, f)
}

// Int reads element i of an integer value.
func (v *Value) Int(i int) (int64, error) {
	var x int64
	_, err := v.element("value get", i, func(p uintptr) int { return capi.Mp_value_get_i64(&x, capi.Value(p), int64(i)) })
	return x, err
}

// SetInt writes element i of an integer value (x must fit the type).
func (v *Value) SetInt(i int, x int64) error {
	_, err := v.element("value set", i, func(p uintptr) int { return capi.Mp_value_set_i64(capi.Value(p), int64(i), x) })
	return err
}

// Uint reads element i of a Uint64 value.
func (v *Value) Uint(i int) (uint64, error) {
	var x uint64
	_, err := v.element("value get", i, func(p uintptr) int { return capi.Mp_value_get_u64(&x, capi.Value(p), int64(i)) })
	return x, err
}

// SetUint writes element i of a Uint64 value.
func (v *Value) SetUint(i int, x uint64) error {
	_, err := v.element("value set", i, func(p uintptr) int { return capi.Mp_value_set_u64(capi.Value(p), int64(i), x) })
	return err
}

// Float reads element i of a Float64 or Float32 value.
func (v *Value) Float(i int) (float64, error) {
	var x float64
	_, err := v.element("value get", i, func(p uintptr) int { return capi.Mp_value_get_f64(&x, capi.Value(p), int64(i)) })
	return x, err
}

// SetFloat writes element i of a Float64 or Float32 value.
func (v *Value) SetFloat(i int, x float64) error {
	_, err := v.element("value set", i, func(p uintptr) int { return capi.Mp_value_set_f64(capi.Value(p), int64(i), x) })
	return err
}

// Add atomically adds delta to integer element i and returns the new
// value (no lock needed).
func (v *Value) Add(i int, delta int64) (int64, error) {
	var x int64
	_, err := v.element("value add", i, func(p uintptr) int { return capi.Mp_value_add_i64(&x, capi.Value(p), int64(i), delta) })
	return x, err
}

// CompareAndSwap atomically replaces integer element i by new if it
// equals old; otherwise it reports the element's value.
func (v *Value) CompareAndSwap(i int, old, new int64) (swapped bool, actual int64, err error) {
	rc, err := v.element("value cas", i, func(p uintptr) int {
		return capi.Mp_value_compare_exchange_i64(&actual, capi.Value(p), int64(i), old, new)
	})
	if rc == 1 {
		actual = new
	}
	return rc == 1, actual, err
}

// Bool reads element i of a Bool value.
func (v *Value) Bool(i int) (bool, error) {
	var x int
	_, err := v.element("value get", i, func(p uintptr) int { return capi.Mp_value_get_bool(&x, capi.Value(p), int64(i)) })
	return x == 1, err
}

// SetBool writes element i of a Bool value.
func (v *Value) SetBool(i int, b bool) error {
	x := 0
	if b {
		x = 1
	}
	_, err := v.element("value set", i, func(p uintptr) int { return capi.Mp_value_set_bool(capi.Value(p), int64(i), x) })
	return err
}

// Bytes returns the bytes of a Bytes value (up to the last SetBytes).
func (v *Value) Bytes() ([]byte, error) {
	buf := make([]byte, v.Len())
	var n int64
	_, err := v.h.do("value get bytes", func(p uintptr) int { return capi.Mp_value_get_bytes(&n, capi.Value(p), buf) })
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// SetBytes replaces the bytes of a Bytes value (ErrNoSpace above its
// capacity).
func (v *Value) SetBytes(b []byte) error {
	_, err := v.h.do("value set bytes", func(p uintptr) int { return capi.Mp_value_set_bytes(capi.Value(p), b) })
	return err
}

// Acquire takes the value's lock for a compound update (value.get_lock()),
// as Lock.Acquire does (the goroutine stays on its thread until Release).
// Errors: ErrState for a value made without a lock.
func (v *Value) Acquire(ctx context.Context) error { return v.acquire(ctx, forever) }

// AcquireTimeout is Acquire with a timeout: ErrTimeout if the lock
// stayed held for d. A d <= 0 has already expired: the call tries once without waiting
// (see Timeouts in the package documentation).
//
// Deprecated: use Acquire with a context from context.WithTimeout, the one
// form of every blocking call (see the package documentation); AcquireTimeout
// stays for the callers of 0.1.
func (v *Value) AcquireTimeout(d time.Duration) error {
	return v.acquire(context.Background(), timeoutOf(d))
}

// TryAcquire takes the value's lock if it is free now: (false, nil) when
// it is held (Python's get_lock().acquire(False)), as Lock.TryAcquire.
func (v *Value) TryAcquire() (bool, error) { return tried(v.acquire(context.Background(), 0)) }

func (v *Value) acquire(ctx context.Context, limit int64) error {
	mustContext(ctx) // before the thread is locked
	lockThread()
	_, err := v.h.wait(ctx, "value acquire", limit, func(p uintptr, ms int64) int {
		return capi.Mp_value_acquire(capi.Value(p), ms)
	})
	if err != nil && !isCode(err, ErrOwnerDead) {
		unlockThread()
	}
	return err
}

// Release releases the value's lock.
func (v *Value) Release() error {
	_, err := v.h.do("value release", func(p uintptr) int { return capi.Mp_value_release(capi.Value(p)) })
	if err == nil {
		unlockThread()
	}
	return err
}

// Close unmaps the value in this process.
func (v *Value) Close() error {
	closeObject(v, &v.h)
	return nil
}
