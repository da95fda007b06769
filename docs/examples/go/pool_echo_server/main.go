// A TCP echo server whose work is done by a pool: each client gets its
// message back in upper case (Python: conn, _ = server.accept();
// p.apply_async(talk, args=(conn,))).
//
// A task receives bytes only, so the socket stays with the process that
// accepted it and the pool gets the part that is work: the server reads
// the client's request line and submits ApplyAsync("upper", line) with a
// callback, which runs in the server (on the pool's callback goroutine),
// writes the reply and closes the connection. The server goes back to
// Accept at once. One request line per connection. The server listens on
// 127.0.0.1, an ephemeral port; the 3 clients are child processes (Go
// sockets are close-on-exec, so they inherit none) that put what they got
// on a queue, printed sorted once they are joined. Every socket call has
// a 10 s deadline, so a broken run fails instead of hanging.
// Port of docs/examples/c/example_pool_echo_server.c; same output.
package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"multiproc.dev/multiproc"
)

const (
	workers   = 2
	clients   = 3
	ioTimeout = 10 * time.Second
)

// readLine reads one line (without its '\n') within ioTimeout.
func readLine(conn net.Conn) (string, error) {
	if err := conn.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// ---- the client (a child process) ----

// client's argument is "port id"; handle 0 is the results queue.
func client(arg []byte) int {
	if err := talk(string(arg)); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	return 0
}

func talk(arg string) error {
	var port, id int
	if _, err := fmt.Sscan(arg, &port, &id); err != nil {
		return err
	}
	results, err := multiproc.OpenQueue(0)
	if err != nil {
		return err
	}
	defer results.Close()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), ioTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(conn, "hello from client-%d\n", id); err != nil { // client.send(msg)
		return err
	}
	reply, err := readLine(conn) // client.recv(1024)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	return results.Put(ctx, []byte(fmt.Sprintf("client-%d got: %s", id, reply)))
}

// ---- the pool's task and its callback ----

// upper is msg.upper(), in a worker process; the reply is a line.
func upper(msg []byte) ([]byte, error) {
	return append(bytes.ToUpper(msg), '\n'), nil
}

// connection is one accepted connection; done gets the outcome of its
// reply (nil once it is sent). res stays open until the callback has run
// (it is the callback's argument).
type connection struct {
	conn net.Conn
	res  *multiproc.AsyncResult
	done chan error
}

// Close closes the connection (again, after the callback) and its result.
func (c *connection) Close() {
	c.conn.Close()
	if c.res != nil {
		c.res.Close()
	}
}

// sendReply is conn.send(msg.upper()), in the server, where the socket is.
func (c *connection) sendReply(r *multiproc.AsyncResult) {
	reply, err := r.Get(context.Background()) // done: never waits
	if err == nil {
		_, err = c.conn.Write(reply) // the deadline of readLine still holds
	}
	c.conn.Close()
	c.done <- err
}

// ---- the server (the main process) ----

func main() {
	multiproc.Register("client", client)
	multiproc.RegisterTask("upper", upper)
	multiproc.Main() // a client runs here and exits
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func startClients(port int, results *multiproc.Queue) ([]*multiproc.Process, error) {
	var procs []*multiproc.Process
	for id := 1; id <= clients; id++ {
		p, err := multiproc.NewProcess("client", []byte(fmt.Sprint(port, " ", id)),
			&multiproc.ProcessOptions{Name: fmt.Sprintf("client-%d", id),
				Handles: []multiproc.Handle{results}})
		if err == nil {
			procs = append(procs, p)
			err = p.Start()
		}
		if err != nil {
			return procs, err
		}
	}
	return procs, nil
}

// serve is: while True: conn = server.accept(); p.apply_async(talk, (conn,))
// for the clients' connections.
func serve(ln *net.TCPListener, pool *multiproc.Pool) ([]*connection, error) {
	var conns []*connection
	for i := 1; i <= clients; i++ {
		if err := ln.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
			return conns, err
		}
		conn, err := ln.Accept()
		if err != nil {
			return conns, err
		}
		c := &connection{conn: conn, done: make(chan error, 1)}
		conns = append(conns, c)
		request, err := readLine(conn)
		if err != nil {
			return conns, fmt.Errorf("server: recv: %w", err)
		}
		if c.res, err = pool.ApplyAsync("upper", []byte(request), c.sendReply); err != nil {
			return conns, err
		}
		fmt.Printf("server: connection %d: request read, reply left to the pool\n", i)
	}
	return conns, nil
}

// joinAll joins the clients and requires exit code 0 of each.
func joinAll(procs []*multiproc.Process) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*ioTimeout)
	defer cancel()
	for _, p := range procs {
		if err := p.Join(ctx); err != nil {
			return err
		}
		if code, _ := p.ExitCode(); code != 0 {
			return fmt.Errorf("%s exited with %d", p.Name(), code)
		}
	}
	return nil
}

func run() error {
	// p = Pool(2); its workers are new executions of this program and
	// inherit no socket either.
	pool, err := multiproc.NewPool(&multiproc.PoolOptions{Workers: workers})
	if err != nil {
		return err
	}
	defer pool.Close()
	results, err := multiproc.NewQueue(0)
	if err != nil {
		return err
	}
	defer results.Close()

	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println("server: listening on 127.0.0.1, an ephemeral port")

	procs, err := startClients(ln.Addr().(*net.TCPAddr).Port, results)
	for _, p := range procs {
		defer p.Close()
	}
	if err != nil {
		return err
	}
	fmt.Printf("server: %d clients started\n", clients)

	conns, err := serve(ln, pool)
	defer func() {
		pool.Close() // after it no callback touches a connection
		for _, c := range conns {
			c.Close()
		}
	}()
	if err != nil {
		return err
	}
	if err := pool.Shutdown(); err != nil {
		return err
	}
	if err := pool.Join(context.Background()); err != nil { // every reply is written now
		return err
	}
	fmt.Println("server: pool closed and joined: every callback has run")
	for i, c := range conns {
		select {
		case err := <-c.done:
			if err != nil {
				return fmt.Errorf("connection %d: %w", i+1, err)
			}
		default:
			return fmt.Errorf("connection %d: no reply sent", i+1)
		}
	}

	if err := joinAll(procs); err != nil {
		return err
	}
	fmt.Println("server: clients joined")

	// Every client has ended, so every line is queued.
	var lines []string
	for i := 0; i < clients; i++ {
		line, err := results.GetNowait()
		if err != nil {
			return err
		}
		lines = append(lines, string(line))
	}
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))
	return nil
}
