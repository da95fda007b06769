package multiproc

/*
#cgo pkg-config: multiproc
#include <stdint.h>
#include <stdlib.h>

int mp_go_register(const char *name, uintptr_t handle);
int mp_go_register_task(const char *name, uintptr_t handle);
int mp_go_main(int argc, char **argv);
*/
import "C"

import (
	"fmt"
	"os"
	"runtime/cgo"
	"sync"
	"unsafe"

	"multiproc.dev/multiproc/internal/capi"
)

// TargetFunc is a function a child process runs (Python's Process
// target). arg is the argument given to NewProcess; the return value is
// the child's exit status.
type TargetFunc func(arg []byte) int

// TaskFunc is a pool task: it gets one argument and returns the result
// bytes, or an error that fails the task with ErrTaskFailed (its message
// reaches the caller in Error.Detail). A panic fails the task the same way.
type TaskFunc func(arg []byte) ([]byte, error)

// Register makes fn runnable in a child under name. Register every target
// before Main (in init or at the top of main), in the parent and the
// child alike, because a child is a new execution of the program.
// Errors: ErrInvalid (bad name, nil fn), ErrExist (name taken).
func Register(name string, fn TargetFunc) error {
	if fn == nil {
		return &Error{Code: ErrInvalid, Op: "register", Msg: "nil function"}
	}
	return register("register", name, cgo.NewHandle(fn), false)
}

// RegisterTask makes fn runnable by pool workers under name (a namespace
// apart from Register's). Register before Main, like Register.
func RegisterTask(name string, fn TaskFunc) error {
	if fn == nil {
		return &Error{Code: ErrInvalid, Op: "register task", Msg: "nil function"}
	}
	return register("register task", name, cgo.NewHandle(fn), true)
}

// startup is what starting a child depends on: whether Main ran, and the
// targets registered after it, which a child (a new execution of the
// program, where Main runs first) would not find. Checked in Go, so that
// the errors name Go's functions, not the C library's.
var startup struct {
	sync.Mutex
	mainDone bool
	late     map[string]bool
}

// mainDone reports whether Main ran in this process.
func mainDone() bool {
	startup.Lock()
	defer startup.Unlock()
	return startup.mainDone
}

// errNoMain is the error of starting a child before Main was called.
func errNoMain(op string) error {
	return &Error{Code: ErrState, Op: op,
		Msg: "call multiproc.Main first thing in main (and in TestMain): a child is a new execution of this program"}
}

// errLateTarget is the error of a process whose target was registered
// after Main, or nil.
func errLateTarget(op, target string) error {
	startup.Lock()
	late := startup.late[target]
	startup.Unlock()
	if !late {
		return nil
	}
	return &Error{Code: ErrState, Op: op, Msg: "target '" + target +
		"' was registered after Main: call multiproc.Register before multiproc.Main (in init or at the top of main), or the child cannot find it"}
}

func register(op, name string, h cgo.Handle, task bool) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	err := check(op, func() int {
		if task {
			return int(C.mp_go_register_task(cname, C.uintptr_t(h)))
		}
		return int(C.mp_go_register(cname, C.uintptr_t(h)))
	})
	if err != nil {
		h.Delete()
		return err
	}
	startup.Lock()
	if startup.mainDone && !task {
		if startup.late == nil {
			startup.late = map[string]bool{}
		}
		startup.late[name] = true
	}
	startup.Unlock()
	return nil
}

// Main must be called first thing in main (and in TestMain), after the
// registrations. In a child that multiproc started to run a target or to
// be a pool worker it runs that and ends the process; it never returns
// there. In any other process it returns at once.
func Main() {
	argv := make([]*C.char, len(os.Args)+1)
	for i, a := range os.Args {
		argv[i] = C.CString(a)
	}
	// mp_main copies argv (the C strings are in C memory, the array too).
	cargv := (**C.char)(C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof(argv[0]))))
	copy(unsafe.Slice(cargv, len(argv)), argv)
	rc := C.mp_go_main(C.int(len(os.Args)), cargv)
	for _, p := range argv {
		C.free(unsafe.Pointer(p))
	}
	C.free(unsafe.Pointer(cargv))
	if rc != 0 {
		fmt.Fprintf(os.Stderr, "multiproc: main: %s\n", Code(rc).Error())
		os.Exit(1)
	}
	startup.Lock()
	startup.mainDone = true
	startup.Unlock()
}

//export goTarget
func goTarget(arg unsafe.Pointer, n C.size_t, h C.uintptr_t) C.int {
	fn := cgo.Handle(h).Value().(TargetFunc)
	return C.int(fn(C.GoBytes(arg, C.int(n))))
}

//export goTask
func goTask(out *unsafe.Pointer, outLen *C.size_t, arg unsafe.Pointer, n C.size_t, h C.uintptr_t) (rc C.int) {
	fn := cgo.Handle(h).Value().(TaskFunc)
	res, err := runTask(fn, C.GoBytes(arg, C.int(n)))
	if err != nil {
		res, rc = []byte(err.Error()), 1
	}
	if len(res) > 0 {
		*out = C.CBytes(res) // malloc'd: the library frees it
		*outLen = C.size_t(len(res))
	}
	return rc
}

// runTask calls fn and turns a panic into the task's error.
func runTask(fn TaskFunc, arg []byte) (res []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn(arg)
}

// IsChild reports whether this process is a child that multiproc started
// to run a target (Python's parent_process() is not None).
func IsChild() bool { return capi.Mp_is_child() == 1 }

// CurrentName is this process's name: "MainProcess", or a child's name.
func CurrentName() string { return capi.Mp_current_name() }

// ParentPid is the pid of the process that started this one.
func ParentPid() int { return capi.Mp_parent_pid() }

// CPUCount is the number of CPUs online.
func CPUCount() int { return capi.Mp_cpu_count() }

// Version is the C library's version ("0.4.0").
func Version() string { return capi.Mp_version() }

// SetExitJoin chooses whether this process, when it exits normally,
// joins its non-daemon children and terminates its daemon children
// (true, the default, Python's behaviour). Go programs that end with
// os.Exit skip it either way.
func SetExitJoin(enabled bool) error {
	return check("set exit join", func() int { return capi.Mp_set_exit_join(boolInt(enabled)) })
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
