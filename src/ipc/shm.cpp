// Shared-memory segments (ipc/shm.hpp). The Linux backend makes them with
// memfd_create (sealed size); the portable backend with shm_open on a fresh
// unguessable name that is unlinked at once, and puts a parking area
// (core/park.hpp) after the data, registered for the life of the mapping.
#include "ipc/shm.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>

#include "core/backend.hpp"
#include "core/error.hpp"
#include "core/park.hpp"

namespace mp {
namespace {

int map_shared(void **out, int fd, size_t size) {
  void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return fail_errno("mmap", "shared segment", errno);
  *out = p;
  return MP_OK;
}

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

#ifdef MP_HAVE_LINUX_MECHANISMS
int make_memfd(int *out, const char *name) {
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return fail_errno("memfd_create", name, errno);
  *out = fd;
  return MP_OK;
}

// The size never changes: a peer cannot shrink it under our mapping.
void seal_size(int fd) { fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL); }
#endif

// A POSIX shared-memory object nobody else can open: 96 random bits in its
// name (28 characters: within macOS's 31), O_EXCL, mode 0600, and the name
// unlinked before anything else, so only our descriptor reaches it and a
// SIGKILL after this function leaves nothing in /dev/shm (the window is
// the two calls shm_open and shm_unlink).
int make_posix_shm(int *out, const char *name) {
  std::random_device random;
  for (int attempt = 0; attempt < 8; ++attempt) {
    char path[32];
    snprintf(path, sizeof path, "/mp-%08x%08x%08x", unsigned(random()), unsigned(random()),
             unsigned(random()));
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
      shm_unlink(path);
      fcntl(fd, F_SETFD, FD_CLOEXEC);
      *out = fd;
      return MP_OK;
    }
    if (errno != EEXIST) return fail_errno("shm_open", name, errno);
  }
  return fail(MP_ESYS, "shm_open: %s: 8 random names were all taken", name);
}

}  // namespace

Segment::~Segment() {
  if (!base_) return;
  if (parked_) park_unregister(base_);
  munmap(base_, mapped_);
}

int Segment::create(const char *name, size_t size) {
  bool parked = portable_backend();
  size_t total = parked ? round_up(size, 64) + park_area_size() : size;
  int fd = -1;
#ifdef MP_HAVE_LINUX_MECHANISMS
  int r = parked ? make_posix_shm(&fd, name) : make_memfd(&fd, name);
#else
  int r = make_posix_shm(&fd, name);
#endif
  if (r != MP_OK) return r;
  fd_.reset(fd);
  fchmod(fd, 0600);
  r = posix_fallocate(fd, 0, off_t(total));
  if (r != 0) return fail_errno("posix_fallocate", name, r);
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (!parked) seal_size(fd);
#endif
  size_ = size;
  r = map_shared(&base_, fd, total);
  if (r != MP_OK) return r;
  mapped_ = total;
  return parked ? start_parking(total - park_area_size(), true) : MP_OK;
}

// The parking area at offset `at`: set up (fresh) or checked, then
// registered so that waits on words of this mapping park there.
int Segment::start_parking(size_t at, bool fresh) {
  void *area = static_cast<char *>(base_) + at;
  if (fresh) {
    int r = park_area_init(area, size_);
    if (r != MP_OK) return r;
  }
  park_register(base_, mapped_, area);
  parked_ = true;
  return MP_OK;
}

// The user data size of a mapping of `mapped_` bytes received from a peer,
// which must use the same backend as this process (they wait differently).
int Segment::data_size(size_t *out) {
  size_t area = park_area_size();
  uint64_t data = 0;
  bool has_area = mapped_ >= area &&
                  park_area_valid(static_cast<char *>(base_) + mapped_ - area, &data);
  if (!portable_backend()) {
    if (has_area)
      return fail(MP_EINVAL, "attach: the segment was made by the portable backend; "
                  "this process uses the linux one (MULTIPROC_BACKEND differs)");
    *out = mapped_;
    return MP_OK;
  }
  if (!has_area)
    return fail(MP_EINVAL, "attach: the segment was made by the linux backend; this "
                "process uses the portable one (MULTIPROC_BACKEND=portable)");
  if (data > mapped_ - area) return fail(MP_EINVAL, "attach: the segment's size is corrupted");
  *out = size_t(data);
  return MP_OK;
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
  int r = map_shared(&base_, fd, size_t(st.st_size));
  if (r != MP_OK) return r;
  mapped_ = size_t(st.st_size);
  r = data_size(&size_);
  if (r != MP_OK) return r;
  if (size_ < min_size)
    return fail(MP_EINVAL, "attach: the segment has %zu bytes, fewer than a header", size_);
  return portable_backend() ? start_parking(mapped_ - park_area_size(), false) : MP_OK;
}

}  // namespace mp
