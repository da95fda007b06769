// Shared-memory segments: anonymous objects (no name left anywhere, freed
// by the kernel when the last descriptor and mapping go away) that are
// passed to other processes as descriptors. The Linux backend uses memfd;
// the portable backend (core/backend.hpp) shm_open on a name unlinked at
// once, with a parking area for its waits after the data (core/park.hpp).
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
  // The user data's bytes (the portable backend's parking area excluded).
  size_t size() const { return size_; }
  int fd() const { return fd_.get(); }

 private:
  int start_parking(size_t at, bool fresh);
  int data_size(size_t *out);

  Fd fd_;
  void *base_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;    // bytes mapped (size_ and the parking area)
  bool parked_ = false;  // registered with core/park
};

}  // namespace mp
