package multiproc

/*
#include <stdint.h>
#include <multiproc.h>

// mp_wait takes an array of structs holding C pointers: built here on the
// C stack from Go's pointer-free arrays of kinds and handle addresses.
static int mp_go_wait(const int *kinds, const uintptr_t *handles, int *ready, size_t n,
                      int64_t ms) {
  mp_waitable_t w[MP_WAIT_MAX];
  if (n == 0 || n > MP_WAIT_MAX) return mp_wait(w, n, ms); // the library's error
  for (size_t i = 0; i < n; i++) {
    w[i].kind = kinds[i];
    w[i].handle = (void *)handles[i];
    w[i].ready = 0;
  }
  int r = mp_wait(w, n, ms);
  for (size_t i = 0; i < n; i++) ready[i] = w[i].ready;
  return r;
}

static int mp_go_sentinel(uintptr_t p) {
  int fd = -1;
  int r = mp_process_sentinel(&fd, (mp_process_t *)p);
  return r < 0 ? r : fd;
}

static int mp_go_active_children(int *pids, size_t cap, size_t *count) {
  return mp_active_children(pids, cap, count);
}
*/
import "C"

import (
	"context"
	"sync"
	"unsafe"

	"multiproc.dev/multiproc/internal/capi"
)

// WaitMax is the most objects one Wait call takes (MP_WAIT_MAX).
const WaitMax = C.MP_WAIT_MAX

// Waitable is what Wait waits on: *Conn (a message or the end of the
// stream can be received), *Queue (a message is queued, or the queue was
// shut down), *Process (it has ended) and *Event (it is set).
type Waitable interface {
	waitEntry() (kind int, h *handle)
}

func (c *Conn) waitEntry() (int, *handle)  { return C.MP_WAIT_CONN, &c.h }
func (q *Queue) waitEntry() (int, *handle) { return C.MP_WAIT_QUEUE, &q.h }
func (e *Event) waitEntry() (int, *handle) { return C.MP_WAIT_EVENT, &e.h }
func (p *Process) waitEntry() (int, *handle) {
	if p.released() != nil {
		return C.MP_WAIT_PROCESS, nil // ended and released: ready
	}
	return C.MP_WAIT_PROCESS, &p.h
}

// Wait waits until at least one of objs is ready and returns the ready
// ones, in the order given (Python's multiprocessing.connection.wait).
// It waits until ctx is done; nil waits without limit. A ctx that is
// already done still reports what is ready now (Python's timeout 0).
// When nothing became ready: ErrTimeout at ctx's deadline (errors.Is
// context.DeadlineExceeded), ErrCanceled when ctx was canceled.
//
// Ready is a snapshot: another goroutine or process may take the message
// first, so follow with a call that does not block (TryGet, a receive
// with a short timeout). The objects stay usable meanwhile; Close on one
// of them waits for Wait to return. Up to WaitMax objects (ErrNoSpace
// above); a closed object is ErrClosed, a process not started ErrState.
// Mixing descriptors (connections, processes) with futex-based objects
// (queues, events) costs one short-lived helper thread inside the C call.
func Wait(ctx context.Context, objs ...Waitable) ([]Waitable, error) {
	const op = "wait"
	mustContext(ctx)
	set := waitSet{}
	defer set.release()
	if err := set.add(op, objs); err != nil {
		return nil, err
	}
	limit := forever
	if err := ctx.Err(); err != nil || set.ended > 0 { // only look
		limit = 0
	}
	n, err := set.wait(ctx, op, limit)
	if err != nil {
		return nil, err
	}
	if n == 0 && set.ended == 0 {
		if err := ctx.Err(); err != nil {
			return nil, ctxError(op, err)
		}
		// Only ctx's deadline ends a wait without limit.
		return nil, &Error{Code: ErrTimeout, Op: op, Msg: "nothing became ready", cause: context.DeadlineExceeded}
	}
	return set.ready(objs), nil
}

// waitSet is one Wait call's arrays for C (pointer-free, so cgo may pass
// them) and the handles it holds meanwhile.
type waitSet struct {
	kinds []C.int
	ptrs  []C.uintptr_t
	flags []C.int
	index []int // objs index of each C entry
	done  []bool
	ended int // processes already ended and released: ready without C
	held  map[*handle]uintptr
}

