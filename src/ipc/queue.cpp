// The shared-memory queue.
//
// Layout: a QueueShared header, then a ring of `capacity` bytes holding
// variable-length records that never wrap (a PAD record, or an implied skip
// when fewer than a header's bytes remain, fills the end of the ring).
//
// Concurrency: producers serialise on the robust process-shared `put_lock`
// and own `tail`; consumers serialise on `get_lock` and own `head` (the
// two-lock queue), so one producer and one consumer never contend. Each
// side reads the other's index atomically. Holders only copy bytes and move
// counters, never block. Waiting is on futex eventcounts (`data_seq`,
// `space_seq`, `join_seq`), never pthread_cond (a dead waiter corrupts it);
// a waiter flags itself so that the common path makes no syscall.
//
// Large messages (above a quarter of the ring) are streamed as FIRST,
// MIDDLE…, LAST chunks. A streaming producer holds the robust `put_stream`
// mutex for the whole message and no other producer writes meanwhile, so
// the chunks are contiguous; the consumer that takes the FIRST chunk holds
// `get_stream` until the LAST. Memory stays bounded by the ring.
//
// Crashes: indexes move last, so a process that dies holding a lock leaves
// at most invisible bytes; the next locker recounts the messages under both
// locks. A producer that dies mid-stream is found by the next locker of
// `put_stream` (EOWNERDEAD) or by the waiting reader, and an ABORT record
// tells the reader to drop the partial message. A consumer that dies
// mid-stream is found by the next locker of `get_stream`, and the rest of
// its stream is discarded. Only the torn message is lost.
#include "ipc/queue.hpp"

#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"
#include "core/futex.hpp"
#include "core/owner_lock.hpp"

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
  pthread_mutex_t put_stream;
  OwnerLock get_stream;  // owned by a process: held across gets while parked
  // Producer side (put_lock). One cache line each side: a producer and a
  // consumer only touch each other's line to refresh a cached index.
  // The side locks are process-owned locks: cheaper than robust mutexes,
  // and a dead holder is still detected (pid + start time).
  alignas(64) OwnerLock put_lock;
  std::atomic<uint64_t> tail;
  std::atomic<uint64_t> puts;  // complete messages committed (WHOLE or LAST)
  uint64_t head_seen;          // a past value of head: free space is at least this
  uint64_t next_stream;
  uint64_t writing_stream;  // 0: none
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

