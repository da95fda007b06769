// Package multiproc brings Python's multiprocessing and subprocess model to
// Go: commands (Command, Run, Output, Communicate), processes running
// registered functions (NewProcess), connections (Pipe), queues, locks,
// semaphores, events, conditions, barriers, shared values and memory, a
// shared dict, and pools of worker processes.
//
// Go never forks: a child that runs a Go function is a new execution of
// the same binary (the spawn start method). Register every function a
// child may run, then call Main first thing in main (and in TestMain):
//
//	func init() {
//		multiproc.Register("worker", worker)
//	}
//
//	func main() {
//		multiproc.Main() // in a child: runs the target and exits
//		...
//	}
//
// Errors are *Error values that match the sentinel codes with errors.Is
// (errors.Is(err, multiproc.ErrTimeout)); a call ended by its context
// also matches context.Canceled or context.DeadlineExceeded. Blocking
// calls take a context.Context: cancelling it wakes the call at once, and
// its deadline is the call's timeout. A blocking call occupies only the
// OS thread of its own goroutine.
//
// Timeouts: the XxxTimeout methods (and Conn.Poll) take a time.Duration
// instead of a context. As with time.After and context.WithTimeout, a
// d <= 0 has already expired: the call tries once without waiting and
// reports ErrTimeout if it could not complete now; it never waits
// forever. A positive d is rounded up to whole milliseconds, so a wait
// never ends early. To wait without limit, use the context form with a
// context that has no deadline.
//
// Every object has a Close method that releases this process's handle;
// a finalizer closes forgotten objects as a safety net. The objects shared
// between processes live on while another process holds them.
//
// The package is a thin layer over the C library libmultiproc, whose
// generated SWIG wrapper is the internal package internal/capi.
package multiproc
