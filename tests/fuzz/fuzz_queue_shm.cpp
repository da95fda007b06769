// Queue records in shared memory (src/ipc/queue*.cpp): every process that
// maps a queue can write its header and ring, and one that crashes or
// misbehaves can leave anything there. A corrupted or truncated ring must
// give an error, never a crash, an out-of-bounds access or an endless loop.
//
// Each input builds a real queue (a 4096-byte ring) and fills it through
// the API (small messages, a streamed large one, a wrap-around), then
// writes fuzz bytes into the mapped segment: raw bytes, header fields set
// or nudged, record headers; optionally a dead owner of the put_stream
// mutex (a streaming producer killed). A second handle attaches from the descriptor
// (attach checks the geometry) and runs get/get_into/put/put_many/get_many/
// qsize/empty/full/task_done/join with timeout 0; each must return a code. Then, on some
// inputs, the creator's handle (attached before the corruption) does the
// same.
//
// Left alone: the robust pthread mutex put_stream (glibc's own layout) and
// lock words naming a live process (a lock held by a live process is
// waited for, by design; see sanitize_owner).
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <thread>

#include "fuzz.hpp"
#include "ipc/queue_ring.hpp"

namespace {

using mp::QueueShared;
using mp::Record;

constexpr size_t kRing = 4096;
constexpr size_t kHeader = (sizeof(QueueShared) + 7) & ~size_t(7);
constexpr size_t kSegment = kHeader + kRing;

struct Field {
  size_t offset, width;
};

#define F(name) {offsetof(QueueShared, name), sizeof(QueueShared::name)}
const Field kFields[] = {
    F(magic),        F(version),       F(segment_size),  F(capacity),      F(max_items),
    F(joinable),     F(closed),        F(tail),          F(puts),          F(head_seen),
    F(next_stream),  F(writing_stream), F(head),         F(gets),          F(tail_seen),
    F(reading_stream), F(discard_stream), F(get_waiters), F(put_waiters),   F(unfinished),
    F(got_not_done), F(join_waiters),  F(data_seq),      F(space_seq),     F(join_seq),
    {offsetof(QueueShared, get_stream) + offsetof(mp::OwnerLock, owner), 8},
    {offsetof(QueueShared, put_lock) + offsetof(mp::OwnerLock, owner), 8},
    {offsetof(QueueShared, get_lock) + offsetof(mp::OwnerLock, owner), 8},
};
#undef F
constexpr size_t kNumFields = sizeof kFields / sizeof kFields[0];

uint64_t get_field(const char *base, const Field &f) {
  uint64_t v = 0;
  memcpy(&v, base + f.offset, f.width);
  return v;
}

void set_field(char *base, const Field &f, uint64_t v) { memcpy(base + f.offset, &v, f.width); }

bool in_mutex(size_t off) {
  size_t m = offsetof(QueueShared, put_stream);
  return off >= m && off < m + sizeof(pthread_mutex_t);
}

// Write bytes into the segment, except over the pthread mutex.
void patch(char *base, size_t off, const std::string &bytes) {
  for (size_t i = 0; i < bytes.size() && off + i < kSegment; ++i)
    if (!in_mutex(off + i)) base[off + i] = bytes[i];
}

// A lock word that names a live process (this one, or any other whose pid
// and start time match) means the lock is held: the library waits for it
// as it should. Such a word becomes 0 (free); dead owners stay, so the
// take-over and repair paths run on fuzzed state.
uint64_t start_ticks(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');
  unsigned long long t = 0;
  if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &t) != 1)
    return 0;
  return t;
}

void sanitize_owner(char *base, const Field &f) {
  uint64_t token = get_field(base, f);
  if (!token) return;
  int pid = int(uint32_t(token));
  bool live = pid > 0 && (pid == getpid() ||
              (kill(pid, 0) == 0 && (uint32_t(start_ticks(pid)) == uint32_t(token >> 32) ||
                                     start_ticks(pid) == 0)));
  if (live) set_field(base, f, 0);
}

void fill(mp_queue_t *q, fuzz::Input &in) {
  uint8_t plan = in.u8();
  std::string small(in.u8(), 's'), medium(300 + in.u8(), 'm'), large(2500 + in.u16() % 2000, 'L');
  void *out = nullptr;
  size_t len = 0;
  if (plan & 1) mp_queue_put(q, small.data(), small.size(), 0);
  if (plan & 2) mp_queue_put(q, medium.data(), medium.size(), 0);
  if (plan & 4) {  // move the head on, so that later records wrap around
    mp_queue_get(&out, &len, q, 0);
    mp_free(out);
  }
  if (plan & 8) mp_queue_put(q, large.data(), large.size(), 0);
  if (plan & 16) mp_queue_put(q, medium.data(), medium.size(), 0);
  if (plan & 32) mp_queue_put(q, small.data(), small.size(), 0);
}

