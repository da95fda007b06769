// The portable parking lot (core/park.hpp): slots of one waiter each, in
// the mapping that holds the word or in a process-local lot.
#include "core/park.hpp"

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <shared_mutex>

#include "core/error.hpp"
#include "core/owner_lock.hpp"

namespace mp {
namespace {

constexpr uint64_t kParkMagic = 0x316b7261702d706dULL;  // "mp-park1"
constexpr size_t kSharedSlots = 63;                    // header + 63 slots: 4 KiB
constexpr size_t kLocalSlots = 256;

// One waiter's place: the word it waits for and the semaphore it sleeps on.
// A cache line each: waiters of different words do not share lines.
struct alignas(64) Slot {
  std::atomic<uint32_t> owner;   // 0: free; else the waiter's pid (1 in the local lot)
  std::atomic<uint32_t> posted;  // 1: a wake is on its way to sem (one post is enough)
  std::atomic<uint64_t> word;    // the awaited word's name; 0: none
  sem_t sem;
};

struct alignas(64) Header {
  uint64_t magic;
  uint64_t data_size;              // the mapping's user data (shared areas)
  std::atomic<uint32_t> claimed;  // slots claimed, by live or dead waiters
  std::atomic<uint32_t> high;     // slots ever claimed: a wake scans [0, high)
};

struct ParkArea {
  Header header;
  Slot slots[kSharedSlots];
};
static_assert(sizeof(ParkArea) % 64 == 0, "areas follow data rounded up to 64");

struct LocalLot {
  Header header;
  Slot slots[kLocalSlots];
};

// The lot a word parks in, and the word's name there.
struct Lot {
  Header *header;
  Slot *slots;
  size_t n;
  bool shared;
};

// The process-local lot, set up at load and again in a forked child (whose
// other threads, and so their claims, are gone).
LocalLot g_local;

void init_local_lot() {
  g_local.header.claimed.store(0);
  g_local.header.high.store(0);
  for (Slot &s : g_local.slots) {
    s.owner.store(0);
    s.posted.store(0);
    s.word.store(0);
    sem_init(&s.sem, 0, 0);  // process-private: cannot fail
  }
}

// The mapped ranges of ipc/shm.cpp: start → (end, area). Leaked on purpose:
// a thread may still wake a word while the process exits.
struct Range {
  uintptr_t end;
  ParkArea *area;
};
struct Registry {
  std::shared_mutex mu;
  std::map<uintptr_t, Range> ranges;
};
Registry &registry() {
  static Registry *r = new Registry;
  return *r;
}

// A fork while another thread holds the registry's lock would leave the
// child's copy locked for ever: fork holds it. The child makes a fresh lock
// instead of unlocking (glibc's rwlock takes an unlock from a thread that is
// not the writer, the child's, for a reader's and corrupts itself).
void lock_before_fork() { registry().mu.lock(); }
void unlock_in_parent() { registry().mu.unlock(); }
void unlock_in_child() {
  new (&registry().mu) std::shared_mutex();
  init_local_lot();
}
const int g_atfork = [] {
  init_local_lot();
  return pthread_atfork(lock_before_fork, unlock_in_parent, unlock_in_child);
}();

Lot local_lot() { return Lot{&g_local.header, g_local.slots, kLocalSlots, false}; }

// A word in a registered mapping is named by its offset + 1 (the same in
// every process that maps it); any other word by its address.
Lot locate(const void *word, uint64_t *id) {
  uintptr_t a = uintptr_t(word);
  Registry &r = registry();
  std::shared_lock<std::shared_mutex> lock(r.mu);
  auto it = r.ranges.upper_bound(a);
  if (it != r.ranges.begin() && a < (--it)->second.end) {
    *id = a - it->first + 1;
    ParkArea *area = it->second.area;
    return Lot{&area->header, area->slots, kSharedSlots, true};
  }
  *id = a;
  return local_lot();
}

void raise_high(Header &h, uint32_t to) {
  uint32_t cur = h.high.load(std::memory_order_seq_cst);
  while (cur < to && !h.high.compare_exchange_weak(cur, to, std::memory_order_seq_cst)) {
  }
}

Slot *take_free(const Lot &lot, uint32_t me) {
  for (size_t i = 0; i < lot.n; ++i) {
    Slot &s = lot.slots[i];
    uint32_t none = 0;
    if (s.owner.load(std::memory_order_relaxed) == 0 &&
        s.owner.compare_exchange_strong(none, me, std::memory_order_seq_cst)) {
      lot.header->claimed.fetch_add(1, std::memory_order_seq_cst);
      raise_high(*lot.header, uint32_t(i + 1));
      return &s;
    }
  }
  return nullptr;
}

// Every slot of a shared area is claimed: take over one whose waiter's
// process is gone (its claim count becomes ours).
Slot *take_dead(const Lot &lot, uint32_t me) {
  for (size_t i = 0; i < lot.n; ++i) {
    Slot &s = lot.slots[i];
    uint32_t o = s.owner.load(std::memory_order_seq_cst);
    if (o != 0 && o != me && kill(pid_t(o), 0) != 0 && errno == ESRCH &&
        s.owner.compare_exchange_strong(o, me, std::memory_order_seq_cst))
      return &s;
  }
  return nullptr;
}

// Claim a slot for word id: its semaphore drained of posts meant for an
// earlier waiter, then the word published. nullptr: no slot free.
Slot *claim(const Lot &lot, uint64_t id) {
  uint32_t me = lot.shared ? uint32_t(process_token()) : 1;
  int saved_errno = errno;
  Slot *s = take_free(lot, me);
  if (!s && lot.shared) s = take_dead(lot, me);
  errno = saved_errno;
  if (!s) return nullptr;
  s->posted.store(0, std::memory_order_seq_cst);
  while (sem_trywait(&s->sem) == 0) {
  }
  s->word.store(id, std::memory_order_seq_cst);
  return s;
}

void release(const Lot &lot, Slot *s) {
  s->word.store(0, std::memory_order_seq_cst);
  s->owner.store(0, std::memory_order_seq_cst);
  lot.header->claimed.fetch_sub(1, std::memory_order_seq_cst);
}

timespec realtime_after(int64_t ms) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += time_t(ms / 1000);
  ts.tv_nsec += long(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

// Sleep on sem for at most ms (MP_FOREVER: no limit). MP_OK: posted,
// interrupted, or a slice (or a step of the wall clock, which
// sem_timedwait measures) ended before the deadline; MP_ETIMEDOUT.
int sleep_on(sem_t *sem, int64_t ms, const Deadline &deadline) {
  int r;
  if (ms == MP_FOREVER) {
    r = sem_wait(sem);
  } else {
    timespec at = realtime_after(ms);
    r = sem_timedwait(sem, &at);
  }
  if (r == 0 || errno != ETIMEDOUT) return MP_OK;
  return deadline.expired() ? MP_ETIMEDOUT : MP_OK;
}

int64_t slice_of(int64_t ms) {
  return ms == MP_FOREVER || ms > kCancelSliceMs ? kCancelSliceMs : ms;
}

// Every slot is taken by a live waiter: poll the word in short slices.
int slice_sleep(std::atomic<uint32_t> *word, uint32_t expected, const Deadline &deadline) {
  if (word->load(std::memory_order_seq_cst) != expected) return MP_OK;
  int64_t ms = slice_of(deadline.remaining_ms());
  timespec ts{time_t(0), long(ms) * 1000000L};
  nanosleep(&ts, nullptr);
  return deadline.expired() ? MP_ETIMEDOUT : MP_OK;
}

// A wait's semaphore published in its cancel token for the wait's
// duration. On leaving, fires that are posting to it finish first, so that
// none posts to a slot another waiter has claimed meanwhile.
class CancelPark {
 public:
  CancelPark(mp_cancel *c, sem_t *sem) : c_(c) {
    if (!c) return;
    for (int i = 0; i < mp_cancel::kParked; ++i) {
      void *none = nullptr;
      if (c->parked[i].compare_exchange_strong(none, sem, std::memory_order_seq_cst)) {
        index_ = i;
        return;
      }
    }
  }
  CancelPark(const CancelPark &) = delete;
  CancelPark &operator=(const CancelPark &) = delete;
  ~CancelPark() {
    if (index_ < 0) return;
    c_->parked[index_].store(nullptr, std::memory_order_seq_cst);
    while (c_->firing.load(std::memory_order_seq_cst) != 0) sched_yield();
  }
  // A fire posts to this wait (or there is no token); else (a token bound
  // to more than kParked waiting threads) the wait re-checks it in slices.
  bool direct() const { return !c_ || index_ >= 0; }

 private:
  mp_cancel *c_;
  int index_ = -1;
};

}  // namespace

size_t park_area_size() { return sizeof(ParkArea); }

int park_area_init(void *area, uint64_t data_size) {
  auto *a = static_cast<ParkArea *>(area);  // zero-filled
  for (Slot &s : a->slots)
    if (sem_init(&s.sem, 1, 0) != 0) return fail_errno("sem_init", "process-shared", errno);
  a->header.data_size = data_size;
  a->header.magic = kParkMagic;
  return MP_OK;
}

bool park_area_valid(const void *area, uint64_t *data_size) {
  // Any descriptor may come here (a peer's garbage, a plain file): only
  // an aligned area is one, and its fields are read without assuming it.
  if (uintptr_t(area) % alignof(ParkArea) != 0) return false;
  uint64_t magic;
  std::memcpy(&magic, static_cast<const char *>(area) + offsetof(Header, magic), sizeof magic);
  if (magic != kParkMagic) return false;
  std::memcpy(data_size, static_cast<const char *>(area) + offsetof(Header, data_size),
              sizeof *data_size);
  return true;
}

void park_register(const void *base, size_t bytes, void *area) {
  Registry &r = registry();
  std::unique_lock<std::shared_mutex> lock(r.mu);
  r.ranges[uintptr_t(base)] = Range{uintptr_t(base) + bytes, static_cast<ParkArea *>(area)};
}

void park_unregister(const void *base) {
  Registry &r = registry();
  std::unique_lock<std::shared_mutex> lock(r.mu);
  r.ranges.erase(uintptr_t(base));
}

int park_wait(std::atomic<uint32_t> *word, uint32_t expected, const Deadline &deadline) {
  int64_t ms = deadline.remaining_ms();
  if (ms == 0) return MP_ETIMEDOUT;  // expired or canceled
  uint64_t id;
  Lot lot = locate(word, &id);
  Slot *s = claim(lot, id);
  if (!s) return slice_sleep(word, expected, deadline);
  int r = MP_OK;
  {
    CancelPark park(deadline.cancel(), &s->sem);
    // A wake after the word was published posts to s->sem; a wake before
    // it changed the word, seen here. A fire likewise (published first).
    if (word->load(std::memory_order_seq_cst) == expected && !deadline.canceled())
      r = sleep_on(&s->sem, park.direct() ? ms : slice_of(ms), deadline);
  }
  release(lot, s);
  if (deadline.canceled()) return MP_ETIMEDOUT;
  return r;
}

int park_wait_any(std::atomic<uint32_t> *const *words, const uint32_t *values, size_t n,
                  const Deadline &deadline) {
  for (size_t i = 0; i < n; ++i)
    if (words[i]->load(std::memory_order_seq_cst) != values[i]) return MP_OK;
  if (n == 1) return park_wait(words[0], values[0], deadline);
  // A thread sleeps on one semaphore, and the words may live in different
  // mappings: the first word is waited for in kCancelSliceMs slices, the
  // others re-checked by the caller after each (the documented fallback,
  // like the Linux backend's on kernels without futex_waitv).
  int r = park_wait(words[0], values[0], deadline.within(kCancelSliceMs));
  if (r == MP_ETIMEDOUT && !deadline.expired()) return MP_OK;
  return r;
}

void park_wake(std::atomic<uint32_t> *word) {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the caller's change of the word first
  uint64_t id;
  Lot lot = locate(word, &id);
  if (lot.header->claimed.load(std::memory_order_seq_cst) == 0) return;  // nobody parked
  uint32_t high = lot.header->high.load(std::memory_order_seq_cst);
  for (uint32_t i = 0; i < high && i < lot.n; ++i) {
    Slot &s = lot.slots[i];
    // Every waiter of the word (they re-check): a dead one must not take
    // a wake meant for a live one.
    if (s.word.load(std::memory_order_seq_cst) == id &&
        s.posted.exchange(1, std::memory_order_acq_rel) == 0)
      sem_post(&s.sem);
  }
}

void park_fire_cancel(mp_cancel *c) {
  c->firing.fetch_add(1, std::memory_order_seq_cst);
  for (int i = 0; i < mp_cancel::kParked; ++i) {
    void *p = c->parked[i].load(std::memory_order_seq_cst);
    if (p) sem_post(static_cast<sem_t *>(p));
  }
  c->firing.fetch_sub(1, std::memory_order_seq_cst);
}

}  // namespace mp
