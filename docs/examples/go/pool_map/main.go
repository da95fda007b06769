// Pool.map and imap_unordered (Python: p.map(work, range(1, 11)),
// sum(p.imap_unordered(work, ...))). Values cross as JSON numbers.
// Port of docs/examples/c/example_pool_map.c; same output.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"multiproc.dev/multiproc"
)

const n = 10

// work is def work(n): return n**2.
func work(arg []byte) ([]byte, error) {
	var v int64
	if err := json.Unmarshal(arg, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v * v)
}

func main() {
	multiproc.RegisterTask("work", work)
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	args := make([][]byte, n) // range(1, 11)
	for i := range args {
		args[i], _ = json.Marshal(i + 1)
	}
	pool, err := multiproc.NewPool(&multiproc.PoolOptions{Workers: 2}) // Pool(2)
	if err != nil {
		return err
	}
	defer pool.Close()
	ctx := context.Background()

	results, err := pool.Map(ctx, "work", args, 0) // chunksize automatic
	if err != nil {
		return err
	}
	parts := make([]string, len(results))
	for i, r := range results {
		parts[i] = string(r)
	}
	fmt.Printf("map: [%s]\n", strings.Join(parts, ", "))

	items, err := pool.ImapChan(ctx, "work", args, 0, true) // imap_unordered
	if err != nil {
		return err
	}
	seen := make([]int, n)
	count, sum := 0, int64(0)
	for item := range items {
		if item.Err != nil {
			return item.Err
		}
		var v int64
		if err := json.Unmarshal(item.Value, &v); err != nil {
			return err
		}
		seen[item.Index]++
		count++
		sum += v
	}
	once := count == n
	for _, s := range seen {
		once = once && s == 1
	}
	fmt.Printf("imap_unordered: %d results, sum %d\n", count, sum)
	fmt.Printf("imap_unordered: every argument's result came once: %s\n", map[bool]string{true: "yes", false: "no"}[once])
	if !once {
		return fmt.Errorf("imap results missing or repeated")
	}
	if err := pool.Shutdown(); err != nil {
		return err
	}
	if err := pool.Join(ctx); err != nil {
		return err
	}
	fmt.Println("main: pool closed and joined")
	return nil
}
