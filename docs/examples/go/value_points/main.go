// The whole `modify` example of 共享内存 (004): Value('i', 7), Value(c_bool),
// Array('c', ..., lock=lock), Array('i', range(5), lock=True) and
// Array(Point, ..., lock=lock) changed by a child; s and A share one lock.
// Port of docs/examples/c/example_value_points.c; same output.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"multiproc.dev/multiproc"
)

// Point is class Point(Structure): _fields_ = [('x', c_double), ('y', c_double)].
type Point struct{ X, Y float64 }

type shared struct {
	lock         *multiproc.Lock
	n, b, s, arr *multiproc.Value
	A            *multiproc.Records[Point]
}

var names = []string{"n", "b", "s", "arr", "A"}

// open opens, in the child, what the parent passed by name; s and A are
// bound to this process's handle on their shared lock.
func open() (sh shared, err error) {
	if sh.lock, err = multiproc.InheritLock("lock"); err != nil {
		return sh, err
	}
	vals := make([]*multiproc.Value, len(names))
	for i, name := range names {
		if vals[i], err = multiproc.InheritValue(name); err != nil {
			return sh, err
		}
	}
	sh.n, sh.b, sh.s, sh.arr = vals[0], vals[1], vals[2], vals[3]
	if sh.A, err = multiproc.AsRecords[Point](vals[4]); err != nil {
		return sh, err
	}
	if err = sh.s.BindLock(sh.lock); err == nil {
		err = sh.A.BindLock(sh.lock)
	}
	return sh, err
}

// locked runs f holding v's lock.
func locked(v *multiproc.Value, f func() error) error {
	if err := v.Acquire(context.Background()); err != nil {
		return err
	}
	defer v.Release()
	return f()
}

func modify([]byte) int {
	sh, err := open()
	if err == nil {
		err = change(sh)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func change(sh shared) error {
	return firstError(
		locked(sh.n, func() error { // n.value **= 2
			x, err := sh.n.Int(0)
			if err != nil {
				return err
			}
			return sh.n.SetInt(0, x*x)
		}),
		sh.b.SetBool(0, true), // b.value = True
		locked(sh.s, func() error { // s.value = s.value.upper()
			s, err := sh.s.Bytes()
			if err != nil {
				return err
			}
			return sh.s.SetBytes(bytes.ToUpper(s))
		}),
		sh.arr.SetInt(0, 10), // arr[0] = 10
		locked(sh.A.Value, func() error { // for a in A: a.x **= 2; a.y **= 2
			for i := 0; i < sh.A.Len(); i++ {
				a, err := sh.A.At(i)
				if err == nil {
					err = sh.A.Set(i, Point{a.X * a.X, a.Y * a.Y})
				}
				if err != nil {
					return err
				}
			}
			return nil
		}),
	)
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// pyFloat is Python's repr of a float: the shortest form, with ".0".
func pyFloat(x float64) string {
	s := strconv.FormatFloat(x, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func printAll(sh shared) error {
	n, err1 := sh.n.Int(0)
	b, err2 := sh.b.Bool(0)
	s, err3 := sh.s.Bytes()
	if err := firstError(err1, err2, err3); err != nil {
		return err
	}
	var items, points []string
	for i := 0; i < sh.arr.Len(); i++ {
		x, err := sh.arr.Int(i)
		if err != nil {
			return err
		}
		items = append(items, fmt.Sprint(x))
	}
	for i := 0; i < sh.A.Len(); i++ {
		a, err := sh.A.At(i)
		if err != nil {
			return err
		}
		points = append(points, fmt.Sprintf("(%s, %s)", pyFloat(a.X), pyFloat(a.Y)))
	}
	fmt.Println(n)
	fmt.Println(map[bool]string{true: "True", false: "False"}[b])
	fmt.Printf("b'%s'\n", s)
	fmt.Printf("[%s]\n", strings.Join(items, ", "))
	fmt.Printf("[%s]\n", strings.Join(points, ", "))
	return nil
}

func main() {
	multiproc.Register("modify", modify)
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func create() (sh shared, err error) {
	if sh.lock, err = multiproc.NewLock(); err != nil {
		return sh, err
	}
	if sh.n, err = multiproc.NewValue(multiproc.Int32, 1, true); err != nil { // Value('i', 7)
		return sh, err
	}
	if sh.b, err = multiproc.NewValue(multiproc.Bool, 1, false); err != nil { // Value(c_bool, False, lock=False)
		return sh, err
	}
	if sh.s, err = multiproc.NewValueWithLock(multiproc.Bytes, 32, sh.lock); err != nil { // Array('c', ..., lock=lock)
		return sh, err
	}
	if sh.arr, err = multiproc.NewValue(multiproc.Int32, 5, true); err != nil { // Array('i', range(5), lock=True)
		return sh, err
	}
	if sh.A, err = multiproc.NewRecordsWithLock[Point](2, sh.lock); err != nil { // Array(Point, ..., lock=lock)
		return sh, err
	}
	errs := []error{sh.n.SetInt(0, 7), sh.s.SetBytes([]byte("hello world")),
		sh.A.Set(0, Point{1.875, -6.25}), sh.A.Set(1, Point{-5.75, 2.0})}
	for i := 0; i < 5; i++ {
		errs = append(errs, sh.arr.SetInt(i, int64(i)))
	}
	return sh, firstError(errs...)
}

func run() error {
	sh, err := create()
	if err != nil {
		return err
	}
	pass := map[string]multiproc.Handle{"lock": sh.lock, "n": sh.n, "b": sh.b, "s": sh.s, "arr": sh.arr, "A": sh.A}
	p, err := multiproc.NewProcess("modify", nil, &multiproc.ProcessOptions{Pass: pass})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.Start(); err != nil {
		return err
	}
	if err := p.Join(context.Background()); err != nil {
		return err
	}
	if code, err := p.ExitCode(); err != nil || code != 0 {
		return fmt.Errorf("modify() exited with %d (%v)", code, err)
	}
	return printAll(sh)
}
