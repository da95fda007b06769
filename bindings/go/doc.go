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
// also matches context.Canceled or context.DeadlineExceeded.
//
// Contexts: every blocking operation is one call whose first argument
// is a context.Context, in every family: cancelling it wakes the call at
// once, and its deadline is the call's timeout (context.WithTimeout is
// Python's timeout=). A call with context.Background() (or any context
// that is never done) is one cgo call with no allocation and no OS-thread
// lock; a queue's Put, Get and GetInto of a small message that needs no
// wait make no cgo call at all (they work on the queue's ring, as the
// library would, and call it for everything else). A nil context panics ("nil Context") before the call does
// anything, as os/exec's CommandContext does. A blocking call occupies
// only the OS thread of its own goroutine. The non-blocking forms carry
// Python's names: Queue.PutNowait and GetNowait, TryAcquire.
//
// Timeouts: the XxxTimeout methods of 0.1 are deprecated; they still
// work, and like Conn.Poll take a time.Duration. As with time.After and
// context.WithTimeout, a d <= 0 has already expired: the call tries once
// without waiting and reports ErrTimeout if it could not complete now; it
// never waits forever. A positive d is rounded up to whole milliseconds,
// so a wait never ends early.
//
// Every object has a Close method that releases this process's handle
// and clears the object's finalizer; the finalizer closes only forgotten
// objects, as a safety net. The objects shared between processes live on
// while another process holds them.
//
// The package is a thin layer over the C library libmultiproc, whose
// generated SWIG wrapper is the internal package internal/capi.
package multiproc
