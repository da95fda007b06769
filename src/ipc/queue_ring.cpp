// The queue's ring: locks and their repair, waits, appending and taking
// records. See queue.cpp for the design.
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"
#include "core/robust_mutex.hpp"
#include "ipc/queue_ring.hpp"

namespace mp {
namespace ring {
Record *record_at(mp_queue &q, uint64_t pos) {
  return reinterpret_cast<Record *>(q.ring + ring_offset(q, pos));
}

int lock_robust(RobustMutex *m, const Deadline &deadline, bool *owner_died) {
  int r = robust_mutex_lock(m, deadline);
  *owner_died = r == EOWNERDEAD;
  if (r == 0 || r == EOWNERDEAD) return MP_OK;
  if (r == ETIMEDOUT) return MP_ETIMEDOUT;
  return fail_errno("pthread_mutex_lock", "queue", r);
}

// Recount the messages between head and tail (both locks held) and cut the
// tail at anything that is not a valid record. Idempotent.
void repair_counts(mp_queue &q) {
  QueueShared &s = *q.shared;
  uint64_t pos = s.head.load(std::memory_order_relaxed);
  uint64_t tail = s.tail.load(std::memory_order_relaxed);
  uint64_t complete = 0;
  if (tail < pos || tail - pos > q.capacity || (pos | tail) % 8) {  // corrupted: nothing is readable
    s.tail.store(pos, std::memory_order_relaxed);
    tail = pos;
  }
  while (pos < tail) {
    size_t to_end = q.capacity - ring_offset(q, pos);
    if (to_end < sizeof(Record)) {
      pos += to_end;
      continue;
    }
    Record *r = record_at(q, pos);
    size_t size = record_size(r->len);
    if (r->kind < kWhole || r->kind > kPad || size > to_end || pos + size > tail) {
      s.tail.store(pos, std::memory_order_relaxed);
      break;
    }
    if (r->kind == kWhole || r->kind == kLast) ++complete;
    pos += size;
  }
  s.head_seen = s.head.load(std::memory_order_relaxed);
  s.tail_seen = s.head_seen;  // re-read on the next get
  s.puts.store(s.gets.load(std::memory_order_relaxed) + complete, std::memory_order_relaxed);
  if (s.joinable)
    s.unfinished.store(s.got_not_done.load(std::memory_order_relaxed) + complete,
                       std::memory_order_relaxed);
}

// Lock order: put_lock before get_lock, everywhere.
void repair_after_dead_producer(mp_queue &q) {
  QueueShared &s = *q.shared;
  lock_side(s.get_lock);
  repair_counts(q);
  owner_lock_release(s.get_lock);
}

void repair_after_dead_consumer(mp_queue &q) {
  QueueShared &s = *q.shared;
  // Repair under both locks, in lock order.
  owner_lock_release(s.get_lock);
  lock_put(q);
  lock_side(s.get_lock);
  repair_counts(q);
  owner_lock_release(s.put_lock);
}

// The eventcounts' low bit says a sleeper armed it (wait_on); a wake
// clears it and bumps the count above, so the word always changes.
uint32_t arm(std::atomic<uint32_t> &seq) { return seq.fetch_or(1, std::memory_order_seq_cst) | 1; }

void wake(std::atomic<uint32_t> &seq) {
  uint32_t v = seq.load(std::memory_order_seq_cst);
  while (!seq.compare_exchange_weak(v, (v | 1) + 1, std::memory_order_seq_cst)) {
  }
  futex_wake(&seq, -1);
}

// Wake the sleepers only if one armed seq since the last wake: a sleeper
// woken but not yet running is still counted in the waiters, and without
// the bit every operation until it runs would make a futex_wake call (on
// a loaded machine, thousands). A waiter that died or timed out leaves the
// bit set: one needless wake, which clears it.
void wake_armed(std::atomic<uint32_t> &seq) {
  uint32_t v = seq.load(std::memory_order_seq_cst);
  while (v & 1) {
    if (seq.compare_exchange_weak(v, v + 1, std::memory_order_seq_cst)) {
      futex_wake(&seq, -1);
      return;
    }
  }
}

uint64_t queued(const QueueShared &s) {
  uint64_t puts = s.puts.load(std::memory_order_acquire);
  uint64_t gets = s.gets.load(std::memory_order_acquire);
  return puts > gets ? puts - gets : 0;
}

bool items_full(const QueueShared &s) { return s.max_items && queued(s) >= s.max_items; }

// Bytes a record of `payload` needs at `tail`, counting the padding that
// skips the end of the ring when it does not fit there.
size_t bytes_needed_at(const mp_queue &q, uint64_t tail, size_t payload) {
  size_t to_end = q.capacity - ring_offset(q, tail);
  size_t size = record_size(payload);
  return size <= to_end ? size : to_end + size;
}

size_t bytes_needed(const mp_queue &q, size_t payload) {
  return bytes_needed_at(q, q.shared->tail.load(std::memory_order_relaxed), payload);
}

// Free bytes past `tail` (put_lock held). The consumer's head is only read
// when the last value seen does not leave enough room.
size_t bytes_free_at(mp_queue &q, uint64_t tail, size_t want) {
  QueueShared &s = *q.shared;
  size_t room = q.capacity - (tail - s.head_seen);
  if (room >= want) return room;
  s.head_seen = s.head.load(std::memory_order_acquire);
  return q.capacity - (tail - s.head_seen);
}

size_t bytes_free(mp_queue &q, size_t want) {
  return bytes_free_at(q, q.shared->tail.load(std::memory_order_relaxed), want);
}

// Write a record at `tail` (put_lock held, space checked), padding to the
// ring's start when it does not fit before the end. Returns the tail after
// it. Nothing is visible to consumers until publish().
uint64_t write_record(mp_queue &q, uint64_t tail, const Record &h, const void *payload) {
  size_t to_end = q.capacity - ring_offset(q, tail);
  size_t size = record_size(h.len);
  if (size > to_end) {
    if (to_end >= sizeof(Record)) {
      Record pad = {kPad, uint32_t(to_end - sizeof(Record)), 0, 0};
      memcpy(record_at(q, tail), &pad, sizeof pad);
    }
    tail += to_end;
  }
  char *at = reinterpret_cast<char *>(record_at(q, tail));
  memcpy(at, &h, sizeof h);
  if (h.len) memcpy(at + sizeof h, payload, h.len);
  return tail + size;
}

// Make the records written up to `tail` visible; `complete` of them end a
// message (a stream that is aborted never counts). The tail moves last: a
// writer that dies before that leaves nothing visible.
//
// No locked instruction here: puts is written only under put_lock (a load
// and a store, not an atomic add), and the tail is a release store. The
// wake-up check that must follow the tail's store (wake_consumers) comes
// after the seq_cst fence of the put_lock's release.
void publish(mp_queue &q, uint64_t tail, uint64_t complete) {
  QueueShared &s = *q.shared;
  if (complete) {
    s.puts.store(s.puts.load(std::memory_order_relaxed) + complete, std::memory_order_relaxed);
    if (s.joinable) s.unfinished.fetch_add(complete, std::memory_order_relaxed);
  }
  s.tail.store(tail, std::memory_order_release);
}

// Append one record and publish it.
void append(mp_queue &q, const Record &h, const void *payload) {
  uint64_t tail = write_record(q, q.shared->tail.load(std::memory_order_relaxed), h, payload);
  publish(q, tail, h.kind == kWhole || h.kind == kLast ? 1 : 0);
}

// Both run after a seq_cst fence that follows the index store they
// announce (owner_lock_release has one): with the waiter's seq_cst count,
// arm and re-read of the index (wait_on), either the waiter sees the new
// index or this sees the waiter.
void wake_consumers(QueueShared &s) {
  if (s.get_waiters.load(std::memory_order_seq_cst)) wake_armed(s.data_seq);
}

void wake_producers(QueueShared &s) {
  if (s.put_waiters.load(std::memory_order_seq_cst)) wake_armed(s.space_seq);
}

// Wait until a record of `payload` bytes fits (keeping `reserve` free).
int wait_for_space(mp_queue &q, SideLock &lock, size_t payload, size_t reserve,
                   bool counts_item, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  for (;;) {
    if (s.closed.load(std::memory_order_acquire)) return fail(MP_ECLOSED, "put: the queue is closed");
    size_t want = bytes_needed(q, payload) + reserve;
    bool full = (counts_item && items_full(s)) || want > bytes_free(q, want);
    if (!full) return MP_OK;
    // MP_EFULL is the answer of a put that may not wait (timeout 0); one
    // whose time ran out (waiting for room or for the lock) timed out.
    if (deadline.remaining_ms() == 0 && !deadline.canceled())
      return deadline.nonblocking() ? fail(MP_EFULL, "put: the queue is full")
                                    : fail(MP_ETIMEDOUT, "put: timed out while the queue is full");
    // Wait for a state (room now), not for a change since some earlier
    // read: a change that came in between must not be slept through.
    int r = wait_on(lock, s.space_seq, s.put_waiters, deadline, [&] {
      if (s.closed.load(std::memory_order_relaxed)) return true;
      if (counts_item && items_full(s)) return false;
      uint64_t head = s.head.load(std::memory_order_seq_cst);
      return want <= q.capacity - (s.tail.load(std::memory_order_relaxed) - head);
    });
    if (r == MP_ETIMEDOUT) return fail(MP_ETIMEDOUT, "put: timed out while the queue is full");
  }
}

// The record at `head` (get_lock held), skipping padding by moving the
// local `head` only. MP_OK with the record in *out (nullptr when there is
// none), or MP_ESTATE when the indexes or the record there cannot have been
// written by a producer (another process corrupted the segment): never read
// past the ring or past the tail.
int find_record(mp_queue &q, uint64_t &head, Record **out) {
  QueueShared &s = *q.shared;
  *out = nullptr;
  for (;;) {
    if (head >= s.tail_seen) {  // read the producer's tail only when needed
      s.tail_seen = s.tail.load(std::memory_order_acquire);
      if (head >= s.tail_seen) return MP_OK;
    }
    if (s.tail_seen - head > q.capacity || head % 8)  // records are 8-byte aligned
      return fail(MP_ESTATE, "queue: corrupted indexes (head %llu, tail %llu)",
                  (unsigned long long)head, (unsigned long long)s.tail_seen);
    size_t to_end = q.capacity - ring_offset(q, head);
    if (to_end < sizeof(Record)) {
      head += to_end;
      continue;
    }
    Record *r = record_at(q, head);
    size_t size = record_size(r->len);
    if (r->kind < kWhole || r->kind > kPad || size > to_end || size > s.tail_seen - head)
      return fail(MP_ESTATE, "queue: corrupted record at %llu (kind %u, %u bytes)",
                  (unsigned long long)head, r->kind, r->len);
    if (r->kind == kPad) {
      head += size;
      continue;
    }
    *out = r;
    return MP_OK;
  }
}

// Skip padding at the head (get_lock held), as find_record, and store the
// head past it.
int head_record(mp_queue &q, Record **out) {
  QueueShared &s = *q.shared;
  uint64_t start = s.head.load(std::memory_order_relaxed), head = start;
  int rc = find_record(q, head, out);
  if (head != start) s.head.store(head, std::memory_order_release);
  return rc;
}

// Take the head record. gets moves before head: a consumer dying in between
// leaves the message queued (delivered to someone else) and a recount.
// As in publish(): gets is written only under get_lock, the head is a
// release store, and wake_producers follows a fence.
void pop(mp_queue &q, Record *r) {
  QueueShared &s = *q.shared;
  if (r->kind == kWhole || r->kind == kLast)
    s.gets.store(s.gets.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  s.head.store(s.head.load(std::memory_order_relaxed) + record_size(r->len),
               std::memory_order_release);
}

int sink_reserve(Sink &sink, size_t total) {
  sink.len = total;
  if (sink.buf) return MP_OK;
  sink.owned = static_cast<char *>(malloc(total + 1));
  if (!sink.owned) return fail(MP_ENOMEM, "get: out of memory for %zu bytes", total);
  sink.owned[total] = '\0';
  return MP_OK;
}

char *sink_data(Sink &sink) { return sink.buf ? static_cast<char *>(sink.buf) : sink.owned; }

void sink_drop(Sink &sink) {
  free(sink.owned);
  sink.owned = nullptr;
  sink.len = 0;
}

// Wait for data (get_lock released meanwhile). MP_OK to look again.
int wait_for_data(mp_queue &q, SideLock &lock, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  // Wait for a state (something past the head), not for a change since an
  // earlier read of the tail: a put in between must not be slept through.
  return wait_on(lock, s.data_seq, s.get_waiters, deadline, [&] {
    return s.closed.load(std::memory_order_relaxed) ||
           s.tail.load(std::memory_order_seq_cst) > s.head.load(std::memory_order_relaxed);
  });
}

}  // namespace ring
}  // namespace mp
