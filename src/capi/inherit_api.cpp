// Public entry points of the child's side of handles passed by name:
// mp_fd_inherit, mp_queue_inherit, mp_conn_inherit. A target child (fork
// or spawn) finds them in its own table (SelfInfo::named); a command's
// program in MULTIPROC_HANDLE_<name>=<kind>:<fd>, parsed here only.
#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

#include "capi/guard.hpp"
#include "core/address.hpp"
#include "process/cmd.hpp"
#include "process/target.hpp"

using namespace mp;

namespace {

// "<kind>:<fd>" from the environment: MP_OK and *fd, MP_ESTATE (another
// kind) or MP_EINVAL (malformed).
int parse_env_value(int *fd, const char *value, const char *name, const char *kind,
                    const char *op) {
  size_t kind_len = strlen(kind);
  if (strncmp(value, kind, kind_len) != 0 || value[kind_len] != ':')
    return fail(MP_ESTATE, "%s: '%s' is not a %s (%s)", op, name, kind, value);
  const char *digits = value + kind_len + 1;
  char *end;
  long n = strtol(digits, &end, 10);
  // Only decimal digits: strtol alone takes "" as 0 and allows " +5".
  if (*digits < '0' || *digits > '9' || *end || n < 0 || n > INT_MAX)
    return fail(MP_EINVAL, "%s: malformed %s%s=%s", op, kHandleEnvPrefix, name, value);
  fcntl(int(n), F_SETFD, FD_CLOEXEC);  // never reaches a grandchild
  *fd = int(n);
  return MP_OK;
}

// The descriptor passed under name as kind, from this target child's
// table or else the environment of a command's program.
int passed_fd(int *fd, const char *name, const char *kind, const char *op) {
  for (const NamedFd &n : self_info().named) {
    if (n.name != name) continue;
    if (n.kind != kind)
      return fail(MP_ESTATE, "%s: '%s' is not a %s (it was passed as a %s)", op, name, kind,
                  n.kind.c_str());
    *fd = n.fd;
    return MP_OK;
  }
  // A target child has only its table: the environment it may have
  // inherited (a fork of a command's program) names its parent's handles.
  if (self_info().is_child) return fail(MP_ENOENT, "%s: nothing was passed as '%s'", op, name);
  std::string var = std::string(kHandleEnvPrefix) + name;
  const char *value = getenv(var.c_str());
  if (!value) return fail(MP_ENOENT, "%s: nothing was passed as '%s'", op, name);
  return parse_env_value(fd, value, name, kind, op);
}

// A close-on-exec duplicate of the descriptor passed under name as kind.
int inherited_fd(int *out, const char *name, const char *kind, const char *op) {
  MP_CHECK_ARG(valid_handle_name(name), op, "name must be 1-64 characters of [A-Za-z0-9_]");
  int fd = -1;
  int r = passed_fd(&fd, name, kind, op);
  if (r != MP_OK) return r;
  Fd copy;
  r = dup_cloexec(copy, fd, 0, op);
  if (r != MP_OK) return r;
  *out = copy.release();
  return MP_OK;
}

}  // namespace

extern "C" {

MP_EXTERN int mp_fd_inherit(int *out, const char *name) {
  const char *op = "mp_fd_inherit";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = -1;
  return guarded(op, [&] { return inherited_fd(out, name, "fd", op); });
}

MP_EXTERN int mp_queue_inherit(mp_queue_t **out, const char *name) {
  const char *op = "mp_queue_inherit";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  return guarded(op, [&]() -> int {
    int fd;
    int r = inherited_fd(&fd, name, "queue", op);
    if (r != MP_OK) return r;
    return mp_queue_from_fd(out, fd);  // owns fd, failed or not
  });
}

MP_EXTERN int mp_conn_inherit(mp_conn_t **out, const char *name, int flags) {
  const char *op = "mp_conn_inherit";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  return guarded(op, [&]() -> int {
    int fd;
    int r = inherited_fd(&fd, name, "conn", op);
    if (r != MP_OK) return r;
    r = mp_conn_from_fd(out, fd, flags);
    if (r != MP_OK) close(fd);
    return r;
  });
}

}  // extern "C"
