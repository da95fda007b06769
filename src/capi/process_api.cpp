// Public entry points: mp_process_*, mp_stop_*, mp_run.
#include <fcntl.h>
#include <signal.h>

#include <cstring>
#include <string>

#include "capi/guard.hpp"
#include "capi/pass_api.hpp"
#include "process/child.hpp"
#include "process/cmd.hpp"
#include "process/process.hpp"
#include "process/stop.hpp"

using namespace mp;

namespace {

bool valid(const mp_process *p) { return p && p->magic == mp_process::kMagic; }

#define MP_CHECK_PROC(p, op) \
  MP_CHECK_ARG(valid(p), op, "process is NULL or not a live mp_process_t")

// The started child, or MP_ESTATE.
int started(mp_process *p, const char *op, std::shared_ptr<Child> *out) {
  std::lock_guard<std::mutex> lock(p->mu);
  if (!p->child) return fail(MP_ESTATE, "%s: the process was not started", op);
  *out = p->child;
  return MP_OK;
}

// The started child that signals (flags: 0 or MP_SIGNAL_GROUP) may reach.
int signal_target(std::shared_ptr<Child> *out, mp_process *p, int flags, const char *op) {
  MP_CHECK_ARG((flags & ~MP_SIGNAL_GROUP) == 0, op, "unknown flags");
  int r = started(p, op, out);
  if (r != MP_OK) return r;
  if ((flags & MP_SIGNAL_GROUP) && !(*out)->has_group())
    return fail(MP_ESTATE, "%s: the child was not started in a new process group", op);
  return MP_OK;
}

// Settings of a target process before start: MP_ESTATE otherwise.
int check_configurable(mp_process *p, const char *op) {
  if (p->kind != mp_process::Kind::Target)
    return fail(MP_ESTATE, "%s: not a target process (a command)", op);
  if (p->child) return fail(MP_ESTATE, "%s: the process was already started", op);
  return MP_OK;
}

void clear_captured(void **out, size_t *out_len, void **err, size_t *err_len) {
  if (out) *out = nullptr;
  if (out_len) *out_len = 0;
  if (err) *err = nullptr;
  if (err_len) *err_len = 0;
}

bool stdin_is_pipe(const mp_cmd &cmd) {
  const StdioSpec &spec = cmd.stdio[MP_STDIN];
  return spec.kind == StdioSpec::Kind::Mode && spec.mode == MP_STDIO_PIPE;
}

// SIGKILL (to the group if it has one) and wait, whatever the thread's
// cancel token says: the caller must not be left with a running child.
void kill_and_reap(Child &child) {
  child.signal(SIGKILL, child.has_group());
  child.wait(Deadline::uncancelable(MP_FOREVER));
}

// Hand captured streams to the caller's out-parameters (NULL: discard).
void deliver(Captured &cap, void **out, size_t *out_len, void **err, size_t *err_len) {
  if (out) *out = cap.out; else free(cap.out);
  if (out_len) *out_len = cap.out_len;
  if (err) *err = cap.err; else free(cap.err);
  if (err_len) *err_len = cap.err_len;
}

}  // namespace

