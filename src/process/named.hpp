// Handles passed to a target child by name: what the parent holds before
// the start, and the table the child finds them in (mp_*_inherit).
#pragma once

#include <cstddef>
#include <string>

#include "core/fd.hpp"

namespace mp {

// A handle a target child finds by name (mp_*_inherit): kind is "queue",
// "conn" or "fd", as in a command's MULTIPROC_HANDLE_<name>=<kind>:<fd>.
struct NamedFd {
  std::string name;
  std::string kind;
  int fd = -1;  // the child's descriptor (close-on-exec)
};

// One the parent holds for a child not yet started (its own duplicate).
struct NamedPass {
  std::string name;
  std::string kind;
  Fd fd;
};

// The kinds a handle may be passed as, and the most descriptors (by index
// and by name together) one process may be given.
bool valid_handle_kind(const std::string &kind);
constexpr size_t kMaxPassFds = 64;

}  // namespace mp
