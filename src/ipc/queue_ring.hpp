// Internals of the shared-memory queue, shared by queue.cpp (the public
// operations), queue_ring.cpp (the ring, its locks and waits) and
// queue_stream.cpp (messages larger than the ring, streamed in chunks).
// See queue.cpp for the design.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>

#include "core/deadline.hpp"
#include "core/futex.hpp"
#include "core/owner_lock.hpp"
#include "core/robust_mutex.hpp"
#include "core/spin.hpp"
#include "ipc/queue.hpp"

namespace mp {

enum RecordKind : uint32_t { kWhole = 1, kFirst, kMiddle, kLast, kAbort, kPad };

struct Record {
  uint32_t kind;
  uint32_t len;     // payload bytes that follow
  uint64_t stream;  // chunk records: the stream id
  uint64_t total;   // kFirst: the whole message's length
};
static_assert(sizeof(Record) == 24, "record header");

struct QueueShared {
  uint32_t magic;
  uint32_t version;
  uint64_t segment_size;
  uint64_t capacity;
  uint64_t max_items;  // 0: unbounded
  uint32_t joinable;
  std::atomic<uint32_t> closed;
  RobustMutex put_stream;
  OwnerLock get_stream;  // owned by a process: held across gets while parked
  // Producer side (put_lock). One cache line each side: a producer and a
  // consumer only touch each other's line to refresh a cached index.
  // The side locks are process-owned locks: cheaper than robust mutexes,
  // and a dead holder is still detected (pid + start time).
  alignas(64) OwnerLock put_lock;
  std::atomic<uint64_t> puts;  // complete messages committed (WHOLE or LAST)
  uint64_t head_seen;          // a past value of head: free space is at least this
  uint64_t next_stream;
  uint64_t writing_stream;  // 0: none
  // Alone on its line: a waiting consumer polls it, and polling the line
  // the producer also locks and counts on would cost the producer a cache
  // miss on each of those writes instead of one on the tail's.
  alignas(64) std::atomic<uint64_t> tail;
  // Consumer side (get_lock).
  alignas(64) OwnerLock get_lock;
  std::atomic<uint64_t> head;
  std::atomic<uint64_t> gets;  // complete messages taken (WHOLE or LAST)
  uint64_t tail_seen;          // a past value of tail: data is there up to it
  uint64_t reading_stream;     // 0: none
  uint64_t discard_stream;     // chunks of this stream are dropped
  // Waiter flags: written only when a side goes to sleep, read on every
  // operation, so they live apart from the busy indexes.
  alignas(64) std::atomic<uint32_t> get_waiters;
  alignas(64) std::atomic<uint32_t> put_waiters;
  // Both sides.
  alignas(64) std::atomic<uint64_t> unfinished;  // joinable: put, not task_done
  std::atomic<uint64_t> got_not_done;            // joinable: got, not task_done
  std::atomic<uint32_t> join_waiters;
  std::atomic<uint32_t> data_seq;
  std::atomic<uint32_t> space_seq;
  std::atomic<uint32_t> join_seq;
};

namespace ring {

constexpr uint32_t kQueueMagic = 0x3151504d;  // "MPQ1"
constexpr uint32_t kQueueVersion = 6;  // 6: armed eventcounts (wait_on)
// Bindings put and get whole records on the ring themselves (Go's, through
// mp_queue_ring_word()): a change to the steps of such a put or get (the
// records, the lock words, the order of the index stores, the waiter
// flags) must bump MP_QUEUE_RING_PROTOCOL in multiproc/queue.h, so that a
// binding built for the old steps makes its calls through the library.
constexpr size_t kDefaultCapacity = 1 << 20;
constexpr size_t kMinCapacity = 4096;
constexpr size_t kMaxCapacity = size_t(1) << 34;
// How long a waiter spins before it sleeps, at most and at least (see
// wait_on): 20 us is about what a futex sleep and wake-up cost here.
constexpr uint32_t kSpinNs = 20000;
constexpr uint32_t kMinSpinNs = 500;
// How often a reader waiting for the next chunk checks that its writer lives.
constexpr int64_t kStreamCheckMs = 100;

inline size_t align8(size_t n) { return (n + 7) & ~size_t(7); }

inline size_t ring_mask(size_t capacity) {
  return (capacity & (capacity - 1)) == 0 ? capacity - 1 : 0;
}

// Where position pos (head, tail: they only grow) is in the ring.
inline size_t ring_offset(const mp_queue &q, uint64_t pos) {
  return q.mask ? size_t(pos & q.mask) : size_t(pos % q.capacity);
}

inline size_t record_size(size_t payload) { return align8(sizeof(Record) + payload); }

// Largest WHOLE payload; bigger messages are streamed in chunks this size.
inline size_t chunk_payload(const mp_queue &q) { return q.capacity / 4 - sizeof(Record); }

Record *record_at(mp_queue &q, uint64_t pos);
int lock_robust(RobustMutex *m, const Deadline &deadline, bool *owner_died);
void repair_counts(mp_queue &q);
// Lock one side's lock. Returns whether the previous holder died.
inline bool lock_side(OwnerLock &l) {
  return owner_lock_acquire(l, Deadline::uncancelable(MP_FOREVER)) == MP_EOWNERDEAD;
}

// Take one side's lock; one that died holding it is repaired after (its
// side's half-written state is cut off and the counts are redone).
void repair_after_dead_producer(mp_queue &q);
void repair_after_dead_consumer(mp_queue &q);
inline void lock_put(mp_queue &q) {
  if (lock_side(q.shared->put_lock)) repair_after_dead_producer(q);
}
inline void lock_get(mp_queue &q) {
  if (lock_side(q.shared->get_lock)) repair_after_dead_consumer(q);
}
uint32_t arm(std::atomic<uint32_t> &seq);
void wake(std::atomic<uint32_t> &seq);
void wake_armed(std::atomic<uint32_t> &seq);

// One side's lock, released on scope exit.
class SideLock {
 public:
  SideLock(mp_queue &q, bool put_side) : q_(q), put_(put_side) { relock(); }
  ~SideLock() {
    if (held_) unlock();
  }
  void unlock() {
    owner_lock_release(put_ ? q_.shared->put_lock : q_.shared->get_lock);
    held_ = false;
  }
  void relock() {
    if (put_)
      lock_put(q_);
    else
      lock_get(q_);
    held_ = true;
  }