extern "C" {

MP_EXTERN int mp_process_spawn(mp_process_t **out, const mp_cmd_t *cmd) {
  const char *op = "mp_process_spawn";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(cmd, op, "cmd is NULL");
  return guarded(op, [&]() -> int { return spawn_command(out, *cmd); });
}

MP_EXTERN int mp_process_new(mp_process_t **out, const char *target,
                             const void *arg, size_t arg_len) {
  const char *op = "mp_process_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(target && *target, op, "target is NULL or empty");
  MP_CHECK_ARG(arg || arg_len == 0, op, "arg is NULL but arg_len > 0");
  return guarded(op, [&]() -> int { return new_target_process(out, target, arg, arg_len); });
}

MP_EXTERN int mp_process_set_name(mp_process_t *proc, const char *name) {
  const char *op = "mp_process_set_name";
  MP_CHECK_PROC(proc, op);
  MP_CHECK_ARG(name && *name && strlen(name) <= 255, op, "name is NULL, empty or too long");
  return guarded(op, [&]() -> int {
    std::lock_guard<std::mutex> lock(proc->mu);
    int r = check_configurable(proc, op);
    if (r == MP_OK) proc->name = name;
    return r;
  });
}

MP_EXTERN int mp_process_set_daemon(mp_process_t *proc, int enabled) {
  const char *op = "mp_process_set_daemon";
  MP_CHECK_PROC(proc, op);
  MP_CHECK_ARG(enabled == 0 || enabled == 1, op, "enabled must be 0 or 1");
  std::lock_guard<std::mutex> lock(proc->mu);
  int r = check_configurable(proc, op);
  if (r == MP_OK) proc->daemon = enabled == 1;
  return r;
}

MP_EXTERN int mp_process_set_start_method(mp_process_t *proc,
                                          mp_start_method_t method_arg) {
  const char *op = "mp_process_set_start_method";
  int method = enum_value(method_arg);
  MP_CHECK_PROC(proc, op);
  MP_CHECK_ARG(valid_start_method(method), op, "unknown start method");
  std::lock_guard<std::mutex> lock(proc->mu);
  int r = check_configurable(proc, op);
  if (r != MP_OK) return r;
  proc->method = mp_start_method_t(method);
  proc->method_chosen = true;
  return MP_OK;
}

MP_EXTERN int mp_process_pass_fd(mp_process_t *proc, int fd) {
  const char *op = "mp_process_pass_fd";
  MP_CHECK_PROC(proc, op);
  MP_CHECK_ARG(fd >= 0, op, "fd is negative");
  return guarded(op, [&]() -> int {
    std::lock_guard<std::mutex> lock(proc->mu);
    int r = check_configurable(proc, op);
    if (r != MP_OK) return r;
    if (proc->pass_fds.size() + proc->named.size() >= kMaxPassFds)
      return fail(MP_ENOSPC, "%s: at most %zu descriptors", op, kMaxPassFds);
    Fd copy;
    r = dup_cloexec(copy, fd, 3, op);
    if (r != MP_OK) return r;
    proc->pass_fds.push_back(std::move(copy));
    return int(proc->pass_fds.size() - 1);
  });
}

// ---- handles passed by name (the child opens them with mp_*_inherit()) ----

namespace {

int pass_by_name(mp_process_t *proc, const char *name, const char *kind, int fd,
                 const char *op) {
  MP_CHECK_PROC(proc, op);
  if (fd < 0) return fd;  // the handle's check failed and said why
  return guarded(op, [&]() -> int {
    std::lock_guard<std::mutex> lock(proc->mu);
    return pass_named(*proc, name, kind, fd, op);
  });
}

}  // namespace

MP_EXTERN int mp_process_pass_queue(mp_process_t *proc, const char *name, mp_queue_t *queue) {
  const char *op = "mp_process_pass_queue";
  return pass_by_name(proc, name, "queue", passed_queue_fd(queue, op), op);
}

MP_EXTERN int mp_process_pass_conn(mp_process_t *proc, const char *name, mp_conn_t *conn) {
  const char *op = "mp_process_pass_conn";
  return pass_by_name(proc, name, "conn", passed_conn_fd(conn, op), op);
}

MP_EXTERN int mp_process_pass_fd2(mp_process_t *proc, const char *name, int fd) {
  const char *op = "mp_process_pass_fd2";
  MP_CHECK_ARG(fd >= 0, op, "fd is negative");
  return pass_by_name(proc, name, "fd", fd, op);
}

// ---- the process-wide default start method ----

MP_EXTERN int mp_set_start_method(mp_start_method_t method_arg, int force) {
  const char *op = "mp_set_start_method";
  int method = enum_value(method_arg);
  MP_CHECK_ARG(valid_start_method(method), op, "unknown start method");
  MP_CHECK_ARG(force == 0 || force == 1, op, "force is not 0/1");
  return guarded(op, [&] { return set_default_start_method(mp_start_method_t(method), force); });
}

MP_EXTERN mp_start_method_t mp_get_start_method(void) { return default_start_method(); }

MP_EXTERN int mp_process_start(mp_process_t *proc) {
  const char *op = "mp_process_start";
  MP_CHECK_PROC(proc, op);
  if (proc->kind != mp_process::Kind::Target)
    return fail(MP_ESTATE, "%s: a command is started by mp_process_spawn", op);
  return guarded(op, [&]() -> int { return start_target_process(*proc); });
}

MP_EXTERN int mp_process_join(mp_process_t *proc, int64_t timeout_ms) {
  const char *op = "mp_process_join";
  MP_CHECK_PROC(proc, op);
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  std::shared_ptr<Child> child;
  int r = started(proc, op, &child);
  if (r != MP_OK) return r;
  r = child->wait(Deadline(timeout_ms));
  if (r == MP_ETIMEDOUT) return report_cancel(op, fail(r, "%s: the child still runs", op));
  return r;
}

MP_EXTERN int mp_process_is_alive(mp_process_t *proc) {
  MP_CHECK_PROC(proc, "mp_process_is_alive");
  std::lock_guard<std::mutex> lock(proc->mu);
  if (!proc->child) return 0;
  proc->child->reap();  // as Python's poll(): not only what the runtime saw
  return proc->child->ended() ? 0 : 1;
}

MP_EXTERN int mp_process_exitcode(int *out, mp_process_t *proc) {
  const char *op = "mp_process_exitcode";
  MP_CHECK_ARG(out, op, "out is NULL");
  MP_CHECK_PROC(proc, op);
  std::shared_ptr<Child> child;
  int r = started(proc, op, &child);
  if (r != MP_OK) return r;
  child->reap();
  if (!child->ended()) return fail(MP_ESTATE, "%s: the child still runs", op);
  *out = child->exitcode();
  return MP_OK;
}

MP_EXTERN int mp_process_pid(mp_process_t *proc) {
  const char *op = "mp_process_pid";
  MP_CHECK_PROC(proc, op);
  std::shared_ptr<Child> child;
  int r = started(proc, op, &child);
  return r != MP_OK ? r : child->pid();
}

MP_EXTERN int mp_process_daemon(mp_process_t *proc) {
  MP_CHECK_PROC(proc, "mp_process_daemon");
  std::lock_guard<std::mutex> lock(proc->mu);
  if (proc->kind == mp_process::Kind::Target) return proc->daemon ? 1 : 0;
  return proc->child && proc->child->daemon() ? 1 : 0;
}

MP_EXTERN int mp_process_sentinel(int *out_fd, mp_process_t *proc) {
  const char *op = "mp_process_sentinel";
  MP_CHECK_ARG(out_fd, op, "out_fd is NULL");
  *out_fd = -1;
  MP_CHECK_PROC(proc, op);
  std::shared_ptr<Child> child;
  int r = started(proc, op, &child);
  if (r != MP_OK) return r;
  int fd = child->sentinel();
  if (fd < 0) return fd;
  *out_fd = fd;
  return MP_OK;
}

MP_EXTERN int mp_active_children(int *pids, size_t cap, size_t *count) {
  const char *op = "mp_active_children";
  MP_CHECK_ARG(count, op, "count is NULL");
  *count = 0;
  MP_CHECK_ARG(pids || cap == 0, op, "pids is NULL and cap is not 0");
  return guarded(op, [&] {
    std::vector<int> live = live_children();
    for (size_t i = 0; i < live.size() && i < cap; ++i) pids[i] = live[i];
    *count = live.size();
    return int(MP_OK);
  });
}

MP_EXTERN const char *mp_process_name(mp_process_t *proc) {
  return valid(proc) ? proc->name.c_str() : "";
}

MP_EXTERN int mp_process_signal(mp_process_t *proc, int signum, int flags) {
  const char *op = "mp_process_signal";
  MP_CHECK_PROC(proc, op);
  MP_CHECK_ARG(signum > 0 && signum < NSIG, op, "bad signal number");
  std::shared_ptr<Child> child;
  int r = signal_target(&child, proc, flags, op);
  return r != MP_OK ? r : child->signal(signum, flags & MP_SIGNAL_GROUP);
}

MP_EXTERN int mp_process_terminate(mp_process_t *proc) {
  return mp_process_signal(proc, SIGTERM, 0);
}

MP_EXTERN int mp_process_kill(mp_process_t *proc) {
  return mp_process_signal(proc, SIGKILL, 0);
}

MP_EXTERN int mp_stop_new(mp_stop_t **out) {
  MP_CHECK_ARG(out, "mp_stop_new", "out is NULL");
  *out = nullptr;
  return guarded("mp_stop_new", [&]() -> int {
    *out = new mp_stop();
    return MP_OK;
  });
}

MP_EXTERN int mp_stop_add(mp_stop_t *stop, mp_stop_action_t action_arg,
                          int64_t timeout_ms) {
  const char *op = "mp_stop_add";
  int action = enum_value(action_arg);
  MP_CHECK_ARG(stop, op, "stop is NULL");
  MP_CHECK_ARG(action >= MP_STOP_WAIT && action <= MP_STOP_INTERRUPT, op, "unknown action");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  if (stop->steps.size() >= mp_stop::kMaxSteps)
    return fail(MP_ENOSPC, "%s: at most %zu steps", op, mp_stop::kMaxSteps);
  return guarded(op, [&]() -> int {
    stop->steps.push_back({mp_stop_action_t(action), timeout_ms});
    return MP_OK;
  });
}

MP_EXTERN void mp_stop_free(mp_stop_t *stop) { delete stop; }

MP_EXTERN int mp_process_stop(mp_process_t *proc, const mp_stop_t *steps, int flags) {
  const char *op = "mp_process_stop";
  MP_CHECK_PROC(proc, op);
  std::shared_ptr<Child> child;
  int r = signal_target(&child, proc, flags, op);
  if (r != MP_OK) return r;
  return report_cancel(op, run_stop(*child, steps ? *steps : default_stop(), flags & MP_SIGNAL_GROUP));
}

MP_EXTERN int mp_process_write(mp_process_t *proc, const void *buf, size_t len,
                               int64_t timeout_ms) {
  const char *op = "mp_process_write";
  MP_CHECK_PROC(proc, op);
  MP_CHECK_ARG(buf || len == 0, op, "buf is NULL");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int { return process_write(*proc, buf, len, Deadline(timeout_ms)); });
}

