package multiproc

import (
	"context"
	"errors"
	"sort"
	"testing"
)

func TestDictOperations(t *testing.T) {
	d, err := NewDict(16, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Set([]byte("a"), []byte("1"))
	d.Set([]byte("b"), []byte("2"))
	if v, err := d.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Fatalf("get %q %v", v, err)
	}
	if _, err := d.Get([]byte("zz")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	if !d.Contains([]byte("b")) || d.Len() != 2 {
		t.Fatal("contains/len")
	}
	if ok, _ := d.CompareAndSwap([]byte("c"), nil, []byte("3")); !ok {
		t.Fatal("cas on absent key")
	}
	if ok, _ := d.CompareAndSwap([]byte("c"), nil, []byte("4")); ok {
		t.Fatal("cas absent on present key")
	}
	items, err := d.Items()
	if err != nil || len(items) != 3 {
		t.Fatalf("items %v %v", items, err)
	}
	keys := []string{}
	for _, it := range items {
		keys = append(keys, string(it.Key))
	}
	sort.Strings(keys)
	if keys[0] != "a" || keys[2] != "c" {
		t.Fatalf("keys %v", keys)
	}
	if err := d.Delete([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete([]byte("a")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	d.Clear()
	if d.Len() != 0 {
		t.Fatal("clear")
	}
}

func TestDictIncrFromChildren(t *testing.T) {
	d, _ := NewDict(4, 1024)
	defer d.Close()
	if n, err := d.Incr([]byte("count"), 10); n != 10 || err != nil {
		t.Fatalf("incr %d %v", n, err)
	}
	var ps []*Process
	for i := 0; i < 10; i++ {
		ps = append(ps, start(t, "dict_decr", "", d))
	}
	for _, p := range ps {
		p.Join(context.Background())
	}
	if n, _ := d.Incr([]byte("count"), 0); n != 0 {
		t.Fatalf("count %d after 10 decrements", n)
	}
	d.Set([]byte("s"), []byte("abc"))
	if _, err := d.Incr([]byte("s"), 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("incr of a non-integer: %v", err)
	}
}
