// Shared values and arrays changed by a child (Python: Value('d', lock=
// True), Array('c', b'hello world'), Array('i', range(5)), n.get_lock()).
// Port of docs/examples/c/example_value_array.c; same output.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"multiproc.dev/multiproc"
)

type shared struct {
	n, s, arr *multiproc.Value
}

// modify is def modify(n, s, arr); the objects arrive as handles 0, 1, 2.
func modify([]byte) int {
	var sh shared
	var err error
	for i, slot := range []**multiproc.Value{&sh.n, &sh.s, &sh.arr} {
		if *slot, err = multiproc.OpenValue(i); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer (*slot).Close()
	}
	if err := change(sh); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func change(sh shared) error {
	// with n.get_lock(): n.value *= 2
	if err := sh.n.Acquire(context.Background()); err != nil {
		return err
	}
	v, err := sh.n.Float(0)
	if err == nil {
		err = sh.n.SetFloat(0, v*2)
	}
	sh.n.Release()
	if err != nil {
		return err
	}
	// s.value = s.value.upper()
	s, err := sh.s.Bytes()
	if err != nil {
		return err
	}
	if err := sh.s.SetBytes(bytes.ToUpper(s)); err != nil {
		return err
	}
	// arr[i] = -arr[i]
	for i := 0; i < sh.arr.Len(); i++ {
		x, err := sh.arr.Int(i)
		if err != nil {
			return err
		}
		if err := sh.arr.SetInt(i, -x); err != nil {
			return err
		}
	}
	return nil
}

func printAll(when string, sh shared) error {
	n, err := sh.n.Float(0)
	if err != nil {
		return err
	}
	s, err := sh.s.Bytes()
	if err != nil {
		return err
	}
	var items []string
	for i := 0; i < sh.arr.Len(); i++ {
		x, err := sh.arr.Int(i)
		if err != nil {
			return err
		}
		items = append(items, fmt.Sprint(x))
	}
	fmt.Printf("%s:\n", when)
	fmt.Printf("  n.value = %g\n", n)
	fmt.Printf("  s.value = b'%s'\n", s)
	fmt.Printf("  arr[:] = [%s]\n", strings.Join(items, ", "))
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

func run() error {
	var sh shared
	var err error
	if sh.n, err = multiproc.NewValue(multiproc.Float64, 1, true); err != nil { // Value('d', lock=True)
		return err
	}
	defer sh.n.Close()
	if sh.s, err = multiproc.NewValue(multiproc.Bytes, 32, false); err != nil { // Array('c')
		return err
	}
	defer sh.s.Close()
	if sh.arr, err = multiproc.NewValue(multiproc.Int32, 5, false); err != nil { // Array('i', 5)
		return err
	}
	defer sh.arr.Close()
	sh.n.SetFloat(0, 1.875)
	sh.s.SetBytes([]byte("hello world"))
	for i := 0; i < 5; i++ {
		sh.arr.SetInt(i, int64(i))
	}
	if err := printAll("before", sh); err != nil {
		return err
	}
	p, err := multiproc.NewProcess("modify", nil, &multiproc.ProcessOptions{
		Handles: []multiproc.Handle{sh.n, sh.s, sh.arr}})
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
	code, err := p.ExitCode()
	if err != nil {
		return err
	}
	fmt.Printf("modify() exited with %d\n", code)
	if code != 0 {
		return fmt.Errorf("modify failed")
	}
	return printAll("after", sh)
}
