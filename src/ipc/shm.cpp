#include "ipc/shm.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.hpp"

namespace mp {
namespace {

int map_shared(void **out, int fd, size_t size) {
  void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return fail_errno("mmap", "shared segment", errno);
  *out = p;
  return MP_OK;
}

}  // namespace

Segment::~Segment() {
  if (base_) munmap(base_, size_);
}

int Segment::create(const char *name, size_t size) {
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return fail_errno("memfd_create", name, errno);
  fd_.reset(fd);
  fchmod(fd, 0600);
  int r = posix_fallocate(fd, 0, off_t(size));
  if (r != 0) return fail_errno("posix_fallocate", name, r);
  // The size never changes: a peer cannot shrink it under our mapping.
  fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  size_ = size;
  return map_shared(&base_, fd, size);
}

int Segment::attach(int fd, size_t min_size) {
  fd_.reset(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) return fail_errno("fstat", "shared segment", errno);
  if (!S_ISREG(st.st_mode))
    return fail(MP_EINVAL, "attach: descriptor %d is not a shared-memory segment", fd);
  if (st.st_uid != getuid())
    return fail(MP_EACCES, "attach: the segment belongs to another user (uid %d)",
                int(st.st_uid));
  if (size_t(st.st_size) < min_size)
    return fail(MP_EINVAL, "attach: the segment has %lld bytes, fewer than a header",
                (long long)st.st_size);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  size_ = size_t(st.st_size);
  return map_shared(&base_, fd, size_);
}

}  // namespace mp