 private:
  mp_queue &q_;
  bool put_;
  bool held_ = false;
};

// Wait until `ready` (read without locks) or seq moves. Spin first with
// the lock released and no waiter flagged, so a busy peer makes no wake-up
// syscall; then count ourselves in `waiters`, arm seq (its low bit: "a
// sleeper wants a wake") and re-check before sleeping. The peer's index
// store, its read of `waiters` and of seq, and our count, arm and re-check
// are all seq_cst: either the re-check sees the new index or the peer sees
// the armed seq and wakes us. Returns with the lock held: MP_OK (look
// again) or MP_ETIMEDOUT.
//
// The spin is capped by time and adapts, per thread: spinning pays only
// while the peer runs on another CPU, and when the cores are shared it
// mostly does not. A spin that ends in sleep halves the next budget (down
// to kMinSpinNs, about a cache miss or two), one that sees the state
// change restores it. A preempted spinner finds its time gone and sleeps.
template <class Ready>
int wait_on(SideLock &lock, std::atomic<uint32_t> &seq, std::atomic<uint32_t> &waiters,
            const Deadline &deadline, Ready ready) {
  lock.unlock();
  int r = MP_OK;
  __attribute__((tls_model("initial-exec"))) static thread_local uint32_t budget = kSpinNs;
  if (spin_for(budget, ready)) {
    budget = kSpinNs;
  } else {
    budget = budget / 2 > kMinSpinNs ? budget / 2 : kMinSpinNs;
    waiters.fetch_add(1, std::memory_order_seq_cst);
    uint32_t armed = arm(seq);
    if (!ready()) r = futex_wait(&seq, armed, deadline);
    waiters.fetch_sub(1, std::memory_order_seq_cst);
  }
  lock.relock();
  return r;
}

// The ring (queue_ring.cpp).
uint64_t queued(const QueueShared &s);
bool items_full(const QueueShared &s);
size_t bytes_needed_at(const mp_queue &q, uint64_t tail, size_t payload);
size_t bytes_needed(const mp_queue &q, size_t payload);
size_t bytes_free_at(mp_queue &q, uint64_t tail, size_t want);
size_t bytes_free(mp_queue &q, size_t want);
uint64_t write_record(mp_queue &q, uint64_t tail, const Record &h, const void *payload);
void publish(mp_queue &q, uint64_t tail, uint64_t complete);
void append(mp_queue &q, const Record &h, const void *payload);
void wake_consumers(QueueShared &s);
void wake_producers(QueueShared &s);
int wait_for_space(mp_queue &q, SideLock &lock, size_t payload, size_t reserve, bool counts_item, const Deadline &deadline);
int find_record(mp_queue &q, uint64_t &head, Record **out);
int head_record(mp_queue &q, Record **out);
void pop(mp_queue &q, Record *r);
int sink_reserve(Sink &sink, size_t total);
char *sink_data(Sink &sink);
void sink_drop(Sink &sink);
int wait_for_data(mp_queue &q, SideLock &lock, const Deadline &deadline);

// Large messages (queue_stream.cpp).

// The stream a get was reading is torn (aborted, or its FIRST chunk went to
// another reader): look for the next message. Positive, so never an MP_E*
// code: a real MP_ECANCELED (a fired cancel token) cannot be taken for it,
// and it never leaves queue_get.
constexpr int kStreamTorn = 1;

void abort_stream(mp_queue &q);
int wait_for_streamer(mp_queue &q, SideLock &lock, const Deadline &deadline);
int put_stream(mp_queue &q, const void *buf, size_t len, const Deadline &deadline);
int take_get_stream(mp_queue &q, SideLock &lock, const Deadline &deadline);
void release_get_stream(QueueShared &s);
int resume_parked(mp_queue &q, SideLock &lock, Sink &sink, const Deadline &deadline);
int get_stream(mp_queue &q, SideLock &lock, Sink &sink, const Deadline &deadline);
int handle_foreign_chunk(mp_queue &q, SideLock &lock, Record *r, const Deadline &deadline);

}  // namespace ring
}  // namespace mp