func (s *waitSet) add(op string, objs []Waitable) error {
	s.held = map[*handle]uintptr{}
	s.done = make([]bool, len(objs))
	for i, o := range objs {
		kind, h := o.waitEntry()
		if h == nil {
			s.done[i] = true
			s.ended++
			continue
		}
		p, ok := s.held[h]
		if !ok { // each handle held once: a second read lock could deadlock with Close
			var err error
			if p, err = h.use(op); err != nil {
				return err
			}
			s.held[h] = p
		}
		s.kinds = append(s.kinds, C.int(kind))
		s.ptrs = append(s.ptrs, C.uintptr_t(p))
		s.index = append(s.index, i)
	}
	if len(objs) == 0 {
		s.kinds = append(s.kinds, 0) // the library reports n 0 as ErrInvalid
		s.ptrs = append(s.ptrs, 0)
		s.index = append(s.index, -1)
	}
	s.flags = make([]C.int, len(s.kinds))
	return nil
}

func (s *waitSet) release() {
	for h := range s.held {
		h.done()
	}
}

// wait runs mp_wait on the C entries (none: nothing to do) and returns
// how many are ready.
func (s *waitSet) wait(ctx context.Context, op string, limit int64) (int, error) {
	n := len(s.kinds)
	if s.index[0] == -1 {
		n = 0
	}
	if n == 0 && s.ended > 0 {
		return 0, nil
	}
	f := func(ms int64) int {
		return int(C.mp_go_wait(&s.kinds[0], &s.ptrs[0], &s.flags[0], C.size_t(n), C.int64_t(ms)))
	}
	if limit == 0 {
		return call(op, func() int { return f(0) })
	}
	return blocking(ctx, op, limit, f)
}

// ready lists the ready objects in their given order.
func (s *waitSet) ready(objs []Waitable) []Waitable {
	for k, i := range s.index {
		if i >= 0 && s.flags[k] != 0 {
			s.done[i] = true
		}
	}
	var out []Waitable
	for i, o := range objs {
		if s.done[i] {
			out = append(out, o)
		}
	}
	return out
}

// Sentinel is a descriptor that becomes readable when the process ends
// and stays readable (Python's Process.sentinel): the child's pidfd, or
// an eventfd the library signals. It belongs to the Process: do not
// close or read it; it is valid until Close. Errors: ErrState (not
// started), ErrClosed (closed or released by Cmd.Wait).
func (p *Process) Sentinel() (int, error) {
	return p.h.do("process sentinel", func(hp uintptr) int { return int(C.mp_go_sentinel(C.uintptr_t(hp))) })
}

// started is the registry of started target processes, for
// ActiveChildren (Python's _children): held until they are found ended.
var started struct {
	sync.Mutex
	procs map[int]*Process
}

func registerStarted(p *Process) {
	pid := p.Pid()
	if pid <= 0 {
		return
	}
	started.Lock()
	defer started.Unlock()
	if started.procs == nil {
		started.procs = map[int]*Process{}
	}
	started.procs[pid] = p
	pruneStarted(livePids())
}

// livePids are the pids of this process's live target children.
func livePids() map[int]bool {
	var count C.size_t
	C.mp_go_active_children(nil, 0, &count)
	pids := make([]C.int, int(count)+16) // room for children started meanwhile
	C.mp_go_active_children((*C.int)(unsafe.Pointer(&pids[0])), C.size_t(len(pids)), &count)
	live := map[int]bool{}
	for i := 0; i < int(count) && i < len(pids); i++ {
		live[int(pids[i])] = true
	}
	return live
}

// pruneStarted forgets the registered processes that are not live
// (called with started held).
func pruneStarted(live map[int]bool) {
	for pid := range started.procs {
		if !live[pid] {
			delete(started.procs, pid)
		}
	}
}

// ActiveChildren returns the target processes this process started that
// still run (Python's active_children()), and forgets the ended ones.
// Commands (Cmd.Start) are not listed, as Popen objects are not in
// Python. A Process is kept until it is found ended here or at a later
// Start, as Python keeps its Process objects.
func ActiveChildren() []*Process {
	live := livePids()
	started.Lock()
	defer started.Unlock()
	pruneStarted(live)
	out := make([]*Process, 0, len(started.procs))
	for _, p := range started.procs {
		out = append(out, p)
	}
	return out
}

// ParentInfo is the process that started this one (ParentProcess).
type ParentInfo struct {
	Pid  int
	Name string // its CurrentName when it started this process
}

// IsAlive reports whether the parent still runs (this process was not
// re-parented).
func (pi *ParentInfo) IsAlive() bool { return capi.Mp_parent_alive() == 1 }

// ParentProcess is the process that started this one, in a child that
// runs a target; nil elsewhere (Python's parent_process() is None).
func ParentProcess() *ParentInfo {
	if !IsChild() {
		return nil
	}
	return &ParentInfo{Pid: ParentPid(), Name: capi.Mp_parent_name()}
}
