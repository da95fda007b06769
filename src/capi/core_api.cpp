// Public entry points: versions, errors, memory, targets, this process.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "capi/guard.hpp"
#include "process/child.hpp"
#include "process/target.hpp"

using namespace mp;

extern "C" {

MP_EXTERN const char *mp_version(void) { return "0.4.0"; }

MP_EXTERN int mp_version_number(void) { return MP_VERSION_NUMBER; }

MP_EXTERN const char *mp_strerror(int code) {
  switch (code) {
    case MP_OK:
      return "success";
#define MP__STRERROR_CASE(name, value, msg) \
  case MP_##name:                           \
    return msg;
      MP_ERRNO_MAP(MP__STRERROR_CASE)
#undef MP__STRERROR_CASE
  }
  return "unknown error";
}

MP_EXTERN const char *mp_err_name(int code) {
  switch (code) {
    case MP_OK:
      return "OK";
#define MP__NAME_CASE(name, value, msg) \
  case MP_##name:                       \
    return #name;
      MP_ERRNO_MAP(MP__NAME_CASE)
#undef MP__NAME_CASE
  }
  return "UNKNOWN";
}

MP_EXTERN const char *mp_last_error(void) { return last_error_message(); }

MP_EXTERN void mp_free(void *ptr) { free(ptr); }

MP_EXTERN int mp_register(const char *name, mp_target_fn fn, void *payload) {
  const char *op = "mp_register";
  MP_CHECK_ARG(name && *name, op, "name is NULL or empty");
  MP_CHECK_ARG(strlen(name) <= 255, op, "name is longer than 255 bytes");
  MP_CHECK_ARG(fn, op, "fn is NULL");
  return guarded(op, [&]() -> int { return register_target(name, fn, payload); });
}

MP_EXTERN int mp_main(int argc, char **argv) {
  const char *op = "mp_main";
  MP_CHECK_ARG(argv && argc >= 1, op, "argv is NULL or argc < 1");
  for (int i = 0; i < argc; ++i) MP_CHECK_ARG(argv[i], op, "argv has a NULL entry");
  return guarded(op, [&]() -> int { return main_entry(argc, argv); });
}

MP_EXTERN int mp_is_child(void) { return self_info().is_child ? 1 : 0; }

MP_EXTERN const char *mp_current_name(void) { return self_info().name.c_str(); }

MP_EXTERN int mp_parent_pid(void) {
  const SelfInfo &self = self_info();
  return self.is_child ? self.parent_pid : int(getppid());
}

MP_EXTERN int mp_parent_alive(void) {
  const SelfInfo &self = self_info();
  if (!self.is_child)
    return fail(MP_ESTATE, "mp_parent_alive: this process is not a multiproc child");
  // Re-parented (to init or a subreaper) once the parent died; a
  // forkserver child once its server died, with the parent.
  return int(getppid()) == (self.alive_ppid ? self.alive_ppid : self.parent_pid) ? 1 : 0;
}

MP_EXTERN const char *mp_parent_name(void) {
  const SelfInfo &self = self_info();
  return self.is_child ? self.parent_name.c_str() : "";
}

MP_EXTERN int mp_child_fd(size_t index) {
  const SelfInfo &self = self_info();
  if (!self.is_child)
    return fail(MP_ESTATE, "mp_child_fd: this process is not a multiproc child");
  if (index >= self.fds.size())
    return fail(MP_ENOENT, "mp_child_fd: only %zu descriptors were passed",
                self.fds.size());
  return self.fds[index];
}

MP_EXTERN int mp_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 1 ? int(n) : 1;
}

MP_EXTERN int mp_set_exit_join(int enabled) {
  MP_CHECK_ARG(enabled == 0 || enabled == 1, "mp_set_exit_join", "enabled must be 0 or 1");
  set_exit_join(enabled == 1);
  return MP_OK;
}

}  // extern "C"
