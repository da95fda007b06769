package multiproc

import (
	"context"
	"errors"
	"testing"
)

func TestValueAddFromChildren(t *testing.T) {
	v, err := NewValue(Int64, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	p1 := start(t, "value_add", "", v)
	p2 := start(t, "value_add", "", v)
	p1.Join(context.Background())
	p2.Join(context.Background())
	if n, err := v.Int(0); n != 200 || err != nil {
		t.Fatalf("value %d %v, want 200", n, err)
	}
	if ok, actual, _ := v.CompareAndSwap(0, 1, 5); ok || actual != 200 {
		t.Fatalf("cas with wrong old: %v %d", ok, actual)
	}
	if ok, _, _ := v.CompareAndSwap(0, 200, 5); !ok {
		t.Fatal("cas failed")
	}
	if _, err := v.Int(1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("index out of range: %v", err)
	}
}

func TestValueTypes(t *testing.T) {
	f, _ := NewValue(Float64, 1, true)
	defer f.Close()
	if err := f.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.SetFloat(0, 3.5)
	f.Release()
	if x, _ := f.Float(0); x != 3.5 || f.Type() != Float64 {
		t.Fatalf("float %v type %v", x, f.Type())
	}
	b, _ := NewValue(Bytes, 11, false)
	defer b.Close()
	b.SetBytes([]byte("hello world"))
	if s, _ := b.Bytes(); string(s) != "hello world" {
		t.Fatalf("bytes %q", s)
	}
	if err := b.SetBytes(make([]byte, 12)); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("too long: %v", err)
	}
	a, _ := NewValue(Int32, 5, false)
	defer a.Close()
	if a.Len() != 5 {
		t.Fatalf("len %d", a.Len())
	}
	if err := a.SetInt(0, 1<<40); !errors.Is(err, ErrInvalid) {
		t.Fatalf("int32 overflow: %v", err)
	}
	if err := a.Acquire(context.Background()); !errors.Is(err, ErrState) {
		t.Fatalf("acquire without lock: %v", err)
	}
}

// The small typecodes of Python's Value ('h', 'H', 'b', 'B', 'c', 'f'):
// each range's ends, refusal beyond, Add wrapping as ctypes does.
func TestValueSmallTypes(t *testing.T) {
	ranges := map[string][2]int64{
		"h": {-32768, 32767}, "H": {0, 65535}, "b": {-128, 127}, "B": {0, 255}, "c": {0, 255},
	}
	for code, r := range ranges {
		typ, err := TypeOf(code)
		if err != nil {
			t.Fatal(err)
		}
		v, err := NewValue(typ, 2, false)
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if v.Type() != typ || v.SetInt(1, r[0]) != nil || v.SetInt(0, r[1]) != nil {
			t.Fatalf("%s: type %v or set failed", code, v.Type())
		}
		if err := v.SetInt(0, r[1]+1); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: above the range: %v", code, err)
		}
		if x, err := v.Add(0, 1); x != r[0] || err != nil {
			t.Fatalf("%s: add wraps to %d %v, want %d", code, x, err, r[0])
		}
		if ok, _, err := v.CompareAndSwap(1, r[0], 7); !ok || err != nil {
			t.Fatalf("%s: cas %v %v", code, ok, err)
		}
		if x, _ := v.Int(1); x != 7 {
			t.Fatalf("%s: after cas %d", code, x)
		}
		v.Close()
	}
	f, _ := NewValue(Float32, 1, false)
	defer f.Close()
	f.SetFloat(0, 0.1)
	if x, _ := f.Float(0); x != float64(float32(0.1)) {
		t.Fatalf("float32 %v", x)
	}
	if _, err := TypeOf("x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown typecode: %v", err)
	}
}

func TestSharedMemoryWrittenByChild(t *testing.T) {
	s, err := NewSharedMemory(64)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if code := run(t, "shm_write", "from the child", s); code != 0 {
		t.Fatalf("child exit %d", code)
	}
	if got := string(s.Bytes()[:14]); got != "from the child" || s.Size() != 64 {
		t.Fatalf("shared memory %q size %d", got, s.Size())
	}
	if _, err := NewSharedMemory(0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("size 0: %v", err)
	}
}
