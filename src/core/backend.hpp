// Which backend this process uses for what is Linux-specific (issue 18):
// spawning (clone + pidfd vs libuv's uv_spawn), shared memory (memfd vs
// shm_open), waiting in shared memory (futexes vs the portable wait) and
// parent-death watching (PR_SET_PDEATHSIG vs a pipe from the parent).
//
// A build without MP_HAVE_LINUX_MECHANISMS (meson -Dlinux_mechanisms=
// disabled, or a host that is not Linux) has only the portable backend.
// A Linux build has both; MULTIPROC_BACKEND=portable in the environment
// selects the portable one. The choice is read once per process, the first
// time it is asked, and children inherit the variable, so one process tree
// uses one backend.
#pragma once

#include <atomic>

namespace mp {

enum class Backend { kLinux, kPortable };

namespace detail {
// 0 until first asked, then 1 + the Backend: asked on every lock and
// unlock, so the answer is one inline load, not a call.
extern std::atomic<int> g_backend;
Backend read_backend_once();
}  // namespace detail

// The backend of this process (read once, then constant).
inline Backend backend() {
  int b = detail::g_backend.load(std::memory_order_relaxed);
  return b ? Backend(b - 1) : detail::read_backend_once();
}

inline bool portable_backend() { return backend() == Backend::kPortable; }

// "linux" or "portable", for messages.
const char *backend_name();

}  // namespace mp