void corrupt(char *base, fuzz::Input &in) {
  int steps = in.u8() % 16;
  for (int i = 0; i < steps && !in.empty(); ++i) {
    uint8_t op = in.u8();
    switch (op % 4) {
      case 0: {  // raw bytes anywhere
        size_t off = in.u16() % kSegment;
        patch(base, off, in.bytes(in.u8() % 32 + 1));
        break;
      }
      case 1: {  // set a header field
        const Field &f = kFields[in.u8() % kNumFields];
        set_field(base, f, in.u64());
        break;
      }
      case 2: {  // nudge a header field (indexes off by a little)
        const Field &f = kFields[in.u8() % kNumFields];
        set_field(base, f, get_field(base, f) + uint64_t(int64_t(int8_t(in.u8()))));
        break;
      }
      default: {  // a record header at an 8-byte position of the ring
        size_t at = (in.u16() % kRing) & ~size_t(7);
        Record r{uint32_t(in.u8() % 8), in.u32(), uint64_t(in.u8()), in.u64()};
        if ((op >> 2) & 1) r.len %= 4096;  // mostly plausible lengths
        std::string bytes(reinterpret_cast<char *>(&r), sizeof r);
        patch(base, kHeader + at, bytes.substr(0, kRing - at));
        break;
      }
    }
  }
  for (size_t i = kNumFields - 3; i < kNumFields; ++i) sanitize_owner(base, kFields[i]);
}

// A thread that exits holding a robust mutex leaves it EOWNERDEAD, as a
// producer killed in the middle of a large message would.
void leave_owner_dead(pthread_mutex_t *m) {
  std::thread([m] { FUZZ_CHECK(pthread_mutex_lock(m) == 0); }).join();
}

void check_get(int rc, void *out, size_t len) {
  fuzz::check_error_has_message(rc);
  if (rc == MP_OK)
    FUZZ_CHECK(out && static_cast<char *>(out)[len] == '\0');
  else
    FUZZ_CHECK(!out);
}

void operate(mp_queue_t *q, fuzz::Input &in) {
  static char buf[8192];
  std::string msg(1500, 'p');  // above a quarter of the ring: streamed
  for (int i = 0; i < 12 && !in.empty(); ++i) {
    uint8_t op = in.u8();
    int rc;
    switch (op % 12) {
      case 0: {
        void *out = nullptr;
        size_t len = 0;
        rc = mp_queue_get(&out, &len, q, 0);
        check_get(rc, out, len);
        mp_free(out);
        break;
      }
      case 1: {
        size_t len = 0;
        rc = mp_queue_get_into(&len, q, buf, in.u16() % sizeof buf, 0);
        break;
      }
      case 2: rc = mp_queue_put(q, msg.data(), op % 200, 0); break;
      case 3: rc = mp_queue_put(q, msg.data(), msg.size(), 0); break;
      case 4: rc = mp_queue_qsize(q); break;
      case 5: rc = mp_queue_empty(q); FUZZ_CHECK(rc == 0 || rc == 1 || rc < 0); break;
      case 6: rc = mp_queue_full(q); FUZZ_CHECK(rc == 0 || rc == 1 || rc < 0); break;
      case 7: rc = mp_queue_task_done(q); break;
      case 8: rc = mp_queue_join(q, 0); break;
      case 9: rc = mp_queue_close(q); break;
      case 10: {  // a batch of small messages and a streamed one
        const void *bufs[4] = {msg.data(), msg.data(), msg.data(), msg.data()};
        size_t lens[4] = {size_t(op % 50), 0, msg.size(), size_t(op % 7)}, put = 99;
        rc = mp_queue_put_many(&put, q, bufs, lens, 1 + in.u8() % 4, 0);
        FUZZ_CHECK(put <= 4 && (rc != MP_OK || put >= 1));
        break;
      }
      default: {
        size_t lens[8], count = 99, cap = in.u16() % sizeof buf;
        rc = mp_queue_get_many(&count, q, buf, cap, lens, 1 + in.u8() % 8, 0);
        size_t total = 0;
        for (size_t k = 0; rc == MP_OK && k < count; ++k) total += lens[k];
        FUZZ_CHECK(rc == MP_OK ? count >= 1 && count <= 8 && total <= cap : count == 0);
        break;
      }
    }
    fuzz::check_error_has_message(rc);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::Input in(data, size);
  uint8_t kind = in.u8();
  mp_queue_t *q = nullptr;
  FUZZ_CHECK(mp_queue_new(&q, kind & 1 ? 3 : 0, kRing, kind & 2 ? MP_QUEUE_JOINABLE : 0) == MP_OK);
  fill(q, in);
  int fd = mp_queue_fileno(q);
  // A mapping of our own, as another process would have.
  char *base = static_cast<char *>(mmap(nullptr, kSegment, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  FUZZ_CHECK(base != MAP_FAILED);
  corrupt(base, in);
  if (kind & 4)
    leave_owner_dead(reinterpret_cast<pthread_mutex_t *>(base + offsetof(QueueShared, put_stream)));
  mp_queue_t *peer = nullptr;
  int rc = mp_queue_from_fd(&peer, dup(fd));
  fuzz::check_error_has_message(rc);
  if (rc == MP_OK) {
    operate(peer, in);
    mp_queue_free(peer);
  }
  // The creator's handle, attached before the corruption: it must not
  // trust the header's geometry either (capacity is copied at attach).
  if (kind & 8) operate(q, in);
  munmap(base, kSegment);
  mp_queue_free(q);
  return 0;
}