MP_EXTERN int mp_process_close_stdin(mp_process_t *proc) {
  MP_CHECK_PROC(proc, "mp_process_close_stdin");
  return process_close_stream(*proc, MP_STDIN);
}

MP_EXTERN int mp_process_close_stream(mp_process_t *proc, mp_stream_t stream_arg) {
  const char *op = "mp_process_close_stream";
  int stream = enum_value(stream_arg);
  MP_CHECK_PROC(proc, op);
  MP_CHECK_ARG(stream >= MP_STDIN && stream <= MP_STDERR, op, "unknown stream");
  return process_close_stream(*proc, stream);
}

MP_EXTERN int mp_process_read(size_t *out_len, mp_process_t *proc, mp_stream_t stream_arg,
                              void *buf, size_t cap, int64_t timeout_ms) {
  const char *op = "mp_process_read";
  int stream = enum_value(stream_arg);
  MP_CHECK_ARG(out_len, op, "out_len is NULL");
  *out_len = 0;
  MP_CHECK_PROC(proc, op);
  MP_CHECK_ARG(stream == MP_STDOUT || stream == MP_STDERR, op,
               "stream must be MP_STDOUT or MP_STDERR");
  MP_CHECK_ARG(buf && cap > 0, op, "buf is NULL or cap is 0");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int {
    return process_read(out_len, *proc, stream, buf, cap, Deadline(timeout_ms));
  });
}

