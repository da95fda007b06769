// Descriptor ownership and the few blocking primitives built on poll():
// every descriptor the library opens is close-on-exec and owned by one Fd.
#pragma once

#include <cstddef>
#include <utility>

#include "core/deadline.hpp"

namespace mp {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd &operator=(Fd &&o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// pipe2(O_CLOEXEC). Returns MP_OK or an error code with the message set.
int make_pipe(Fd &read_end, Fd &write_end);

// Duplicate fd as close-on-exec at a number >= min_fd.
int dup_cloexec(Fd &out, int fd, int min_fd, const char *what);

int set_nonblocking(int fd, bool on);

// Wait until fd is ready for events (POLLIN/POLLOUT). MP_OK when ready or
// on hang-up/error (the next read/write reports it), MP_ETIMEDOUT.
int wait_ready(int fd, short events, const Deadline &deadline);

// write() that turns a dead reader into EPIPE without delivering SIGPIPE
// to the process. Returns what write() returns, errno set on -1.
long write_no_sigpipe(int fd, const void *buf, size_t len);

// Write every byte to a non-blocking fd before the deadline.
// MP_OK, MP_EPIPE, MP_ETIMEDOUT or MP_ESYS.
int write_all(int fd, const void *buf, size_t len, const Deadline &deadline,
              const char *what);

}  // namespace mp
