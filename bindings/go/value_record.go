package multiproc

// Records of numbers in shared memory, typed by a Go struct: Python's
// Array(Point, n) with Point a ctypes Structure. The C library keeps the
// record's fields as typecodes (mp_value_new_record); this file derives
// them from the struct's fields by reflection and reads and writes the
// fields one by one (each atomically).

import (
	"fmt"
	"reflect"

	"multiproc.dev/multiproc/internal/capi"
)

// Records is an array of records of the struct type T in shared memory.
// T's fields, all exported, in declared order, are numbers or bools:
// int8, uint8, int16, uint16, int32, int64 (and int), uint64 (and uint),
// float32, float64, bool; they lie as the C struct of the same fields
// does, so a C or Ruby process reads the same records (Point{X, Y
// float64} is the record "dd"). Records embeds the *Value: Len, Acquire,
// Release, BindLock, Close and passing to a child are the Value's.
type Records[T any] struct {
	*Value
	kinds []reflect.Kind
}

// recordCodes is the typecode string of struct type T ("dd").
func recordCodes[T any]() (string, []reflect.Kind, error) {
	var zero T
	rt := reflect.TypeOf(zero)
	if rt == nil || rt.Kind() != reflect.Struct || rt.NumField() == 0 {
		return "", nil, &Error{Code: ErrInvalid, Op: "records", Msg: fmt.Sprintf("%v is not a struct with fields", rt)}
	}
	codes := make([]byte, 0, rt.NumField())
	kinds := make([]reflect.Kind, 0, rt.NumField())
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		c, ok := kindCodes[f.Type.Kind()]
		if !ok || !f.IsExported() {
			return "", nil, &Error{Code: ErrInvalid, Op: "records",
				Msg: fmt.Sprintf("field %s.%s (%v): fields are exported numbers or bools (no uint32)", rt.Name(), f.Name, f.Type)}
		}
		codes = append(codes, c)
		kinds = append(kinds, f.Type.Kind())
	}
	return string(codes), kinds, nil
}

var kindCodes = map[reflect.Kind]byte{
	reflect.Int8: 'b', reflect.Uint8: 'B', reflect.Int16: 'h', reflect.Uint16: 'H',
	reflect.Int32: 'i', reflect.Int64: 'q', reflect.Int: 'q', reflect.Uint64: 'Q',
	reflect.Uint: 'Q', reflect.Float32: 'f', reflect.Float64: 'd', reflect.Bool: '?',
}

// NewRecords creates count zero records of T; withLock adds the records'
// own lock (Python's lock=True).
func NewRecords[T any](count int, withLock bool) (*Records[T], error) {
	codes, kinds, err := recordCodes[T]()
	if err != nil {
		return nil, err
	}
	flags := 0
	if withLock {
		flags = capi.MP_VALUE_LOCK
	}
	var v capi.Value
	if err := check("records new", func() int { return capi.Mp_value_new_record(&v, codes, int64(count), flags) }); err != nil {
		return nil, err
	}
	return &Records[T]{Value: newValue(v), kinds: kinds}, nil
}

// NewRecordsWithLock creates count zero records of T guarded by an
// existing lock, as NewValueWithLock: Array(Point, n, lock=lock).
func NewRecordsWithLock[T any](count int, lock *Lock) (*Records[T], error) {
	codes, kinds, err := recordCodes[T]()
	if err != nil {
		return nil, err
	}
	var v capi.Value
	if _, err := lock.h.do("records new", func(l uintptr) int {
		return capi.Mp_value_new_record_with_lock(&v, codes, int64(count), capi.Lock(l))
	}); err != nil {
		return nil, err
	}
	val := newValue(v)
	val.lock = lock
	return &Records[T]{Value: val, kinds: kinds}, nil
}

// AsRecords views an opened value (OpenValue, InheritValue, OpenValueAt)
// as records of T: ErrInvalid unless its fields are T's.
func AsRecords[T any](v *Value) (*Records[T], error) {
	codes, kinds, err := recordCodes[T]()
	if err != nil {
		return nil, err
	}
	n, err := v.h.do("records fields", func(p uintptr) int { return capi.Mp_value_field_count(capi.Value(p)) })
	if err != nil {
		return nil, err
	}
	ok := n == len(codes)
	for f := 0; ok && f < n; f++ {
		t, err := v.h.do("records fields", func(p uintptr) int { return capi.Mp_value_field_type(capi.Value(p), int64(f)) })
		ok = err == nil && Type(t) == typeCodes[codes[f:f+1]]
	}
	if !ok {
		var zero T
		return nil, &Error{Code: ErrInvalid, Op: "records", Msg: fmt.Sprintf("the value's fields are not those of %T (%q)", zero, codes)}
	}
	return &Records[T]{Value: v, kinds: kinds}, nil
}

