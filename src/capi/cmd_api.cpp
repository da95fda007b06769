// Public entry points: mp_cmd_*, the handles a command passes to its child
// by name included. Since 0.3 every option setter is mp_cmd_set_<option>
// (docs/style.md); the 0.1/0.2 names stay exported as deprecated aliases
// that run the same code under their own name in error messages.
#include <cstring>

#include "capi/guard.hpp"
#include "capi/pass_api.hpp"
#include "process/cmd.hpp"

using namespace mp;

namespace {

bool valid_stream(int stream) { return stream >= MP_STDIN && stream <= MP_STDERR; }

// The 0/1 options of a command.
int set_switch(bool mp_cmd::*field, mp_cmd_t *cmd, int enabled, const char *op) {
  MP_CHECK_ARG(cmd && (enabled == 0 || enabled == 1), op,
               "cmd is NULL or enabled is not 0/1");
  cmd->*field = enabled == 1;
  return MP_OK;
}

int add_arg(mp_cmd_t *cmd, const char *arg, const char *op) {
  MP_CHECK_ARG(cmd && arg, op, "cmd or arg is NULL");
  return guarded(op, [&]() -> int {
    cmd->args.emplace_back(arg);
    return MP_OK;
  });
}

int set_arg0(mp_cmd_t *cmd, const char *arg0, const char *op) {
  MP_CHECK_ARG(cmd && arg0, op, "cmd or arg0 is NULL");
  return guarded(op, [&]() -> int {
    cmd->arg0 = arg0;
    return MP_OK;
  });
}

int set_cwd(mp_cmd_t *cmd, const char *dir, const char *op) {
  MP_CHECK_ARG(cmd && dir && *dir, op, "cmd or dir is NULL or empty");
  return guarded(op, [&]() -> int {
    cmd->cwd = dir;
    return MP_OK;
  });
}

int set_stdio(mp_cmd_t *cmd, mp_stream_t stream_arg, mp_stdio_t mode_arg, const char *op) {
  int stream = enum_value(stream_arg);
  int mode = enum_value(mode_arg);
  MP_CHECK_ARG(cmd, op, "cmd is NULL");
  MP_CHECK_ARG(valid_stream(stream), op, "unknown stream");
  MP_CHECK_ARG(mode >= MP_STDIO_INHERIT && mode <= MP_STDIO_STDOUT, op, "unknown mode");
  MP_CHECK_ARG(mode != MP_STDIO_STDOUT || stream == MP_STDERR, op,
               "MP_STDIO_STDOUT is only for MP_STDERR");
  cmd->stdio[stream] = StdioSpec();
  cmd->stdio[stream].mode = mp_stdio_t(mode);
  return MP_OK;
}

int set_stdio_file(mp_cmd_t *cmd, mp_stream_t stream_arg, const char *path, int flags,
                   const char *op) {
  int stream = enum_value(stream_arg);
  MP_CHECK_ARG(cmd && path && *path, op, "cmd or path is NULL or empty");
  MP_CHECK_ARG(valid_stream(stream), op, "unknown stream");
  MP_CHECK_ARG(flags == MP_FILE_TRUNCATE || flags == MP_FILE_APPEND, op, "unknown flags");
  return guarded(op, [&]() -> int {
    StdioSpec spec;
    spec.kind = StdioSpec::Kind::File;
    spec.path = path;
    spec.file_flags = flags;
    cmd->stdio[stream] = spec;
    return MP_OK;
  });
}

int set_stdio_fd(mp_cmd_t *cmd, mp_stream_t stream_arg, int fd, const char *op) {
  int stream = enum_value(stream_arg);
  MP_CHECK_ARG(cmd, op, "cmd is NULL");
  MP_CHECK_ARG(valid_stream(stream), op, "unknown stream");
  MP_CHECK_ARG(fd >= 0, op, "fd is negative");
  cmd->stdio[stream] = StdioSpec();
  cmd->stdio[stream].kind = StdioSpec::Kind::Fd;
  cmd->stdio[stream].fd = fd;
  return MP_OK;
}

// Record a handle the child finds under name (MULTIPROC_HANDLE_<name>).
int pass_handle(mp_cmd *cmd, const char *name, const char *kind, int fd, const char *op) {
  MP_CHECK_ARG(cmd, op, "cmd is NULL");
  MP_CHECK_ARG(valid_handle_name(name), op, "name must be 1-64 characters of [A-Za-z0-9_]");
  for (const auto &h : cmd->handles)
    if (h.name == name) return fail(MP_EEXIST, "%s: '%s' is already passed", op, name);
  return guarded(op, [&]() -> int {
    cmd->handles.push_back(PassedHandle{name, kind, fd});
    return MP_OK;
  });
}

}  // namespace

