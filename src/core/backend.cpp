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

Backend backend() {
  static const Backend chosen = read_backend();
  return chosen;
}

const char *backend_name() { return portable_backend() ? "portable" : "linux"; }

}  // namespace mp
