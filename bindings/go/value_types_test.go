package multiproc

// Values of 0.4 from Go: Bool, Records[T] (the tutorials' Point array),
// values sharing one Lock, each met by children.

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"
)

type recPoint struct{ X, Y float64 }

type mixed struct {
	B    int8
	D    float64
	H    uint16
	I    int32
	Q    int64
	Flag bool
	F    float32
	U    uint8
}

func init() {
	targets := map[string]TargetFunc{
		"value_bool_set": func(arg []byte) int {
			v, err := OpenValue(0)
			if err != nil || v.SetBool(0, true) != nil {
				return 2
			}
			return 0
		},
		// lock, points made with it: square every coordinate under the lock.
		"points_square": func(arg []byte) int {
			l, err1 := OpenLock(0)
			v, err2 := OpenValue(1)
			if err1 != nil || err2 != nil {
				return 2
			}
			A, err := AsRecords[recPoint](v)
			if err != nil || A.BindLock(l) != nil || A.Acquire(context.Background()) != nil {
				return 3
			}
			defer A.Release()
			for i := 0; i < A.Len(); i++ {
				p, err := A.At(i)
				if err != nil || A.Set(i, recPoint{p.X * p.X, p.Y * p.Y}) != nil {
					return 4
				}
			}
			return 0
		},
		// lock, counter, records "qd" made with it: n unatomic increments.
		"shared_incr": func(arg []byte) int {
			n, _ := strconv.Atoi(string(arg))
			l, err1 := OpenLock(0)
			c, err2 := OpenValue(1)
			rv, err3 := OpenValue(2)
			if err1 != nil || err2 != nil || err3 != nil || c.BindLock(l) != nil || rv.BindLock(l) != nil {
				return 2
			}
			type qd struct {
				Q int64
				D float64
			}
			r, err := AsRecords[qd](rv)
			if err != nil {
				return 3
			}
			for i := 0; i < n; i++ {
				if c.Acquire(context.Background()) != nil {
					return 4
				}
				x, _ := c.Int(0)
				rec, _ := r.At(0)
				runtime.Gosched()
				c.SetInt(0, x+1)
				r.Set(0, qd{rec.Q + 1, rec.D + 0.5})
				if r.Release() != nil { // the same lock, through the other value
					return 5
				}
			}
			return 0
		},
	}
	for name, fn := range targets {
		if err := Register(name, fn); err != nil {
			panic(err)
		}
	}
}

func TestValueBoolSetByChild(t *testing.T) {
	b, err := NewValue(Bool, 1, false) // Value(c_bool, False, lock=False)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Type() != Bool {
		t.Fatalf("type %d", b.Type())
	}
	if x, err := b.Bool(0); x || err != nil {
		t.Fatalf("new bool %v %v", x, err)
	}
	if _, err := b.Int(0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Int of a bool: %v", err)
	}
	if code := run(t, "value_bool_set", "", b); code != 0 {
		t.Fatalf("child exit %d", code)
	}
	if x, err := b.Bool(0); !x || err != nil {
		t.Fatalf("after the child: %v %v", x, err)
	}
}

func TestRecordsPointsSquaredByChild(t *testing.T) {
	lock, err := NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	A, err := NewRecordsWithLock[recPoint](2, lock) // Array(Point, ..., lock=lock)
	if err != nil {
		t.Fatal(err)
	}
	defer A.Close()
	A.Set(0, recPoint{1.875, -6.25})
	A.Set(1, recPoint{-5.75, 2.0})
	if code := run(t, "points_square", "", lock, A); code != 0 {
		t.Fatalf("child exit %d", code)
	}
	want := []recPoint{{3.515625, 39.0625}, {33.0625, 4.0}}
	for i, w := range want {
		if p, err := A.At(i); p != w || err != nil {
			t.Errorf("point %d: %v %v, want %v", i, p, err, w)
		}
	}
}

func TestRecordsEveryFieldType(t *testing.T) {
	r, err := NewRecords[mixed](2, true)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m := mixed{-7, -6.25, 65535, -1 << 31, -1 << 63, true, 1.5, 255}
	if err := r.Set(1, m); err != nil {
		t.Fatal(err)
	}
	if got, err := r.At(1); got != m || err != nil {
		t.Fatalf("got %+v %v, want %+v", got, err, m)
	}
	if got, _ := r.At(0); got != (mixed{}) {
		t.Fatalf("record 0 %+v", got)
	}
	if r.Type() != Record || r.Len() != 2 {
		t.Fatalf("type %d len %d", r.Type(), r.Len())
	}
	if _, err := AsRecords[recPoint](r.Value); !errors.Is(err, ErrInvalid) {
		t.Fatalf("records of another struct: %v", err)
	}
	type bad struct{ N uint32 }
	if _, err := NewRecords[bad](1, false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("uint32 field: %v", err)
	}
	type hidden struct{ x float64 }
	if _, err := NewRecords[hidden](1, false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unexported field: %v", err)
	}
	if _, err := NewRecords[int](1, false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("not a struct: %v", err)
	}
}

// 3 children x 2000 unatomic read-yield-write updates of a counter and a
// record that share one lock, acquired through one, released through the
// other: exact totals.
func TestSharedLockExactTotals(t *testing.T) {
	const procs, iters = 3, 2000
	lock, err := NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	c, err := NewValueWithLock(Int64, 1, lock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type qd struct {
		Q int64
		D float64
	}
	r, err := NewRecordsWithLock[qd](1, lock)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ps []*Process
	for i := 0; i < procs; i++ {
		ps = append(ps, start(t, "shared_incr", strconv.Itoa(iters), lock, c, r))
	}
	for _, p := range ps {
		if err := p.JoinTimeout(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		if code, _ := p.ExitCode(); code != 0 {
			t.Fatalf("child exit %d", code)
		}
	}
	x, _ := c.Int(0)
	rec, _ := r.At(0)
	if x != procs*iters || rec.Q != procs*iters || rec.D != procs*iters*0.5 {
		t.Fatalf("totals %d %+v, want %d", x, rec, procs*iters)
	}
	other, _ := NewLock()
	defer other.Close()
	if err := c.BindLock(other); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bind another lock: %v", err)
	}
	own, _ := NewValue(Int64, 1, true)
	defer own.Close()
	if err := own.BindLock(lock); !errors.Is(err, ErrState) {
		t.Fatalf("bind on a value with its own lock: %v", err)
	}
}
