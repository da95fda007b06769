// A shared dict (Python: Manager().dict({'count': 100}), 100 processes
// doing d['count'] -= 1, d[k] = v, d[k], in, len, del, KeyError).
// Port of docs/examples/c/example_manager_dict.c; same output.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"multiproc.dev/multiproc"
)

const workers = 100

// work is def work(d): d['count'] -= 1, atomically, without a lock.
func work([]byte) int {
	d, err := multiproc.OpenDict(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer d.Close()
	if _, err := d.Incr([]byte("count"), -1); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// printDict is print(dict(d.items())), keys sorted; "count" is an integer
// (8 bytes little-endian), every other value text.
func printDict(d *multiproc.Dict) error {
	items, err := d.Items()
	if err != nil {
		return err
	}
	sort.Slice(items, func(i, j int) bool { return string(items[i].Key) < string(items[j].Key) })
	var parts []string
	for _, it := range items {
		v := fmt.Sprintf("'%s'", it.Value)
		if string(it.Key) == "count" && len(it.Value) == 8 {
			v = fmt.Sprint(int64(binary.LittleEndian.Uint64(it.Value)))
		}
		parts = append(parts, fmt.Sprintf("'%s': %s", it.Key, v))
	}
	fmt.Printf("{%s}\n", strings.Join(parts, ", "))
	return nil
}

func countDown(d *multiproc.Dict) error {
	var procs []*multiproc.Process
	for i := 0; i < workers; i++ {
		p, err := multiproc.NewProcess("work", nil, &multiproc.ProcessOptions{Handles: []multiproc.Handle{d}})
		if err != nil {
			return err
		}
		defer p.Close()
		if err := p.Start(); err != nil {
			return err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if err := p.Join(context.Background()); err != nil {
			return err
		}
		if code, _ := p.ExitCode(); code != 0 {
			return fmt.Errorf("%s exited with %d", p.Name(), code)
		}
	}
	return nil
}

func yes(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// tour shows the other operations of a dict.
func tour(d *multiproc.Dict) error {
	if err := d.Set([]byte("name"), []byte("tickets")); err != nil {
		return err
	}
	if err := d.Set([]byte("city"), []byte("Beijing")); err != nil {
		return err
	}
	fmt.Printf("len(d) = %d\n", d.Len())
	name, err := d.Get([]byte("name"))
	if err != nil {
		return err
	}
	fmt.Printf("d['name'] = '%s'\n", name)
	fmt.Printf("'city' in d: %s\n", yes(d.Contains([]byte("city"))))
	if err := d.Delete([]byte("city")); err != nil {
		return err
	}
	fmt.Println("del d['city']")
	fmt.Printf("'city' in d: %s\n", yes(d.Contains([]byte("city"))))
	_, err = d.Get([]byte("city"))
	var e *multiproc.Error
	if !errors.As(err, &e) || e.Code != multiproc.ErrNotFound {
		return fmt.Errorf("get of a deleted key: %v", err)
	}
	fmt.Printf("d['city'] -> %s (KeyError)\n", e.Code.Name())
	// Compare-and-set: the first succeeds, the second finds the value
	// changed and leaves it alone.
	for i := 0; i < 2; i++ {
		ok, err := d.CompareAndSwap([]byte("name"), []byte("tickets"), []byte("sold out"))
		if err != nil {
			return err
		}
		what := "not swapped (the value had changed)"
		if ok {
			what = "swapped"
		}
		fmt.Printf("cas d['name'] 'tickets' -> 'sold out': %s\n", what)
	}
	return printDict(d)
}

func main() {
	multiproc.Register("work", work)
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	d, err := multiproc.NewDict(16, 4096) // dic = m.dict({'count': 100})
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Incr([]byte("count"), 100); err != nil {
		return err
	}
	if err := printDict(d); err != nil {
		return err
	}
	if err := countDown(d); err != nil {
		return err
	}
	fmt.Printf("%d processes did d['count'] -= 1:\n", workers)
	if err := printDict(d); err != nil {
		return err
	}
	if n, err := d.Incr([]byte("count"), 0); err != nil || n != 0 {
		return fmt.Errorf("count is %d (%v), expected 0", n, err)
	}
	return tour(d)
}
