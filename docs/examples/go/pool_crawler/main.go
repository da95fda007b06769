// The crawler pattern: workers download, callbacks in the main process
// parse (Python: p.apply_async(get_page, args=(url,), callback=parse_page)).
// No network: the "pages" are a table and downloading one is a lookup
// and a short sleep. A page that is not found is a failed task, whose
// message reaches the callback as an ErrTaskFailed error.
// Port of docs/examples/c/example_pool_crawler.c; same output.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"multiproc.dev/multiproc"
)

const workers = 3

// web is the "internet": url -> page text, in order.
var web = []struct{ url, text string }{
	{"https://www.baidu.com", "Baidu search: type a query and press enter"},
	{"https://www.python.org", "Python is a programming language that lets you work quickly and integrate systems more effectively"},
	{"https://www.openstack.org", "The most widely deployed open source cloud software in the world"},
	{"https://help.github.com/", "GitHub Docs: help for wherever you are"},
	{"http://www.sina.com.cn/", "Sina news"},
}

// urls is what the crawler asks for: every page, and one that does not exist.
var urls = []string{
	"https://www.baidu.com", "https://www.python.org",
	"https://www.openstack.org", "https://help.github.com/",
	"http://www.sina.com.cn/", "http://www.example.com/missing",
}

// getPage is def get_page(url), in a worker: the result is "url\ntext".
func getPage(arg []byte) ([]byte, error) {
	url := string(arg)
	fmt.Printf("get %s\n", url)
	for i, page := range web {
		if page.url == url {
			time.Sleep(time.Duration(50+30*(i%3)) * time.Millisecond) // the network is slow
			return []byte(page.url + "\n" + page.text), nil
		}
	}
	time.Sleep(20 * time.Millisecond)
	return nil, fmt.Errorf("404 Not Found: %s", url) // the task fails
}

// db is db.txt: the parsed lines, shared by the callbacks and main.
type db struct {
	mu     sync.Mutex
	lines  []string
	errors int
}

// parsePage is def parse_page(res), the callback, in the main process (on
// the pool's callback goroutine, one at a time).
func (d *db) parsePage(r *multiproc.AsyncResult) {
	page, err := r.Get(context.Background()) // done: never waits
	d.mu.Lock()
	defer d.mu.Unlock()
	var e *multiproc.Error
	if errors.As(err, &e) { // the error callback's part
		fmt.Printf("error %s: %s\n", e.Code.Name(), e.Detail)
		d.errors++
		return
	}
	url, text, ok := bytes.Cut(page, []byte("\n"))
	if err != nil || !ok {
		fmt.Fprintf(os.Stderr, "parse_page: bad result %q: %v\n", page, err)
		d.errors++
		return
	}
	fmt.Printf("parse %s\n", url)
	d.lines = append(d.lines, fmt.Sprintf("url:<%s> words:[%d] size:[%d]",
		url, len(strings.Fields(string(text))), len(text)))
}

func main() {
	multiproc.RegisterTask("get_page", getPage)
	multiproc.Main()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	d := &db{}
	p, err := multiproc.NewPool(&multiproc.PoolOptions{Workers: workers}) // Pool(3)
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Printf("main: crawling %d urls with Pool(%d)\n", len(urls), workers)

	var resL []*multiproc.AsyncResult
	for _, url := range urls {
		res, err := p.ApplyAsync("get_page", []byte(url), d.parsePage)
		if err != nil {
			return err
		}
		defer res.Close()
		resL = append(resL, res)
	}
	if err := p.Shutdown(); err != nil {
		return err
	}
	if err := p.Join(context.Background()); err != nil { // every callback has run now
		return err
	}
	fmt.Println("main: pool closed and joined")

	// [res.get() for res in res_l]: already handled by the callbacks.
	ok, failed := 0, 0
	for _, res := range resL {
		_, err := res.Get(context.Background())
		switch {
		case err == nil:
			ok++
		case errors.Is(err, multiproc.ErrTaskFailed):
			failed++
		default:
			return err
		}
	}
	fmt.Printf("main: res.get(): %d pages, %d failed\n", ok, failed)

	d.mu.Lock() // no callback runs any more; lock anyway
	defer d.mu.Unlock()
	sort.Strings(d.lines)
	fmt.Println("main: db.txt, sorted:")
	for _, line := range d.lines {
		fmt.Println(line)
	}
	if len(d.lines) != len(web) || d.errors != 1 || ok != len(web) || failed != 1 {
		return errors.New("the crawl did not go as expected")
	}
	return nil
}