// At reads record i (field by field, each atomically; hold the lock for a
// consistent record while others write).
func (r *Records[T]) At(i int) (T, error) {
	var x T
	rv := reflect.ValueOf(&x).Elem()
	for f, k := range r.kinds {
		if err := r.getField(rv.Field(f), k, i, f); err != nil {
			return x, err
		}
	}
	return x, nil
}

// Set writes record i, field by field.
func (r *Records[T]) Set(i int, x T) error {
	rv := reflect.ValueOf(x)
	for f, k := range r.kinds {
		if err := r.setField(rv.Field(f), k, i, f); err != nil {
			return err
		}
	}
	return nil
}

func (r *Records[T]) getField(dst reflect.Value, k reflect.Kind, i, f int) error {
	switch k {
	case reflect.Float32, reflect.Float64:
		x, err := r.FieldFloat(i, f)
		dst.SetFloat(x)
		return err
	case reflect.Bool:
		x, err := r.FieldInt(i, f)
		dst.SetBool(x != 0)
		return err
	case reflect.Uint8, reflect.Uint16, reflect.Uint64, reflect.Uint:
		x, err := r.FieldInt(i, f)
		dst.SetUint(uint64(x))
		return err
	default:
		x, err := r.FieldInt(i, f)
		dst.SetInt(x)
		return err
	}
}

func (r *Records[T]) setField(src reflect.Value, k reflect.Kind, i, f int) error {
	switch k {
	case reflect.Float32, reflect.Float64:
		return r.SetFieldFloat(i, f, src.Float())
	case reflect.Bool:
		var x int64
		if src.Bool() {
			x = 1
		}
		return r.SetFieldInt(i, f, x)
	case reflect.Uint8, reflect.Uint16, reflect.Uint64, reflect.Uint:
		if src.Uint() > 1<<63-1 {
			return &Error{Code: ErrInvalid, Op: "records set", Msg: "a uint64 field above MaxInt64"}
		}
		return r.SetFieldInt(i, f, int64(src.Uint()))
	default:
		return r.SetFieldInt(i, f, src.Int())
	}
}

// field runs f, a C call on field f of record i, refusing negative
// indexes here (the C ones are unsigned).
func (v *Value) field(op string, i, f int, call func(p uintptr) int) error {
	if i < 0 || f < 0 {
		return &Error{Code: ErrInvalid, Op: op, Msg: fmt.Sprintf("record %d, field %d: out of range", i, f)}
	}
	_, err := v.h.do(op, call)
	return err
}

// FieldInt reads integer (or bool: 0, 1) field f of record i of a Record
// value, whatever Go type describes it.
func (v *Value) FieldInt(i, f int) (int64, error) {
	var x int64
	err := v.field("value get field", i, f, func(p uintptr) int {
		return capi.Mp_value_get_field_i64(&x, capi.Value(p), int64(i), int64(f))
	})
	return x, err
}

// SetFieldInt writes integer (or bool: 0, 1) field f of record i.
func (v *Value) SetFieldInt(i, f int, x int64) error {
	return v.field("value set field", i, f, func(p uintptr) int {
		return capi.Mp_value_set_field_i64(capi.Value(p), int64(i), int64(f), x)
	})
}

// FieldFloat reads float field f of record i.
func (v *Value) FieldFloat(i, f int) (float64, error) {
	var x float64
	err := v.field("value get field", i, f, func(p uintptr) int {
		return capi.Mp_value_get_field_f64(&x, capi.Value(p), int64(i), int64(f))
	})
	return x, err
}

// SetFieldFloat writes float field f of record i.
func (v *Value) SetFieldFloat(i, f int, x float64) error {
	return v.field("value set field", i, f, func(p uintptr) int {
		return capi.Mp_value_set_field_f64(capi.Value(p), int64(i), int64(f), x)
	})
}
