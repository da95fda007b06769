package multiproc

import (
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
	p1.Join(nil)
	p2.Join(nil)
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
	if err := f.Acquire(nil); err != nil {
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
	if err := a.Acquire(nil); !errors.Is(err, ErrState) {
		t.Fatalf("acquire without lock: %v", err)
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
