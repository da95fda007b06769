// Parent-death watching of the portable backend (issue 18): what
// PR_SET_PDEATHSIG does for the Linux backend, done with a pipe. A process
// that starts daemon targets keeps the write end of one pipe for its whole
// life and gives the read end to those children; the kernel closes the
// write end however the parent ends (SIGKILL too), and a thread in the
// child that sees the hang-up kills the child with SIGKILL, the signal
// PR_SET_PDEATHSIG sends. Only the parent holds the write end: it is
// close-on-exec, and every fork (ours or the host's) closes it in the
// child. Unlike PR_SET_PDEATHSIG it follows the parent process, not the
// thread that started the child. Exec'd commands cannot run such a watch:
// see spawn_uv.cpp.
#pragma once

namespace mp {

// The environment variable that names the read end in a spawned child
// (MP_START_SPAWN); mp_main() starts the watch on it.
constexpr const char *kParentPipeEnv = "MULTIPROC_PARENT_PIPE_FD";

// The read end of this process's pipe, made on first use (close-on-exec,
// owned here, never closed while the process runs). The fd or an error.
int parent_pipe_read_end();

// In a child just forked by the library: the read end of the parent's pipe
// it inherited (-1: the parent had none). The caller owns it: it watches it
// (watch_parent_pipe) or closes it. Also closes the inherited write end.
int take_inherited_parent_pipe();

// Watch fd (the read end of the parent's pipe; taken) on a thread of its
// own and end this process with SIGKILL once the parent is gone (at once
// if it is already). MP_OK, or an error when no thread could start (then
// fd is closed).
int watch_parent_pipe(int fd);

// In a spawned child (mp_main()): watch the descriptor kParentPipeEnv
// names, if it is set (and unset it, so no grandchild sees it). Ends the
// process when the watch cannot start: a daemon must not outlive its
// parent unwatched.
void watch_parent_pipe_from_env();

}  // namespace mp
