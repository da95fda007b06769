// How a Cmd becomes the C library's command: its arguments, environment,
// handles, descriptors and process attributes, checked before the spawn.

package multiproc

import (
	"os"
	"reflect"
	"strings"
	"syscall"

	"multiproc.dev/multiproc/internal/capi"
)

func (c *Cmd) environ() ([]string, error) {
	env := c.Env
	if env == nil {
		env = os.Environ()
		if pwd, ok := c.pwd(); ok {
			env = append(env, "PWD="+pwd)
		}
	}
	return dedupEnv(env)
}

// pwd is the PWD of a child with Dir and an inherited environment.
func (c *Cmd) pwd() (string, bool) {
	if c.Env != nil || c.Dir == "" {
		return "", false
	}
	if strings.HasPrefix(c.Dir, "/") {
		return c.Dir, true
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	return wd + "/" + c.Dir, true
}

var errEnvNUL = &execError{"exec: environment variable contains NUL", ErrInvalid}

// dedupEnv keeps the last entry of each key, in the order of those, and
// drops entries with a NUL byte (the C library takes C strings: "A=b\x00c"
// would run with "A=b"), reporting errEnvNUL.
func dedupEnv(env []string) ([]string, error) {
	var err error
	seen := make(map[string]bool, len(env))
	out := make([]string, 0, len(env))
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		if strings.IndexByte(kv, 0) >= 0 {
			err = errEnvNUL
			continue
		}
		k, _, _ := strings.Cut(kv, "=")
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, kv)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// build makes the C command; the caller frees it.
func (c *Cmd) build() (capi.Cmd, error) {
	var cmd capi.Cmd
	if err := check("command", func() int { return capi.Mp_cmd_new(&cmd, c.Path) }); err != nil {
		return 0, err
	}
	err := c.configure(cmd)
	if err != nil {
		capi.Mp_cmd_free(cmd)
		return 0, err
	}
	return cmd, nil
}

func (c *Cmd) configure(cmd capi.Cmd) error {
	sys, err := c.sysAttrs()
	if err != nil {
		return err
	}
	env, err := c.envSteps(cmd)
	if err != nil {
		return err
	}
	steps := append(c.argSteps(cmd), env...)
	if c.Dir != "" {
		steps = append(steps, func() int { return capi.Mp_cmd_set_cwd(cmd, c.Dir) })
	}
	steps = append(steps, sys.steps(cmd)...)
	steps = append(steps, c.extraFileSteps(cmd)...)
	steps = append(steps, c.passSteps(cmd)...)
	for _, f := range steps {
		if err := check("command", f); err != nil {
			return err
		}
	}
	return c.configureStdio(cmd)
}

func (c *Cmd) argSteps(cmd capi.Cmd) []func() int {
	var steps []func() int
	if len(c.Args) > 0 && c.Args[0] != c.Path {
		arg0 := c.Args[0]
		steps = append(steps, func() int { return capi.Mp_cmd_set_arg0(cmd, arg0) })
	}
	for _, a := range argsAfter0(c.Args) {
		a := a
		steps = append(steps, func() int { return capi.Mp_cmd_add_arg(cmd, a) })
	}
	return steps
}

// envSteps sets Env (or PWD on the inherited environment). An entry
// without '=' cannot be given through the C call and is left out.
func (c *Cmd) envSteps(cmd capi.Cmd) ([]func() int, error) {
	var steps []func() int
	if pwd, ok := c.pwd(); ok {
		steps = append(steps, func() int { return capi.Mp_cmd_env_set(cmd, "PWD", pwd) })
	}
	if c.Env == nil {
		return steps, nil
	}
	env, err := dedupEnv(c.Env)
	if err != nil {
		return nil, err
	}
	steps = append(steps, func() int { return capi.Mp_cmd_env_clear(cmd) })
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			steps = append(steps, func() int { return capi.Mp_cmd_env_set(cmd, k, v) })
		}
	}
	return steps, nil
}

// extraFileSteps gives ExtraFiles[i] to the child as descriptor 3+i.
func (c *Cmd) extraFileSteps(cmd capi.Cmd) []func() int {
	var steps []func() int
	for i, f := range c.ExtraFiles {
		if f == nil {
			continue // closed in the child, as os/exec's nil entry
		}
		fd, at := int(f.Fd()), 3+i
		steps = append(steps, func() int { return capi.Mp_cmd_pass_fd_at(cmd, fd, at) })
	}
	return steps
}

func (c *Cmd) passSteps(cmd capi.Cmd) []func() int {
	b := byName{
		queue: func(name string, q capi.Queue) int { return capi.Mp_cmd_pass_queue(cmd, name, q) },
		conn:  func(name string, x capi.Conn) int { return capi.Mp_cmd_pass_conn(cmd, name, x) },
		fd:    func(name string, fd int) int { return capi.Mp_cmd_pass_fd(cmd, name, fd) },
	}
	steps := make([]func() int, 0, len(c.pass))
	for _, p := range c.pass {
		steps = append(steps, b.step(p.name, p.h))
	}
	return steps
}

// sysAttrs are the process attributes of NewGroup, Daemon and the
// supported subset of SysProcAttr.
type sysAttrs struct{ group, session, daemon bool }

func (s sysAttrs) steps(cmd capi.Cmd) []func() int {
	return []func() int{
		func() int { return capi.Mp_cmd_set_new_group(cmd, boolInt(s.group)) },
		func() int { return capi.Mp_cmd_set_new_session(cmd, boolInt(s.session)) },
		func() int { return capi.Mp_cmd_set_daemon(cmd, boolInt(s.daemon)) },
	}
}

func (c *Cmd) sysAttrs() (sysAttrs, error) {
	s := sysAttrs{group: c.NewGroup, daemon: c.Daemon}
	a := c.SysProcAttr
	if a == nil {
		return s, nil
	}
	rest := *a
	if a.Setpgid && a.Pgid == 0 {
		s.group, rest.Setpgid = true, false
	}
	if a.Setsid {
		s.session, rest.Setsid = true, false
	}
	if a.Pdeathsig == syscall.SIGKILL {
		s.daemon, rest.Pdeathsig = true, 0
	}
	if name := firstSetField(rest); name != "" {
		return s, &Error{Code: ErrNotSupported, Op: "command start",
			Msg: "SysProcAttr." + name + " is not supported (Setpgid with Pgid 0, Setsid, Pdeathsig SIGKILL are)"}
	}
	return s, nil
}

// firstSetField names the first field of a that is not its zero value.
func firstSetField(a syscall.SysProcAttr) string {
	v := reflect.ValueOf(a)
	for i := 0; i < v.NumField(); i++ {
		if !v.Field(i).IsZero() {
			return v.Type().Field(i).Name
		}
	}
	return ""
}

func argsAfter0(args []string) []string {
	if len(args) == 0 {
		return nil
	}
	return args[1:]
}

// withHandle runs f with h's C handle, or returns MP_ECLOSED after Close.
func withHandle(h *handle, f func(uintptr) int) int {
	p, err := h.use("")
	if err != nil {
		return int(ErrClosed)
	}
	defer h.done()
	return f(p)
}

// checkNUL refuses a Path, argument or Dir with a NUL byte, which the C
// strings would cut short (os/exec: EINVAL from the system call).
func (c *Cmd) checkNUL() error {
	for _, s := range append([]string{c.Path, c.Dir}, c.Args...) {
		if strings.IndexByte(s, 0) >= 0 {
			return &Error{Code: ErrInvalid, Op: "command start", Msg: "a path or argument contains NUL"}
		}
	}
	return nil
}