namespace {

constexpr uint32_t kQueueMagic = 0x3151504d;  // "MPQ1"
constexpr uint32_t kQueueVersion = 4;
constexpr size_t kDefaultCapacity = 1 << 20;
constexpr size_t kMinCapacity = 4096;
constexpr size_t kMaxCapacity = size_t(1) << 34;
constexpr int kSpins = 4000;      // pauses before a waiter sleeps
constexpr int64_t kRobustSliceMs = 50;  // see lock_robust
// How often a reader waiting for the next chunk checks that its writer lives.
constexpr int64_t kStreamCheckMs = 100;

size_t align8(size_t n) { return (n + 7) & ~size_t(7); }
size_t record_size(size_t payload) { return align8(sizeof(Record) + payload); }

// Largest WHOLE payload; bigger messages are streamed in chunks this size.
size_t chunk_payload(const QueueShared &s) { return s.capacity / 4 - sizeof(Record); }

Record *record_at(mp_queue &q, uint64_t pos) {
  return reinterpret_cast<Record *>(q.ring + pos % q.shared->capacity);
}

// ---- locks and their repair ---------------------------------------------

int lock_robust(pthread_mutex_t *m, const Deadline &deadline, bool *owner_died) {
  *owner_died = false;
  // Timed slices even without a deadline: a robust mutex can lose a
  // wake-up when processes die around it (see sync/lock.cpp).
  int r;
  for (;;) {
    int64_t ms = deadline.remaining_ms();
    bool last = !deadline.forever() && ms <= kRobustSliceMs;
    if (!last) ms = kRobustSliceMs;
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += time_t(ms / 1000);
    ts.tv_nsec += long(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec += 1;
      ts.tv_nsec -= 1000000000L;
    }
    r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
    if (r != ETIMEDOUT || last) break;
  }
  if (r == 0) return MP_OK;
  if (r == EOWNERDEAD) {
    *owner_died = true;
    return MP_OK;
  }
  if (r == ETIMEDOUT) return MP_ETIMEDOUT;
  return fail_errno("pthread_mutex_lock", "queue", r);
}

// Lock one side's lock. Returns whether the previous holder died.
bool lock_side(OwnerLock &l) {
  return owner_lock_acquire(l, Deadline(MP_FOREVER)) == MP_EOWNERDEAD;
}

// Recount the messages between head and tail (both locks held) and cut the
// tail at anything that is not a valid record. Idempotent.
void repair_counts(mp_queue &q) {
  QueueShared &s = *q.shared;
  uint64_t pos = s.head.load(std::memory_order_relaxed);
  uint64_t tail = s.tail.load(std::memory_order_relaxed);
  uint64_t complete = 0;
  while (pos < tail) {
    size_t to_end = s.capacity - pos % s.capacity;
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
void lock_put(mp_queue &q) {
  QueueShared &s = *q.shared;
  if (!lock_side(s.put_lock)) return;
  lock_side(s.get_lock);
  repair_counts(q);
  owner_lock_release(s.get_lock);
}

void lock_get(mp_queue &q) {
  QueueShared &s = *q.shared;
  if (!lock_side(s.get_lock)) return;
  // A consumer died holding it: repair under both locks, in lock order.
  owner_lock_release(s.get_lock);
  lock_put(q);
  lock_side(s.get_lock);
  repair_counts(q);
  owner_lock_release(s.put_lock);
}

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

void wake(std::atomic<uint32_t> &seq) {
  seq.fetch_add(1, std::memory_order_seq_cst);
  futex_wake(&seq, -1);
}

// Wait until `ready` (read without locks) or seq moves. Spin first with
// the lock released and no waiter flagged, so a busy peer makes no wake-up
// syscall; then flag, re-check and sleep. The flag and the peer's index
// store are both seq_cst: either the re-check sees the new index or the
// peer sees the flag and wakes us. Returns with the lock held: MP_OK (look
// again) or MP_ETIMEDOUT.
template <class Ready>
int wait_on(SideLock &lock, std::atomic<uint32_t> &seq, std::atomic<uint32_t> &waiters,
            const Deadline &deadline, Ready ready) {
  lock.unlock();
  int r = MP_OK;
  int spins = 0;
  while (!ready() && spins < kSpins) {
    __builtin_ia32_pause();
    ++spins;
  }
  if (spins == kSpins) {
    uint32_t seen = seq.load(std::memory_order_seq_cst);
    waiters.fetch_add(1, std::memory_order_seq_cst);
    if (!ready()) r = futex_wait(&seq, seen, deadline);
    waiters.fetch_sub(1, std::memory_order_seq_cst);
  }
  lock.relock();
  return r;
}

// ---- writing --------------------------------------------------------------

uint64_t queued(const QueueShared &s) {
  uint64_t puts = s.puts.load(std::memory_order_acquire);
  uint64_t gets = s.gets.load(std::memory_order_acquire);
  return puts > gets ? puts - gets : 0;
}

bool items_full(const QueueShared &s) { return s.max_items && queued(s) >= s.max_items; }

// Bytes a record of `payload` needs at the tail, counting the padding that
// skips the end of the ring when it does not fit there.
size_t bytes_needed(const QueueShared &s, size_t payload) {
  size_t to_end = s.capacity - s.tail.load(std::memory_order_relaxed) % s.capacity;
  size_t size = record_size(payload);
  return size <= to_end ? size : to_end + size;
}

// Free bytes (put_lock held). The consumer's head is only read when the
// last value seen does not leave enough room.
size_t bytes_free(QueueShared &s, size_t want) {
  uint64_t tail = s.tail.load(std::memory_order_relaxed);
  size_t room = s.capacity - (tail - s.head_seen);
  if (room >= want) return room;
  s.head_seen = s.head.load(std::memory_order_acquire);
  return s.capacity - (tail - s.head_seen);
}

// Append a record (put_lock held, space checked). The tail moves last: a
// writer that dies before that leaves nothing visible.
void append(mp_queue &q, const Record &h, const void *payload) {
  QueueShared &s = *q.shared;
  uint64_t tail = s.tail.load(std::memory_order_relaxed);
  size_t to_end = s.capacity - tail % s.capacity;
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
  // A message counts once it is complete: a stream that is aborted never does.
  if (h.kind == kWhole || h.kind == kLast) s.puts.fetch_add(1, std::memory_order_relaxed);
  if (s.joinable && (h.kind == kWhole || h.kind == kLast))
    s.unfinished.fetch_add(1, std::memory_order_relaxed);
  s.tail.store(tail + size, std::memory_order_seq_cst);
}

void wake_consumers(QueueShared &s) {
  if (s.get_waiters.load(std::memory_order_seq_cst)) wake(s.data_seq);
}

void wake_producers(QueueShared &s) {
  if (s.put_waiters.load(std::memory_order_seq_cst)) wake(s.space_seq);
}

// A streaming producer died or gave up (put_lock held): an ABORT tells the
// reader. There is always room: streams keep one header free for it.
void abort_stream(mp_queue &q) {
  QueueShared &s = *q.shared;
  if (!s.writing_stream) return;
  if (bytes_needed(s, 0) <= bytes_free(s, bytes_needed(s, 0))) append(q, Record{kAbort, 0, s.writing_stream, 0}, nullptr);
  s.writing_stream = 0;
  wake(s.data_seq);
}

// Wait (put_lock released) for the producer streaming a large message; if
// it died, or left the flag behind, abort its stream.
int wait_for_streamer(mp_queue &q, SideLock &lock, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  lock.unlock();
  bool died;
  int r = lock_robust(&s.put_stream, deadline, &died);
  lock.relock();
  if (r != MP_OK) return r == MP_ETIMEDOUT ? fail(r, "put: timed out behind a large message") : r;
  if (died) pthread_mutex_consistent(&s.put_stream);
  abort_stream(q);  // nobody streams while we hold put_stream: a set flag is stale
  pthread_mutex_unlock(&s.put_stream);
  return MP_OK;
}

// Wait until a record of `payload` bytes fits (keeping `reserve` free).
int wait_for_space(mp_queue &q, SideLock &lock, size_t payload, size_t reserve,
                   bool counts_item, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  for (;;) {
    if (s.closed.load(std::memory_order_acquire)) return fail(MP_ECLOSED, "put: the queue is closed");
    size_t want = bytes_needed(s, payload) + reserve;
    bool full = (counts_item && items_full(s)) || want > bytes_free(s, want);
    if (!full) return MP_OK;
    if (deadline.remaining_ms() == 0) return fail(MP_EFULL, "put: the queue is full");
    // Wait for a state (room now), not for a change since some earlier
    // read: a change that came in between must not be slept through.
    int r = wait_on(lock, s.space_seq, s.put_waiters, deadline, [&] {
      if (s.closed.load(std::memory_order_relaxed)) return true;
      if (counts_item && items_full(s)) return false;
      uint64_t head = s.head.load(std::memory_order_seq_cst);
      return want <= s.capacity - (s.tail.load(std::memory_order_relaxed) - head);
    });
    if (r == MP_ETIMEDOUT) return fail(MP_ETIMEDOUT, "put: timed out while the queue is full");
  }
}

int put_whole(mp_queue &q, const void *buf, size_t len, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  SideLock lock(q, true);
  for (;;) {
    while (s.writing_stream) {  // a large message's chunks must stay contiguous
      int r = wait_for_streamer(q, lock, deadline);
      if (r != MP_OK) return r;
    }
    int r = wait_for_space(q, lock, len, 0, true, deadline);
    if (r != MP_OK) return r;
    if (!s.writing_stream) break;  // a streamer came in while we waited
  }
  append(q, Record{kWhole, uint32_t(len), 0, 0}, buf);
  lock.unlock();
  wake_consumers(s);
  return MP_OK;
}

int put_stream(mp_queue &q, const void *buf, size_t len, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  bool died;
  int r = lock_robust(&s.put_stream, deadline, &died);
  if (r != MP_OK) return r == MP_ETIMEDOUT ? fail(r, "put: timed out behind a large message") : r;
  if (died) pthread_mutex_consistent(&s.put_stream);
  SideLock lock(q, true);
  abort_stream(q);  // a flag left by a dead streamer
  uint64_t id = ++s.next_stream;
  s.writing_stream = id;
  const char *p = static_cast<const char *>(buf);
  size_t chunk = chunk_payload(s), sent = 0;
  size_t reserve = record_size(0) + sizeof(Record);  // room for an ABORT (+ pad)
  while (sent < len) {
    size_t n = len - sent < chunk ? len - sent : chunk;
    uint32_t kind = sent == 0 ? kFirst : (sent + n == len ? kLast : kMiddle);
    r = wait_for_space(q, lock, n, reserve, kind == kFirst, deadline);
    if (r != MP_OK) break;
    append(q, Record{kind, uint32_t(n), id, uint64_t(len)}, p + sent);
    sent += n;
    lock.unlock();  // consumers drain while the rest is written
    wake_consumers(s);
    lock.relock();
  }
  if (r != MP_OK) abort_stream(q);
  s.writing_stream = 0;
  lock.unlock();
  pthread_mutex_unlock(&s.put_stream);
  return r;
}

// ---- reading --------------------------------------------------------------

// Skip padding at the head (get_lock held). The head record, or nullptr.
Record *head_record(mp_queue &q) {
  QueueShared &s = *q.shared;
  for (;;) {
    uint64_t head = s.head.load(std::memory_order_relaxed);
    if (head >= s.tail_seen) {  // read the producer's tail only when needed
      s.tail_seen = s.tail.load(std::memory_order_acquire);
      if (head >= s.tail_seen) return nullptr;
    }
    size_t to_end = s.capacity - head % s.capacity;
    if (to_end < sizeof(Record)) {
      s.head.store(head + to_end, std::memory_order_release);
      continue;
    }
    Record *r = record_at(q, head);
    if (r->kind == kPad) {
      s.head.store(head + record_size(r->len), std::memory_order_release);
      continue;
    }
    return r;
  }
}

// Take the head record. gets moves before head: a consumer dying in between
// leaves the message queued (delivered to someone else) and a recount.
void pop(mp_queue &q, Record *r) {
  QueueShared &s = *q.shared;
  if (r->kind == kWhole || r->kind == kLast) s.gets.fetch_add(1, std::memory_order_relaxed);
  s.head.store(s.head.load(std::memory_order_relaxed) + record_size(r->len),
               std::memory_order_seq_cst);
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

// While reading stream `id`, check (get_lock released) that its writer
// lives; if it died, abort its stream so the reader sees the ABORT.
void check_stream_writer(mp_queue &q, SideLock &lock, uint64_t id) {
  QueueShared &s = *q.shared;
  lock.unlock();
  int r = pthread_mutex_trylock(&s.put_stream);
  if (r == 0 || r == EOWNERDEAD) {
    if (r == EOWNERDEAD) pthread_mutex_consistent(&s.put_stream);
    lock_put(q);
    if (s.writing_stream == id) abort_stream(q);
    owner_lock_release(s.put_lock);
    pthread_mutex_unlock(&s.put_stream);
  }
  lock.relock();
}

// Read the chunks after FIRST (get_lock and get_stream held). MP_OK with
// the message, MP_ECANCELED if the stream was aborted (the caller looks for
// the next message), MP_ETIMEDOUT.
int read_stream_rest(mp_queue &q, SideLock &lock, Sink &sink, uint64_t id, size_t &got,
                     const Deadline &deadline) {
  QueueShared &s = *q.shared;
  for (;;) {
    Record *r = head_record(q);
    if (r && r->stream == id && (r->kind == kMiddle || r->kind == kLast)) {
      size_t n = r->len;
      if (got + n > sink.len) n = sink.len - got;  // a corrupt chunk is clipped
      memcpy(sink_data(sink) + got, reinterpret_cast<char *>(r) + sizeof(Record), n);
      got += n;
      bool last = r->kind == kLast;
      pop(q, r);
      if (last) s.reading_stream = 0;
      lock.unlock();
      wake_producers(s);
      lock.relock();
      if (last) return MP_OK;
      continue;
    }
    if (r) {  // an ABORT of this stream, or a stray record: the message is torn
      if (r->kind == kAbort && r->stream == id) pop(q, r);
      s.reading_stream = 0;
      return MP_ECANCELED;
    }
    int64_t left = deadline.remaining_ms();
    int64_t slice = deadline.forever() || left > kStreamCheckMs ? kStreamCheckMs : left;
    if (wait_for_data(q, lock, Deadline(slice)) != MP_ETIMEDOUT) continue;
    if (deadline.expired())  // the caller parks the partial message
      return fail(MP_ETIMEDOUT, "get: timed out in the middle of a large message");
    check_stream_writer(q, lock, id);
  }
}

// Take get_stream (get_lock released meanwhile); if the previous reader
// died, the rest of its stream is discarded.
int take_get_stream(mp_queue &q, SideLock &lock, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  lock.unlock();
  int r = owner_lock_acquire(s.get_stream, deadline);
  lock.relock();
  if (r == MP_ETIMEDOUT) return fail(r, "get: timed out behind a large message");
  if (r == MP_EOWNERDEAD) {
    if (s.reading_stream) s.discard_stream = s.reading_stream;
    s.reading_stream = 0;
  }
  return MP_OK;
}

void release_get_stream(QueueShared &s) { owner_lock_release(s.get_stream); }

// Keep a half-received message in this handle (get_stream stays held) so
// that the next get goes on with it: a timeout never loses a message.
int park(mp_queue &q, Sink &sink, uint64_t id, size_t got) {
  Parked &p = q.parked;
  if (sink.buf) {  // get_into: the caller's buffer is not ours to keep
    p.data = static_cast<char *>(malloc(sink.len + 1));
    if (!p.data) return fail(MP_ENOMEM, "get: out of memory for %zu bytes", sink.len);
    memcpy(p.data, sink.buf, got);
    p.data[sink.len] = '\0';
  } else {
    p.data = sink.owned;
    sink.owned = nullptr;
  }
  p.active = true;
  p.complete = false;
  p.id = id;
  p.got = got;
  p.total = sink.len;
  return MP_OK;
}

void clear_parked(Parked &p) {
  free(p.data);
  p = Parked();
}

// Hand a fully received parked message to the caller.
int deliver_parked(mp_queue &q, Sink &sink) {
  Parked &p = q.parked;
  if (sink.buf && p.total > sink.cap) {
    sink.len = p.total;
    return fail(MP_ENOSPC, "get_into: the message has %zu bytes, the buffer %zu", p.total,
                sink.cap);
  }
  sink.len = p.total;
  if (sink.buf) {
    memcpy(sink.buf, p.data, p.total);
    clear_parked(p);
  } else {
    sink.owned = p.data;
    p.data = nullptr;
    clear_parked(p);
  }
  return MP_OK;
}

// Go on with a parked message. MP_ECANCELED if its stream was aborted (the
// caller then looks for the next message).
int resume_parked(mp_queue &q, SideLock &lock, Sink &sink, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  Parked &p = q.parked;
  if (!p.complete) {
    Sink part;
    part.owned = p.data;
    part.len = p.total;
    int r = read_stream_rest(q, lock, part, p.id, p.got, deadline);
    if (r == MP_ETIMEDOUT) return r;  // still parked
    release_get_stream(s);
    if (r != MP_OK) {
      clear_parked(p);
      return r;
    }
    p.complete = true;
    if (s.joinable) s.got_not_done.fetch_add(1, std::memory_order_relaxed);
  }
  return deliver_parked(q, sink);
}

// Become the reader of the stream whose FIRST chunk is at the head.
int get_stream(mp_queue &q, SideLock &lock, Sink &sink, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  int r = take_get_stream(q, lock, deadline);
  if (r != MP_OK) return r;
  Record *h = head_record(q);
  if (!h || h->kind != kFirst) {  // someone else took it meanwhile
    release_get_stream(s);
    return MP_ECANCELED;
  }
  if (sink.buf && h->total > sink.cap) {
    sink.len = size_t(h->total);
    release_get_stream(s);
    return fail(MP_ENOSPC, "get_into: the message has %zu bytes, the buffer %zu",
                size_t(h->total), sink.cap);
  }
  r = sink_reserve(sink, size_t(h->total));
  if (r != MP_OK) {
    release_get_stream(s);
    return r;
  }
  uint64_t id = h->stream;
  size_t n = h->len < sink.len ? h->len : sink.len;
  memcpy(sink_data(sink), reinterpret_cast<char *>(h) + sizeof(Record), n);
  s.reading_stream = id;
  pop(q, h);
  size_t got = n;
  r = read_stream_rest(q, lock, sink, id, got, deadline);
  if (r == MP_ETIMEDOUT) {
    int pr = park(q, sink, id, got);
    return pr == MP_OK ? r : pr;
  }
  release_get_stream(s);
  if (r == MP_OK && s.joinable) s.got_not_done.fetch_add(1, std::memory_order_relaxed);
  if (r != MP_OK && !sink.buf) sink_drop(sink);
  return r;
}

// A chunk at the head that this consumer does not read: wait for its
// reader, or drop it if its stream is being discarded.
int handle_foreign_chunk(mp_queue &q, SideLock &lock, Record *r, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  if (s.reading_stream == r->stream && r->kind != kAbort) {
    int rc = take_get_stream(q, lock, deadline);  // returns when the reader is done or dead
    if (rc == MP_OK) release_get_stream(s);
    return rc;
  }
  // Discarded, aborted or orphaned chunks: drop them.
  bool end = r->kind == kLast || r->kind == kAbort;
  if (end && s.discard_stream == r->stream) s.discard_stream = 0;
  if (s.reading_stream == r->stream) s.reading_stream = 0;
  if (s.joinable && r->kind == kLast && s.unfinished.load(std::memory_order_relaxed))
    s.unfinished.fetch_sub(1, std::memory_order_relaxed);  // a torn message is not owed
  pop(q, r);
  wake_producers(s);
  return MP_OK;
}

int take_whole(mp_queue &q, SideLock &lock, Record *r, Sink &sink) {
  QueueShared &s = *q.shared;
  if (sink.buf && r->len > sink.cap) {
    sink.len = r->len;
    return fail(MP_ENOSPC, "get_into: the message has %u bytes, the buffer %zu", r->len,
                sink.cap);
  }
  int rc = sink_reserve(sink, r->len);
  if (rc != MP_OK) return rc;
  if (r->len) memcpy(sink_data(sink), reinterpret_cast<char *>(r) + sizeof(Record), r->len);
  pop(q, r);
  if (s.joinable) s.got_not_done.fetch_add(1, std::memory_order_relaxed);
  lock.unlock();
  wake_producers(s);
  return MP_OK;
}

void init_robust_mutexes(QueueShared &s) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&s.put_stream, &attr);
  pthread_mutexattr_destroy(&attr);
}

}  // namespace

int queue_create(mp_queue &q, size_t max_items, size_t max_bytes, bool joinable) {
  size_t capacity = max_bytes ? max_bytes : kDefaultCapacity;
  if (capacity < kMinCapacity || capacity > kMaxCapacity)
    return fail(MP_EINVAL, "queue: max_bytes must be between %zu and %zu", kMinCapacity,
                kMaxCapacity);
  capacity = align8(capacity);
  size_t header = align8(sizeof(QueueShared));
  int r = q.segment.create("multiproc-queue", header + capacity);
  if (r != MP_OK) return r;
  auto *s = new (q.segment.data()) QueueShared();
  s->segment_size = header + capacity;
  s->capacity = capacity;
  s->max_items = max_items;
  s->joinable = joinable ? 1 : 0;
  init_robust_mutexes(*s);
  s->version = kQueueVersion;
  s->magic = kQueueMagic;
  q.shared = s;
  q.ring = static_cast<char *>(q.segment.data()) + header;
  return MP_OK;
}

int queue_attach(mp_queue &q, int fd) {
  int r = q.segment.attach(fd, sizeof(QueueShared));
  if (r != MP_OK) return r;
  auto *s = static_cast<QueueShared *>(q.segment.data());
  size_t header = align8(sizeof(QueueShared));
  if (s->magic != kQueueMagic)
    return fail(MP_EINVAL, "queue: descriptor %d is not a multiproc queue", fd);
  if (s->version != kQueueVersion)
    return fail(MP_ENOTSUP, "queue: layout version %u, this library reads %u", s->version,
                kQueueVersion);
  if (s->segment_size != q.segment.size() || s->capacity + header != s->segment_size ||
      s->capacity < kMinCapacity || s->capacity % 8)
    return fail(MP_EINVAL, "queue: the segment's header is inconsistent with its size");
  q.shared = s;
  q.ring = static_cast<char *>(q.segment.data()) + header;
  return MP_OK;
}

int queue_put(mp_queue &q, const void *buf, size_t len, const Deadline &deadline) {
  if (len <= chunk_payload(*q.shared)) return put_whole(q, buf, len, deadline);
  return put_stream(q, buf, len, deadline);
}

int queue_get(mp_queue &q, Sink &sink, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  SideLock lock(q, false);
  if (q.parked.active) {
    int rc = resume_parked(q, lock, sink, deadline);
    if (rc != MP_ECANCELED) return rc;
  }
  for (;;) {
    Record *r = head_record(q);
    if (!r) {
      if (s.closed.load(std::memory_order_acquire))
        return fail(MP_ECLOSED, "get: the queue is closed and drained");
      if (deadline.remaining_ms() == 0) return fail(MP_EEMPTY, "get: the queue is empty");
      if (wait_for_data(q, lock, deadline) == MP_ETIMEDOUT)
        return fail(MP_ETIMEDOUT, "get: timed out");
      continue;
    }
    if (r->kind == kWhole) return take_whole(q, lock, r, sink);
    bool first = r->kind == kFirst;  // r may be overwritten once the lock drops
    int rc = first ? get_stream(q, lock, sink, deadline)
                   : handle_foreign_chunk(q, lock, r, deadline);
    if (rc == MP_OK && first) return MP_OK;
    if (rc != MP_OK && rc != MP_ECANCELED) return rc;
  }
}

void queue_release(mp_queue &q) {
  Parked &p = q.parked;
  if (!p.active) return;
  if (!p.complete) {
    SideLock lock(q, false);
    q.shared->discard_stream = p.id;
    q.shared->reading_stream = 0;
    release_get_stream(*q.shared);
  }
  clear_parked(p);
}

int queue_qsize(mp_queue &q, size_t *out) {
  *out = size_t(queued(*q.shared));
  return MP_OK;
}

int queue_full(mp_queue &q) {
  SideLock lock(q, true);
  QueueShared &s = *q.shared;
  return items_full(s) || bytes_free(s, s.capacity) < record_size(0) ? 1 : 0;
}

int queue_close(mp_queue &q) {
  QueueShared &s = *q.shared;
  s.closed.store(1, std::memory_order_seq_cst);
  wake(s.data_seq);
  wake(s.space_seq);
  return MP_OK;
}

int queue_task_done(mp_queue &q) {
  QueueShared &s = *q.shared;
  if (!s.joinable) return fail(MP_ESTATE, "task_done: the queue is not joinable");
  uint64_t got = s.got_not_done.load(std::memory_order_relaxed);
  do {
    if (got == 0) return fail(MP_ESTATE, "task_done: called more times than items were got");
  } while (!s.got_not_done.compare_exchange_weak(got, got - 1));
  uint64_t left = s.unfinished.load(std::memory_order_relaxed);
  while (left && !s.unfinished.compare_exchange_weak(left, left - 1)) {
  }
  if (left <= 1 && s.join_waiters.load(std::memory_order_seq_cst)) wake(s.join_seq);
  return MP_OK;
}

int queue_join(mp_queue &q, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  if (!s.joinable) return fail(MP_ESTATE, "join: the queue is not joinable");
  for (;;) {
    uint32_t seen = s.join_seq.load(std::memory_order_seq_cst);
    s.join_waiters.fetch_add(1, std::memory_order_seq_cst);
    uint64_t left = s.unfinished.load(std::memory_order_seq_cst);
    int r = left ? futex_wait(&s.join_seq, seen, deadline) : MP_OK;
    s.join_waiters.fetch_sub(1, std::memory_order_seq_cst);
    if (!left) return MP_OK;
    if (r == MP_ETIMEDOUT && s.unfinished.load(std::memory_order_seq_cst))
      return fail(MP_ETIMEDOUT, "join: %llu items are not done",
                  (unsigned long long)s.unfinished.load());
  }
}

}  // namespace mp
