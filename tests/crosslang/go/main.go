// The Go peer of the cross-language tests: a program that a parent in any
// language starts with queues passed by name (mp_cmd_pass_queue).
//
//	multiproc-go-peer produce ID COUNT [BATCH]
//	                                     put "ID:SEQ" for SEQ = 0..COUNT-1 on "q"
//	                                     (BATCH > 1: BATCH per Queue.PutMany)
//	multiproc-go-peer consume            print every message of "q", one a line, until it is closed
//	multiproc-go-peer worker             for each message m of "tasks" put "done:"+m on "results",
//	                                     until "tasks" is closed and drained
//	multiproc-go-peer produce-json ID COUNT
//	                                     put jsonMsg{ID, SEQ, jsonText} on "q" (TypedQueue, JSONCodec)
//	multiproc-go-peer consume-json       print "ID:SEQ" of every jsonMsg of "q"; a text other than
//	                                     jsonText fails
//
// The queues are passed by the parent, or, with MP_CROSSLANG_QUEUE_AT set
// ("redis://host:port"), opened at MP_CROSSLANG_QUEUE_AT#NAME.
//
// Exit status 0 on success; on any error a message on stderr and status 1.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"multiproc.dev/multiproc"
)

func main() {
	multiproc.Main()
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "multiproc-go-peer:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	switch {
	case (len(args) == 3 || len(args) == 4) && args[0] == "produce":
		count, err := strconv.Atoi(args[2])
		if err != nil || count < 0 {
			return fmt.Errorf("bad COUNT %q", args[2])
		}
		batch := 1
		if len(args) == 4 {
			if batch, err = strconv.Atoi(args[3]); err != nil || batch < 1 {
				return fmt.Errorf("bad BATCH %q", args[3])
			}
		}
		return produce(args[1], count, batch)
	case len(args) == 1 && args[0] == "consume":
		return consume()
	case len(args) == 1 && args[0] == "worker":
		return worker()
	case len(args) == 3 && args[0] == "produce-json":
		count, err := strconv.Atoi(args[2])
		if err != nil || count < 0 {
			return fmt.Errorf("bad COUNT %q", args[2])
		}
		return produceJSON(args[1], count)
	case len(args) == 1 && args[0] == "consume-json":
		return consumeJSON()
	}
	return errors.New("usage: produce ID COUNT [BATCH] | consume | worker")
}

// openQueue opens the queue name: passed by the parent, or at
// MP_CROSSLANG_QUEUE_AT.
func openQueue(name string) (*multiproc.Queue, error) {
	at := os.Getenv("MP_CROSSLANG_QUEUE_AT")
	if at == "" {
		return multiproc.InheritQueue(name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return multiproc.OpenQueueAt(ctx, at+"#"+name)
}

func produce(id string, count, batch int) error {
	q, err := openQueue("q")
	if err != nil {
		return err
	}
	defer q.Close()
	for seq := 0; seq < count; seq += batch {
		msgs := [][]byte{}
		for k := seq; k < count && k < seq+batch; k++ {
			msgs = append(msgs, []byte(id+":"+strconv.Itoa(k)))
		}
		if batch == 1 {
			err = q.Put(context.Background(), msgs[0])
		} else {
			_, err = q.PutMany(context.Background(), msgs)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func consume() error {
	q, err := openQueue("q")
	if err != nil {
		return err
	}
	defer q.Close()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for {
		m, err := q.Get(context.Background())
		if errors.Is(err, multiproc.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		out.Write(m)
		out.WriteByte('\n')
	}
}

// jsonMsg is the message of the JSON mode, as every language writes it.
type jsonMsg struct {
	ID   string `json:"id"`
	Seq  int    `json:"seq"`
	Text string `json:"text"`
}

const jsonText = "h\u00e9llo \u2713"

func produceJSON(id string, count int) error {
	q, err := openQueue("q")
	if err != nil {
		return err
	}
	defer q.Close()
	tq := multiproc.TypedQueueOf[jsonMsg](q, nil)
	for seq := 0; seq < count; seq++ {
		if err := tq.Put(context.Background(), jsonMsg{id, seq, jsonText}); err != nil {
			return err
		}
	}
	return nil
}

func consumeJSON() error {
	q, err := openQueue("q")
	if err != nil {
		return err
	}
	defer q.Close()
	tq := multiproc.TypedQueueOf[jsonMsg](q, nil)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for {
		m, err := tq.Get(context.Background())
		if errors.Is(err, multiproc.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.Text != jsonText {
			return fmt.Errorf("not the JSON message expected: %+v", m)
		}
		fmt.Fprintf(out, "%s:%d\n", m.ID, m.Seq)
	}
}

func worker() error {
	tasks, err := openQueue("tasks")
	if err != nil {
		return err
	}
	defer tasks.Close()
	results, err := openQueue("results")
	if err != nil {
		return err
	}
	defer results.Close()
	for {
		m, err := tasks.Get(context.Background())
		if errors.Is(err, multiproc.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := results.Put(context.Background(), append([]byte("done:"), m...)); err != nil {
			return err
		}
	}
}
