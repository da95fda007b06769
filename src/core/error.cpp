#include "core/error.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace mp {
namespace {

thread_local char t_message[512];

}  // namespace

int fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t_message, sizeof t_message, fmt, ap);
  va_end(ap);
  return code;
}

int code_from_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ESRCH:
      return MP_ENOENT;
    case EACCES:
    case EPERM:
    case ENOEXEC:
      return MP_EACCES;
    case ENOMEM:
      return MP_ENOMEM;
    case EPIPE:
    case ECONNRESET:
      return MP_EPIPE;
    case EBADF:
    case EINVAL:
      return MP_EINVAL;
    case ETIMEDOUT:
      return MP_ETIMEDOUT;
    case ECONNREFUSED:
      return MP_ECONNREFUSED;
    case ENOSPC:
    case EMFILE:
    case ENFILE:
      return MP_ENOSPC;
    case ENOSYS:
    case EOPNOTSUPP:
      return MP_ENOTSUP;
    default:
      return MP_ESYS;
  }
}

int fail_errno(const char *op, const char *what, int err) {
  char buf[128];
  // GNU strerror_r returns the message pointer, which may not be buf.
  const char *msg = strerror_r(err, buf, sizeof buf);
  if (what && *what)
    return fail(code_from_errno(err), "%s: %s: %s (errno %d)", op, what, msg,
                err);
  return fail(code_from_errno(err), "%s: %s (errno %d)", op, msg, err);
}

const char *last_error_message() { return t_message; }

}  // namespace mp