MP_EXTERN int mp_process_communicate(void **out, size_t *out_len, void **err,
                                     size_t *err_len, mp_process_t *proc,
                                     const void *input, size_t input_len,
                                     int64_t timeout_ms) {
  const char *op = "mp_process_communicate";
  clear_captured(out, out_len, err, err_len);
  MP_CHECK_PROC(proc, op);
  MP_CHECK_ARG(input || input_len == 0, op, "input is NULL but input_len > 0");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  std::shared_ptr<Child> child;
  int r = started(proc, op, &child);
  if (r != MP_OK) return r;
  return guarded(op, [&]() -> int {
    Captured cap;
    int rc = process_communicate(cap, *proc, input, input_len, Deadline(timeout_ms));
    deliver(cap, out, out_len, err, err_len);
    return rc;
  });
}

MP_EXTERN void mp_process_free(mp_process_t *proc) {
  if (!valid(proc)) return;
  proc->magic = 0;
  delete proc;
  forget_ended_children();
}

MP_EXTERN int mp_run(int *exitcode, void **out, size_t *out_len, void **err,
                     size_t *err_len, const mp_cmd_t *cmd, const void *input,
                     size_t input_len, int64_t timeout_ms) {
  const char *op = "mp_run";
  clear_captured(out, out_len, err, err_len);
  MP_CHECK_ARG(cmd, op, "cmd is NULL");
  MP_CHECK_ARG(input || input_len == 0, op, "input is NULL but input_len > 0");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  // Refused before anything starts: a child spawned only to be refused
  // would outlive the call.
  if (input_len > 0 && !stdin_is_pipe(*cmd))
    return fail(MP_ESTATE, "%s: input given but stdin is not a pipe", op);
  return guarded(op, [&]() -> int {
    mp_process *raw = nullptr;
    int r = spawn_command(&raw, *cmd);
    if (r != MP_OK) return r;
    std::unique_ptr<mp_process> proc(raw);
    Captured cap;
    r = process_communicate(cap, *proc, input, input_len, Deadline(timeout_ms));
    if (r != MP_OK) {
      // Timeout, cancellation or any failure: the caller gets no handle, so
      // no child may outlive the call.
      std::string why = mp_last_error();
      kill_and_reap(*proc->child);
      if (r == MP_ETIMEDOUT)
        fail(MP_ETIMEDOUT, "%s: timed out; the child was killed", op);
      else
        fail(r, "%s; the child was killed", why.c_str());
    }
    deliver(cap, out, out_len, err, err_len);
    if ((r == MP_OK || r == MP_ETIMEDOUT) && exitcode) *exitcode = proc->child->exitcode();
    if (r == MP_OK && cmd->check && proc->child->exitcode() != 0)
      return fail(MP_ECALLEDPROCESS, "%s: %s exited with %d", op, cmd->program.c_str(),
                  proc->child->exitcode());
    return r;
  });
}

}  // extern "C"
