package multiproc

/*
#include <stdint.h>

int mp_go_barrier_set_action(uintptr_t barrier, uintptr_t handle);
*/
import "C"

import (
	"runtime/cgo"
	"sync"
)

// barrierActions keeps each Barrier's action alive while its C handle may
// call it (the C library holds only the cgo.Handle number).
var barrierActions = struct {
	sync.Mutex
	m map[*Barrier]cgo.Handle
}{m: map[*Barrier]cgo.Handle{}}

// keepAction records h as b's action and returns the one it replaces (0:
// none).
func keepAction(b *Barrier, h cgo.Handle) cgo.Handle {
	barrierActions.Lock()
	defer barrierActions.Unlock()
	old := barrierActions.m[b]
	if h == 0 {
		delete(barrierActions.m, b)
	} else {
		barrierActions.m[b] = h
	}
	return old
}

// SetAction gives this process's handle the barrier's action (Python's
// Barrier(action=)): when a round's last party arrives, its process runs
// its own action, inside its Wait and holding the barrier's bookkeeping
// lock, before any party of the round is released. A function cannot
// cross processes, so every process that waits on the barrier calls
// SetAction on its handle (after OpenBarrier in a child); once one has, a
// process that has not and arrives last breaks the barrier (ErrState)
// rather than skipping the action. An action that returns an error or
// panics breaks the barrier: that party's Wait returns ErrTaskFailed, the
// others' ErrState. The action must not Wait on, Abort or Reset its own
// barrier. A Barrier with an action is kept until Close (the C handle
// may call it): close it when done.
func (b *Barrier) SetAction(action func() error) error {
	if action == nil {
		return &Error{Code: ErrInvalid, Op: "barrier set action", Msg: "nil action"}
	}
	h := cgo.NewHandle(action)
	_, err := b.h.do("barrier set action", func(p uintptr) int {
		return int(C.mp_go_barrier_set_action(C.uintptr_t(p), C.uintptr_t(h)))
	})
	if err != nil {
		h.Delete()
		return err
	}
	if old := keepAction(b, h); old != 0 {
		old.Delete() // the C handle holds the new one now
	}
	return nil
}

// forgetAction drops the action once the C handle is gone.
func (b *Barrier) forgetAction() {
	if h := keepAction(b, 0); h != 0 {
		h.Delete()
	}
}

//export goBarrierAction
func goBarrierAction(h C.uintptr_t) (rc C.int) {
	defer func() {
		if recover() != nil {
			rc = 1
		}
	}()
	if err := cgo.Handle(h).Value().(func() error)(); err != nil {
		return 1
	}
	return 0
}
