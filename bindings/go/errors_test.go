package multiproc

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestErrorMatchesItsCodeOnly(t *testing.T) {
	q, err := NewQueue(0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	_, err = q.GetNowait()
	if !errors.Is(err, ErrEmpty) || errors.Is(err, ErrTimeout) {
		t.Fatalf("get on empty queue: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != ErrEmpty || e.Op != "queue get" {
		t.Fatalf("error fields: %#v", err)
	}
	if !strings.Contains(err.Error(), "queue get") {
		t.Fatalf("message %q", err.Error())
	}
}

func TestCodesNameTheCTable(t *testing.T) {
	codes := map[Code]string{
		ErrInvalid: "EINVAL", ErrNoMemory: "ENOMEM", ErrTimeout: "ETIMEDOUT",
		ErrEmpty: "EEMPTY", ErrFull: "EFULL", ErrClosed: "ECLOSED",
		ErrBrokenPipe: "EPIPE", ErrNotFound: "ENOENT", ErrState: "ESTATE",
		ErrOwnerDead: "EOWNERDEAD", ErrWorkerDied: "EWORKERDIED",
		ErrTaskFailed: "ETASKFAILED", ErrCanceled: "ECANCELED", ErrNoSpace: "ENOSPC",
		ErrMsgSize: "EMSGSIZE", ErrSystem: "ESYS", ErrAccess: "EACCES",
		ErrNotSupported: "ENOTSUP", ErrExist: "EEXIST", ErrCalledProcess: "ECALLEDPROCESS",
		ErrConnRefused: "ECONNREFUSED",
	}
	for c, name := range codes {
		if c.Name() != name || c.Error() == "" || c.Error() == "unknown error" {
			t.Errorf("code %d: name %q message %q, want %s", int(c), c.Name(), c.Error(), name)
		}
	}
}

func TestClosedObjectGivesErrClosed(t *testing.T) {
	ev, err := NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	ev.Close()
	if err := ev.Set(); !errors.Is(err, ErrClosed) {
		t.Fatalf("set after close: %v", err)
	}
	if err := ev.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestDoneContextFailsBeforeTheCall(t *testing.T) {
	q := testQueue(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := q.Put(ctx, []byte("x"))
	if !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("put with canceled ctx: %v", err)
	}
	if q.Len() != 0 {
		t.Fatal("a canceled put stored its message")
	}
}

func TestRegisterRefusesDuplicatesAndNil(t *testing.T) {
	if err := Register("exit_with", func([]byte) int { return 0 }); !errors.Is(err, ErrExist) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := Register("x", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil: %v", err)
	}
	if err := RegisterTask("", func([]byte) ([]byte, error) { return nil, nil }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty name: %v", err)
	}
}
