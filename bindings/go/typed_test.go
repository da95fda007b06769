package multiproc

// Tests of the typed wrappers: TypedQueue across a child process with each
// codec, TypedDict, RegisterFunc on a pool, and the errors that name the
// type and the object.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

type point struct {
	X, Y int
	Tag  string
}

// Registered in init (before TestMain's Main), as a program would.
var (
	typedScale *Func[point, point]
	typedFail  *Func[int, int]
	typedGob   *Func[point, []point]
)

func init() {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var err error
	typedScale, err = RegisterFunc("typed_scale", func(p point) (point, error) {
		return point{p.X * 10, p.Y * 10, p.Tag + "!"}, nil
	})
	must(err)
	typedFail, err = RegisterFunc("typed_fail", func(n int) (int, error) {
		return 0, fmt.Errorf("no %d", n)
	})
	must(err)
	typedGob, err = RegisterFuncWith("typed_gob", func(p point) ([]point, error) {
		return []point{p, p}, nil
	}, GobCodec[point](), GobCodec[[]point]())
	must(err)
	// A child that echoes points scaled by 2, in the codec named by arg.
	must(Register("typed_echo", func(arg []byte) int {
		in, err := OpenQueue(0)
		if err != nil {
			return 2
		}
		out, err := OpenQueue(1)
		if err != nil {
			return 2
		}
		codec := codecByName[point](string(arg))
		tin, tout := TypedQueueOf(in, codec), TypedQueueOf(out, codec)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			p, err := tin.Get(ctx)
			if err != nil {
				return 3
			}
			if p.Tag == "end" {
				return 0
			}
			if tout.Put(ctx, point{p.X * 2, p.Y * 2, p.Tag}) != nil {
				return 4
			}
		}
	}))
}

func codecByName[T any](name string) Codec[T] {
	if name == "gob" {
		return GobCodec[T]()
	}
	return JSONCodec[T]()
}

func TestTypedQueueAcrossProcesses(t *testing.T) {
	for _, codec := range []string{"json", "gob"} {
		t.Run(codec, func(t *testing.T) {
			ctx := ctxTimeout(t, 60*time.Second)
			in, err := NewTypedQueue(0, codecByName[point](codec))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			out, err := NewTypedQueue(0, codecByName[point](codec))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			p, err := NewProcess("typed_echo", []byte(codec), &ProcessOptions{Handles: []Handle{in, out}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				if err := in.Put(ctx, point{i, -i, "a"}); err != nil {
					t.Fatal(err)
				}
				got, err := out.Get(ctx)
				if err != nil || got != (point{2 * i, -2 * i, "a"}) {
					t.Fatalf("got %+v, %v; want {%d %d a}", got, err, 2*i, -2*i)
				}
			}
			if err := in.Put(ctx, point{Tag: "end"}); err != nil {
				t.Fatal(err)
			}
			if err := p.Join(ctx); err != nil {
				t.Fatal(err)
			}
			if code, _ := p.ExitCode(); code != 0 {
				t.Fatalf("child exit %d", code)
			}
		})
	}
}

func TestTypedQueueDecodeErrorNamesTypeAndObject(t *testing.T) {
	ctx := ctxTimeout(t, 30*time.Second)
	tq, err := NewTypedQueue[point](0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tq.Close()
	if err := tq.Queue().Put(ctx, []byte("not json")); err != nil {
		t.Fatal(err)
	}
	_, err = tq.Get(ctx)
	var de *DecodeError
	if !errors.As(err, &de) || de.Type != "multiproc.point" || de.Object != "queue" || de.Codec != "json" {
		t.Fatalf("err %v (%#v), want a DecodeError of multiproc.point from the queue", err, de)
	}
	if !strings.Contains(err.Error(), "multiproc.point") || !strings.Contains(err.Error(), "queue") {
		t.Fatalf("message %q names neither type nor object", err)
	}
	// Raw is []byte as it is; an unencodable value puts nothing.
	raw := TypedQueueOf(tq.Queue(), RawCodec())
	if err := raw.Put(ctx, []byte{0, 1}); err != nil {
		t.Fatal(err)
	}
	if b, err := raw.Get(ctx); err != nil || string(b) != "\x00\x01" {
		t.Fatalf("raw got %q %v", b, err)
	}
	funcs := TypedQueueOf[func()](tq.Queue(), nil)
	var ee *EncodeError
	if err := funcs.Put(ctx, func() {}); !errors.As(err, &ee) || ee.Type != "func()" {
		t.Fatalf("encode err %v", err)
	}
	if n := tq.Len(); n != 0 {
		t.Fatalf("queue holds %d after a failed encode", n)
	}
}

func TestTypedDict(t *testing.T) {
	d, err := NewTypedDict[point](16, 4096, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Set("p", point{3, 4, "x"}); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Get("p"); err != nil || got != (point{3, 4, "x"}) {
		t.Fatalf("get %+v %v", got, err)
	}
	if _, err := d.Get("missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	if err := d.Dict().Set([]byte("bad"), []byte("{")); err != nil {
		t.Fatal(err)
	}
	_, err = d.Get("bad")
	var de *DecodeError
	if !errors.As(err, &de) || de.Object != `dict key "bad"` || de.Type != "multiproc.point" {
		t.Fatalf("err %v, want a DecodeError naming the key and the type", err)
	}
	if _, err := d.Items(); !errors.As(err, &de) {
		t.Fatalf("items with a bad value: %v", err)
	}
	d.Delete("bad")
	if items, err := d.Items(); err != nil || len(items) != 1 || items["p"].Tag != "x" {
		t.Fatalf("items %v %v", items, err)
	}
}

func TestRegisterFuncOnPool(t *testing.T) {
	p := testPool(t, 2)
	ctx := ctxTimeout(t, 60*time.Second)
	if r, err := typedScale.Apply(ctx, p, point{1, 2, "a"}); err != nil || r != (point{10, 20, "a!"}) {
		t.Fatalf("apply %+v %v", r, err)
	}
	rs, err := typedScale.Map(ctx, p, []point{{1, 1, "a"}, {2, 2, "b"}, {3, 3, "c"}}, 1)
	if err != nil || len(rs) != 3 || rs[2] != (point{30, 30, "c!"}) {
		t.Fatalf("map %+v %v", rs, err)
	}
	if r, err := typedGob.Apply(ctx, p, point{5, 6, "g"}); err != nil || len(r) != 2 || r[1].Y != 6 {
		t.Fatalf("gob apply %+v %v", r, err)
	}
	_, err = typedFail.Apply(ctx, p, 7)
	var e *Error
	if !errors.Is(err, ErrTaskFailed) || !errors.As(err, &e) || !strings.Contains(e.Detail, "no 7") {
		t.Fatalf("failing task: %v", err)
	}
	// An argument the worker cannot decode fails the task with the type named.
	_, err = p.Apply(ctx, typedScale.Name(), []byte("[1,2]"))
	if !errors.Is(err, ErrTaskFailed) || !errors.As(err, &e) ||
		!strings.Contains(e.Detail, "multiproc.point") || !strings.Contains(e.Detail, `task "typed_scale" argument`) {
		t.Fatalf("undecodable argument: %v (detail %q)", err, e.Detail)
	}
}
