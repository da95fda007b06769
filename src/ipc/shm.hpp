// Shared-memory segments: anonymous memfd objects (no /dev/shm name, freed
// by the kernel when the last descriptor and mapping go away) that are
// passed to other processes as descriptors.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/fd.hpp"

namespace mp {

class Segment {
 public:
  Segment() = default;
  Segment(const Segment &) = delete;
  Segment &operator=(const Segment &) = delete;
  ~Segment();

  // Create a segment of size bytes, fully allocated (posix_fallocate, so a
  // full tmpfs is MP_ENOSPC now, not SIGBUS later), zero-filled, mode 0600.
  int create(const char *name, size_t size);
  // Map a segment received as a descriptor (takes ownership of fd). Checks
  // that it is a regular memory object owned by this user and at least
  // min_size bytes.
  int attach(int fd, size_t min_size);

  void *data() const { return base_; }
  size_t size() const { return size_; }
  int fd() const { return fd_.get(); }

 private:
  Fd fd_;
  void *base_ = nullptr;
  size_t size_ = 0;
};

}  // namespace mp