extern "C" {

MP_EXTERN int mp_cmd_new(mp_cmd_t **out, const char *program) {
  const char *op = "mp_cmd_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(program && *program, op, "program is NULL or empty");
  return guarded(op, [&]() -> int {
    auto *cmd = new mp_cmd();
    cmd->program = program;
    *out = cmd;
    return MP_OK;
  });
}

MP_EXTERN void mp_cmd_free(mp_cmd_t *cmd) { delete cmd; }

MP_EXTERN int mp_cmd_add_arg(mp_cmd_t *cmd, const char *arg) {
  return add_arg(cmd, arg, "mp_cmd_add_arg");
}

MP_EXTERN int mp_cmd_set_arg0(mp_cmd_t *cmd, const char *arg0) {
  return set_arg0(cmd, arg0, "mp_cmd_set_arg0");
}

MP_EXTERN int mp_cmd_env_set(mp_cmd_t *cmd, const char *name, const char *value) {
  const char *op = "mp_cmd_env_set";
  MP_CHECK_ARG(cmd && value, op, "cmd or value is NULL");
  MP_CHECK_ARG(valid_env_name(name), op, "name is NULL, empty or contains '='");
  return guarded(op, [&]() -> int {
    cmd->env_changes.emplace_back(name, std::string(value));
    return MP_OK;
  });
}

MP_EXTERN int mp_cmd_env_unset(mp_cmd_t *cmd, const char *name) {
  const char *op = "mp_cmd_env_unset";
  MP_CHECK_ARG(cmd, op, "cmd is NULL");
  MP_CHECK_ARG(valid_env_name(name), op, "name is NULL, empty or contains '='");
  return guarded(op, [&]() -> int {
    cmd->env_changes.emplace_back(name, std::nullopt);
    return MP_OK;
  });
}

MP_EXTERN int mp_cmd_env_clear(mp_cmd_t *cmd) {
  MP_CHECK_ARG(cmd, "mp_cmd_env_clear", "cmd is NULL");
  cmd->env_clear = true;
  cmd->env_changes.clear();
  return MP_OK;
}

MP_EXTERN int mp_cmd_set_cwd(mp_cmd_t *cmd, const char *dir) {
  return set_cwd(cmd, dir, "mp_cmd_set_cwd");
}

MP_EXTERN int mp_cmd_set_stdio(mp_cmd_t *cmd, mp_stream_t stream, mp_stdio_t mode) {
  return set_stdio(cmd, stream, mode, "mp_cmd_set_stdio");
}

MP_EXTERN int mp_cmd_set_stdio_file(mp_cmd_t *cmd, mp_stream_t stream, const char *path,
                                    int flags) {
  return set_stdio_file(cmd, stream, path, flags, "mp_cmd_set_stdio_file");
}

MP_EXTERN int mp_cmd_set_stdio_fd(mp_cmd_t *cmd, mp_stream_t stream, int fd) {
  return set_stdio_fd(cmd, stream, fd, "mp_cmd_set_stdio_fd");
}

MP_EXTERN int mp_cmd_pass_fd_at(mp_cmd_t *cmd, int fd, int child_fd) {
  const char *op = "mp_cmd_pass_fd_at";
  MP_CHECK_ARG(cmd, op, "cmd is NULL");
  MP_CHECK_ARG(fd >= 0, op, "fd is negative");
  MP_CHECK_ARG(child_fd >= MP_CMD_FD_AT_MIN && child_fd <= MP_CMD_FD_AT_MAX, op,
               "child_fd is not in 3..1023 (0-2: use mp_cmd_stdio_fd)");
  return guarded(op, [&]() -> int {
    for (auto &entry : cmd->fds_at)
      if (entry.first == child_fd) {
        entry.second = fd;
        return MP_OK;
      }
    cmd->fds_at.emplace_back(child_fd, fd);
    return MP_OK;
  });
}

MP_EXTERN int mp_cmd_set_new_group(mp_cmd_t *cmd, int enabled) {
  return set_switch(&mp_cmd::new_group, cmd, enabled, "mp_cmd_set_new_group");
}

MP_EXTERN int mp_cmd_set_new_session(mp_cmd_t *cmd, int enabled) {
  return set_switch(&mp_cmd::new_session, cmd, enabled, "mp_cmd_set_new_session");
}

MP_EXTERN int mp_cmd_set_daemon(mp_cmd_t *cmd, int enabled) {
  return set_switch(&mp_cmd::daemon, cmd, enabled, "mp_cmd_set_daemon");
}

MP_EXTERN int mp_cmd_set_allow_relative_path(mp_cmd_t *cmd, int enabled) {
  return set_switch(&mp_cmd::allow_relative_path, cmd, enabled,
                    "mp_cmd_set_allow_relative_path");
}

MP_EXTERN int mp_cmd_set_check(mp_cmd_t *cmd, int enabled) {
  return set_switch(&mp_cmd::check, cmd, enabled, "mp_cmd_set_check");
}

// ---- handles passed by name (the child opens them with mp_*_inherit()) ----

MP_EXTERN int mp_cmd_pass_queue(mp_cmd_t *cmd, const char *name, mp_queue_t *queue) {
  const char *op = "mp_cmd_pass_queue";
  int fd = passed_queue_fd(queue, op);
  return fd < 0 ? fd : pass_handle(cmd, name, "queue", fd, op);
}

MP_EXTERN int mp_cmd_pass_conn(mp_cmd_t *cmd, const char *name, mp_conn_t *conn) {
  const char *op = "mp_cmd_pass_conn";
  int fd = passed_conn_fd(conn, op);
  return fd < 0 ? fd : pass_handle(cmd, name, "conn", fd, op);
}

MP_EXTERN int mp_cmd_pass_fd(mp_cmd_t *cmd, const char *name, int fd) {
  const char *op = "mp_cmd_pass_fd";
  MP_CHECK_ARG(fd >= 0, op, "fd is negative");
  return pass_handle(cmd, name, "fd", fd, op);
}

// ---- deprecated since 0.3: the names before the mp_cmd_set_* rule ---------

MP_EXTERN int mp_cmd_arg(mp_cmd_t *cmd, const char *arg) {
  return add_arg(cmd, arg, "mp_cmd_arg");
}

MP_EXTERN int mp_cmd_arg0(mp_cmd_t *cmd, const char *arg0) {
  return set_arg0(cmd, arg0, "mp_cmd_arg0");
}

MP_EXTERN int mp_cmd_cwd(mp_cmd_t *cmd, const char *dir) {
  return set_cwd(cmd, dir, "mp_cmd_cwd");
}

MP_EXTERN int mp_cmd_stdio(mp_cmd_t *cmd, mp_stream_t stream, mp_stdio_t mode) {
  return set_stdio(cmd, stream, mode, "mp_cmd_stdio");
}

MP_EXTERN int mp_cmd_stdio_file(mp_cmd_t *cmd, mp_stream_t stream, const char *path,
                                int flags) {
  return set_stdio_file(cmd, stream, path, flags, "mp_cmd_stdio_file");
}

MP_EXTERN int mp_cmd_stdio_fd(mp_cmd_t *cmd, mp_stream_t stream, int fd) {
  return set_stdio_fd(cmd, stream, fd, "mp_cmd_stdio_fd");
}

MP_EXTERN int mp_cmd_new_group(mp_cmd_t *cmd, int enabled) {
  return set_switch(&mp_cmd::new_group, cmd, enabled, "mp_cmd_new_group");
}

MP_EXTERN int mp_cmd_new_session(mp_cmd_t *cmd, int enabled) {
  return set_switch(&mp_cmd::new_session, cmd, enabled, "mp_cmd_new_session");
}

MP_EXTERN int mp_cmd_daemon(mp_cmd_t *cmd, int enabled) {
  return set_switch(&mp_cmd::daemon, cmd, enabled, "mp_cmd_daemon");
}

MP_EXTERN int mp_cmd_allow_relative_path(mp_cmd_t *cmd, int enabled) {
  return set_switch(&mp_cmd::allow_relative_path, cmd, enabled,
                    "mp_cmd_allow_relative_path");
}

MP_EXTERN int mp_cmd_check(mp_cmd_t *cmd, int enabled) {
  return set_switch(&mp_cmd::check, cmd, enabled, "mp_cmd_check");
}

}  // extern "C"
