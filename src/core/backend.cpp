// The backend choice of src/core/backend.hpp: compiled in, then the
// environment.
#include "core/backend.hpp"

#include <cstdlib>
#include <cstring>

namespace mp {

namespace {

Backend read_backend() {
#ifdef MP_HAVE_LINUX_MECHANISMS
  const char *v = std::getenv("MULTIPROC_BACKEND");
  // Anything but "portable" (unset, empty, "linux", a typo) keeps the
  // default: the Linux backend is the complete one, so a misspelt value
  // never loses a guarantee.
  return v && std::strcmp(v, "portable") == 0 ? Backend::kPortable : Backend::kLinux;
#else
  return Backend::kPortable;
#endif
}

}  // namespace

namespace detail {

std::atomic<int> g_backend{0};

// Threads asking at once all read the same environment: whichever stores
// last stores the same answer.
Backend read_backend_once() {
  Backend b = read_backend();
  g_backend.store(int(b) + 1, std::memory_order_relaxed);
  return b;
}

}  // namespace detail

const char *backend_name() { return portable_backend() ? "portable" : "linux"; }

}  // namespace mp
