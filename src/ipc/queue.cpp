// The shared-memory queue.
//
// Layout: a QueueShared header, then a ring of `capacity` bytes holding
// variable-length records that never wrap (a PAD record, or an implied skip
// when fewer than a header's bytes remain, fills the end of the ring).
//
// Concurrency: one robust process-shared mutex (`lock`) guards the header
// and the ring; holders only copy bytes and move counters, never block.
// Waiting is on futex eventcounts (`data_seq`, `space_seq`, `join_seq`),
// never pthread_cond (a dead waiter corrupts it). A waiter flags itself
// (`get_waiters`/`put_waiters`) so that the common path makes no syscall.
//
// Large messages (above half the ring) are streamed as FIRST, MIDDLE…, LAST
// chunks. A streaming producer holds the robust `put_stream` mutex for the
// whole message and no other producer writes meanwhile, so the chunks of a
// message are contiguous; the consumer that takes the FIRST chunk holds
// `get_stream` until the LAST. Memory stays bounded by the ring.
//
// Crashes: a process that dies holding `lock` leaves at most uncommitted
// bytes past `tail` (tail moves last), so repair only recounts the
// messages. A producer that dies mid-stream is found by the next locker of
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
  std::atomic<uint32_t> closed;  // read without the lock by spinning waiters
  pthread_mutex_t lock;
  pthread_mutex_t put_stream;
  pthread_mutex_t get_stream;
  std::atomic<uint64_t> head;
  std::atomic<uint64_t> tail;
  uint64_t count;  // messages whose WHOLE or FIRST record is in the ring
  uint64_t next_stream;
  uint64_t writing_stream;  // 0: none
  uint64_t reading_stream;  // 0: none
  uint64_t discard_stream;  // chunks of this stream are dropped
  uint64_t unfinished;      // joinable: put and not yet task_done
  uint64_t got_not_done;    // joinable: got and not yet task_done
  uint32_t get_waiters;
  uint32_t put_waiters;
  uint32_t join_waiters;
  std::atomic<uint32_t> data_seq;
  std::atomic<uint32_t> space_seq;
  std::atomic<uint32_t> join_seq;
};

namespace {

constexpr uint32_t kQueueMagic = 0x3151504d;  // "MPQ1"
constexpr uint32_t kQueueVersion = 1;
constexpr size_t kDefaultCapacity = 1 << 20;
constexpr size_t kMinCapacity = 4096;
constexpr size_t kMaxCapacity = size_t(1) << 34;
constexpr int kSpins = 2000;      // pauses before a waiter sleeps
constexpr int kLockSpins = 1000;  // trylocks before the ring lock sleeps
// How often a reader waiting for the next chunk checks that its writer lives.
constexpr int64_t kStreamCheckMs = 100;

size_t align8(size_t n) { return (n + 7) & ~size_t(7); }
size_t record_size(size_t payload) { return align8(sizeof(Record) + payload); }

// Largest WHOLE payload; bigger messages are streamed in chunks this size.
size_t chunk_payload(const QueueShared &s) {
  return s.capacity / 4 - sizeof(Record);
}

Record *record_at(mp_queue &q, uint64_t pos) {
  return reinterpret_cast<Record *>(q.ring + pos % q.shared->capacity);
}

// ---- the lock and its repair ------------------------------------------

// Recount messages from head to tail; drop a tail past garbage. Idempotent.
void repair_ring(mp_queue &q) {
  QueueShared &s = *q.shared;
  uint64_t pos = s.head.load(std::memory_order_relaxed);
  uint64_t tail = s.tail.load(std::memory_order_relaxed);
  uint64_t count = 0;
  while (pos < tail) {
    size_t to_end = s.capacity - pos % s.capacity;
    if (to_end < sizeof(Record)) {
      pos += to_end;
      continue;
    }
    Record *r = record_at(q, pos);
    size_t size = record_size(r->len);
    if (r->kind < kWhole || r->kind > kPad || size > to_end || pos + size > tail) {
      s.tail.store(pos, std::memory_order_relaxed);  // garbage: cut here
      break;
    }
    if (r->kind == kWhole || r->kind == kFirst) ++count;
    pos += size;
  }
  s.count = count;
}

int lock_robust(pthread_mutex_t *m, const Deadline &deadline, bool *owner_died) {
  *owner_died = false;
  int r;
  if (deadline.forever()) {
    r = pthread_mutex_lock(m);
  } else {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ms = deadline.remaining_ms();
    ts.tv_sec += time_t(ms / 1000);
    ts.tv_nsec += long(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec += 1;
      ts.tv_nsec -= 1000000000L;
    }
    r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
  }
  if (r == 0) return MP_OK;
  if (r == EOWNERDEAD) {
    *owner_died = true;
    return MP_OK;
  }
  if (r == ETIMEDOUT) return MP_ETIMEDOUT;
  return fail_errno("pthread_mutex_lock", "queue", r);
}

// Lock the ring. Its holders never block, so a short spin on trylock
// almost always wins and spares both sides a futex round trip.
void lock_ring(mp_queue &q) {
  pthread_mutex_t *m = &q.shared->lock;
  int r = EBUSY;
  for (int spins = 0; spins < kLockSpins && r == EBUSY; ++spins) {
    r = pthread_mutex_trylock(m);
    if (r == EBUSY) __builtin_ia32_pause();
  }
  bool died = r == EOWNERDEAD;
  if (r == EBUSY) lock_robust(m, Deadline(MP_FOREVER), &died);
  if (died) {  // a holder died: its uncommitted work is invisible; recount
    repair_ring(q);
    pthread_mutex_consistent(m);
  }
}

// The ring lock; a dead holder's state is repaired before anyone goes on.
class RingLock {
 public:
  explicit RingLock(mp_queue &q) : q_(q) { lock_ring(q); }
  ~RingLock() {
    if (held_) pthread_mutex_unlock(&q_.shared->lock);
  }
  void unlock() {
    pthread_mutex_unlock(&q_.shared->lock);
    held_ = false;
  }
  void relock() {
    lock_ring(q_);
    held_ = true;
  }

 private:
  mp_queue &q_;
  bool held_ = true;
};

void wake(std::atomic<uint32_t> &seq, bool any_waiter) {
  if (!any_waiter) return;
  seq.fetch_add(1, std::memory_order_release);
  futex_wake(&seq, -1);
}

// Wait until `ready` (checked without the lock) or seq moves. Spin first,
// with the lock released and without flagging a waiter, so that a busy
// peer makes no wake-up syscall; only then flag, re-check and sleep.
// Returns with the lock held: MP_OK (look again) or MP_ETIMEDOUT.
template <class Ready>
int wait_on(RingLock &lock, std::atomic<uint32_t> &seq, uint32_t *waiters,
            const Deadline &deadline, Ready ready) {
  lock.unlock();
  for (int spins = 0; spins < kSpins; ++spins) {
    if (ready()) {
      lock.relock();
      return MP_OK;
    }
    __builtin_ia32_pause();
  }
  lock.relock();
  if (ready()) return MP_OK;
  uint32_t seen = seq.load(std::memory_order_acquire);
  ++*waiters;
  lock.unlock();
  int r = futex_wait(&seq, seen, deadline);
  lock.relock();
  --*waiters;
  return r;
}

// ---- writing ------------------------------------------------------------

bool items_full(const QueueShared &s) { return s.max_items && s.count >= s.max_items; }

// Bytes a record of `payload` needs at the tail, counting the padding that
// skips the end of the ring when it does not fit there.
size_t bytes_needed(const QueueShared &s, size_t payload) {
  size_t to_end = s.capacity - s.tail.load(std::memory_order_relaxed) % s.capacity;
  size_t size = record_size(payload);
  return size <= to_end ? size : to_end + size;
}

size_t bytes_free(const QueueShared &s) {
  return s.capacity - (s.tail.load(std::memory_order_relaxed) -
                       s.head.load(std::memory_order_relaxed));
}

// Append a record (space already checked). The tail moves last: a writer
// that dies before that leaves nothing visible.
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
  if (h.kind == kWhole || h.kind == kFirst) ++s.count;
  if (h.kind == kWhole || h.kind == kLast) ++s.unfinished;
  s.tail.store(tail + size, std::memory_order_release);
}

// A streaming producer died or gave up: tell the reader with an ABORT.
// There is always room: streams keep one header free for it.
void abort_stream(mp_queue &q) {
  QueueShared &s = *q.shared;
  if (!s.writing_stream) return;
  Record h = {kAbort, 0, s.writing_stream, 0};
  if (bytes_needed(s, 0) <= bytes_free(s)) {
    append(q, h, nullptr);
  } else if (s.reading_stream == s.writing_stream) {
    s.discard_stream = s.writing_stream;  // (cannot happen with the reserve)
  }
  s.writing_stream = 0;
  wake(s.data_seq, true);
}

// Lock put_stream; if its holder died, abort the stream it left.
int take_put_stream(mp_queue &q, RingLock &lock, const Deadline &deadline) {
  lock.unlock();
  bool died;
  int r = lock_robust(&q.shared->put_stream, deadline, &died);
  lock.relock();
  if (r != MP_OK) return r;
  if (died) {
    abort_stream(q);
    pthread_mutex_consistent(&q.shared->put_stream);
  }
  return MP_OK;
}

// Wait until a record of `payload` bytes fits (keeping `reserve` free).
int wait_for_space(mp_queue &q, RingLock &lock, size_t payload, size_t reserve,
                   bool counts_item, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  for (;;) {
    if (s.closed) return fail(MP_ECLOSED, "put: the queue is closed");
    bool full = (counts_item && items_full(s)) ||
                bytes_needed(s, payload) + reserve > bytes_free(s);
    if (!full) return MP_OK;
    if (deadline.remaining_ms() == 0) return fail(MP_EFULL, "put: the queue is full");
    uint64_t seen_head = s.head.load(std::memory_order_relaxed);
    int r = wait_on(lock, s.space_seq, &s.put_waiters, deadline, [&] {
      return s.closed || s.head.load(std::memory_order_acquire) != seen_head;
    });
    if (r == MP_ETIMEDOUT) return fail(MP_ETIMEDOUT, "put: timed out while the queue is full");
  }
}

int put_whole(mp_queue &q, RingLock &lock, const void *buf, size_t len,
              const Deadline &deadline) {
  QueueShared &s = *q.shared;
  for (;;) {
    if (s.closed) return fail(MP_ECLOSED, "put: the queue is closed");
    if (!s.writing_stream) break;
    // A large message is being streamed: its chunks must stay contiguous.
    int r = take_put_stream(q, lock, deadline);
    if (r == MP_ETIMEDOUT) return fail(MP_ETIMEDOUT, "put: timed out behind a large message");
    if (r != MP_OK) return r;
    pthread_mutex_unlock(&s.put_stream);
  }
  int r = wait_for_space(q, lock, len, 0, true, deadline);
  if (r != MP_OK) return r;
  if (s.writing_stream) return put_whole(q, lock, buf, len, deadline);
  append(q, Record{kWhole, uint32_t(len), 0, 0}, buf);
  bool waiters = s.get_waiters;
  lock.unlock();
  wake(s.data_seq, waiters);
  return MP_OK;
}

int put_stream(mp_queue &q, RingLock &lock, const void *buf, size_t len,
               const Deadline &deadline) {
  QueueShared &s = *q.shared;
  int r = take_put_stream(q, lock, deadline);
  if (r == MP_ETIMEDOUT) return fail(MP_ETIMEDOUT, "put: timed out behind a large message");
  if (r != MP_OK) return r;
  uint64_t id = ++s.next_stream;
  s.writing_stream = id;
  const char *p = static_cast<const char *>(buf);
  size_t chunk = chunk_payload(s), sent = 0;
  size_t reserve = record_size(0) + s.capacity % 8;  // room for an ABORT
  while (r == MP_OK && sent < len) {
    size_t n = len - sent < chunk ? len - sent : chunk;
    uint32_t kind = sent == 0 ? kFirst : (sent + n == len ? kLast : kMiddle);
    r = wait_for_space(q, lock, n, reserve, kind == kFirst, deadline);
    if (r != MP_OK) break;
    append(q, Record{kind, uint32_t(n), id, uint64_t(len)}, p + sent);
    sent += n;
    bool waiters = s.get_waiters;
    lock.unlock();  // let consumers drain while the rest is written
    wake(s.data_seq, waiters);
    lock.relock();
  }
  if (r != MP_OK) abort_stream(q);
  s.writing_stream = 0;
  pthread_mutex_unlock(&s.put_stream);
  return r;
}

// ---- reading --------------------------------------------------------------

// Skip padding at the head. Returns the head record or nullptr when empty.
Record *head_record(mp_queue &q) {
  QueueShared &s = *q.shared;
  for (;;) {
    uint64_t head = s.head.load(std::memory_order_relaxed);
    if (head >= s.tail.load(std::memory_order_acquire)) return nullptr;
    size_t to_end = s.capacity - head % s.capacity;
    if (to_end < sizeof(Record)) {
      s.head.store(head + to_end, std::memory_order_relaxed);
      continue;
    }
    Record *r = record_at(q, head);
    if (r->kind == kPad) {
      s.head.store(head + record_size(r->len), std::memory_order_relaxed);
      continue;
    }
    return r;
  }
}

void pop(mp_queue &q, Record *r) {
  QueueShared &s = *q.shared;
  if (r->kind == kWhole || r->kind == kFirst) --s.count;
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

// Wait for data (lock released). MP_OK to look again, MP_ETIMEDOUT.
int wait_for_data(mp_queue &q, RingLock &lock, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  uint64_t seen_tail = s.tail.load(std::memory_order_relaxed);
  return wait_on(lock, s.data_seq, &s.get_waiters, deadline, [&] {
    return s.closed || s.tail.load(std::memory_order_acquire) != seen_tail;
  });
}

// While reading a stream, check that its writer still lives.
void check_stream_writer(mp_queue &q, RingLock &lock, uint64_t id) {
  QueueShared &s = *q.shared;
  int r = pthread_mutex_trylock(&s.put_stream);
  if (r == EBUSY) return;
  if (r == EOWNERDEAD) {
    abort_stream(q);
    pthread_mutex_consistent(&s.put_stream);
  } else if (r == 0 && s.writing_stream == id) {
    abort_stream(q);  // the flag outlived its writer
  }
  if (r == 0 || r == EOWNERDEAD) pthread_mutex_unlock(&s.put_stream);
  (void)lock;
}

// Read the chunks after FIRST. MP_OK with the message, MP_ECANCELED if the
// stream was aborted (the caller looks for the next message), MP_ETIMEDOUT.
int read_stream_rest(mp_queue &q, RingLock &lock, Sink &sink, uint64_t id, size_t got,
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
      bool waiters = s.put_waiters;
      if (last) s.reading_stream = 0;
      lock.unlock();
      wake(s.space_seq, waiters);
      lock.relock();
      if (last) return MP_OK;
      continue;
    }
    if (r) {  // an ABORT of this stream, or a stray record: the message is torn
      if (r->kind == kAbort || r->stream != id) {
        if (r->kind == kAbort && r->stream == id) pop(q, r);
        s.reading_stream = 0;
        return MP_ECANCELED;
      }
    }
    int64_t left = deadline.remaining_ms();
    int64_t slice = deadline.forever() || left > kStreamCheckMs ? kStreamCheckMs : left;
    int w = wait_for_data(q, lock, Deadline(slice));
    if (w == MP_ETIMEDOUT) {
      if (deadline.expired()) {
        s.discard_stream = id;  // the rest of this message is dropped
        s.reading_stream = 0;
        return fail(MP_ETIMEDOUT, "get: timed out in the middle of a large message");
      }
      check_stream_writer(q, lock, id);
    }
  }
}

// Become the reader of the stream whose FIRST chunk is at the head.
int get_stream(mp_queue &q, RingLock &lock, Sink &sink, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  lock.unlock();
  bool died;
  int r = lock_robust(&s.get_stream, deadline, &died);
  lock.relock();
  if (r == MP_ETIMEDOUT) return fail(MP_ETIMEDOUT, "get: timed out");
  if (r != MP_OK) return r;
  if (died) {  // the previous reader died: the rest of its stream is dropped
    if (s.reading_stream) s.discard_stream = s.reading_stream;
    s.reading_stream = 0;
    pthread_mutex_consistent(&s.get_stream);
  }
  Record *h = head_record(q);
  if (!h || h->kind != kFirst) {  // someone else took it meanwhile
    pthread_mutex_unlock(&s.get_stream);
    return MP_ECANCELED;
  }
  if (sink.buf && h->total > sink.cap) {
    sink.len = size_t(h->total);
    pthread_mutex_unlock(&s.get_stream);
    return fail(MP_ENOSPC, "get_into: the message has %zu bytes, the buffer %zu",
                size_t(h->total), sink.cap);
  }
  r = sink_reserve(sink, size_t(h->total));
  if (r != MP_OK) {
    pthread_mutex_unlock(&s.get_stream);
    return r;
  }
  uint64_t id = h->stream;
  size_t n = h->len < sink.len ? h->len : sink.len;
  memcpy(sink_data(sink), reinterpret_cast<char *>(h) + sizeof(Record), n);
  s.reading_stream = id;
  pop(q, h);
  if (s.joinable) ++s.got_not_done;
  r = read_stream_rest(q, lock, sink, id, n, deadline);
  pthread_mutex_unlock(&s.get_stream);
  if (r != MP_OK) {
    if (s.joinable && s.got_not_done) --s.got_not_done;
    if (!sink.buf) sink_drop(sink);
  }
  return r;
}

// A chunk at the head that this consumer does not read: wait for its
// reader, or drop it if its stream is being discarded.
int handle_foreign_chunk(mp_queue &q, RingLock &lock, Record *r, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  if (s.reading_stream == r->stream && r->kind != kAbort) {
    lock.unlock();  // the reader is alive unless get_stream says otherwise
    bool died;
    int rc = lock_robust(&s.get_stream, deadline, &died);
    lock.relock();
    if (rc != MP_OK) return rc == MP_ETIMEDOUT ? fail(rc, "get: timed out") : rc;
    if (died) {
      if (s.reading_stream) s.discard_stream = s.reading_stream;
      s.reading_stream = 0;
      pthread_mutex_consistent(&s.get_stream);
    }
    pthread_mutex_unlock(&s.get_stream);
    return MP_OK;
  }
  // Discarded, aborted or orphaned chunks: drop them.
  bool end = r->kind == kLast || r->kind == kAbort;
  if (end && s.discard_stream == r->stream) s.discard_stream = 0;
  if (s.reading_stream == r->stream) s.reading_stream = 0;
  pop(q, r);
  wake(s.space_seq, s.put_waiters);
  return MP_OK;
}

}  // namespace

int queue_create(mp_queue &q, size_t max_items, size_t max_bytes, bool joinable) {
  size_t capacity = align8(max_bytes ? max_bytes : kDefaultCapacity);
  if (capacity < kMinCapacity || capacity > kMaxCapacity)
    return fail(MP_EINVAL, "queue: max_bytes must be between %zu and %zu", kMinCapacity,
                kMaxCapacity);
  size_t header = align8(sizeof(QueueShared));
  int r = q.segment.create("multiproc-queue", header + capacity);
  if (r != MP_OK) return r;
  auto *s = new (q.segment.data()) QueueShared();
  s->segment_size = header + capacity;
  s->capacity = capacity;
  s->max_items = max_items;
  s->joinable = joinable ? 1 : 0;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&s->lock, &attr);
  pthread_mutex_init(&s->put_stream, &attr);
  pthread_mutex_init(&s->get_stream, &attr);
  pthread_mutexattr_destroy(&attr);
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
  RingLock lock(q);
  if (record_size(len) <= q.shared->capacity / 2 && len <= chunk_payload(*q.shared))
    return put_whole(q, lock, buf, len, deadline);
  return put_stream(q, lock, buf, len, deadline);
}

int queue_get(mp_queue &q, Sink &sink, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  RingLock lock(q);
  for (;;) {
    Record *r = head_record(q);
    if (!r) {
      if (s.closed) return fail(MP_ECLOSED, "get: the queue is closed and drained");
      if (deadline.remaining_ms() == 0) return fail(MP_EEMPTY, "get: the queue is empty");
      if (wait_for_data(q, lock, deadline) == MP_ETIMEDOUT)
        return fail(MP_ETIMEDOUT, "get: timed out");
      continue;
    }
    if (r->kind == kWhole) {
      if (sink.buf && r->len > sink.cap) {
        sink.len = r->len;
        return fail(MP_ENOSPC, "get_into: the message has %u bytes, the buffer %zu", r->len,
                    sink.cap);
      }
      int rc = sink_reserve(sink, r->len);
      if (rc != MP_OK) return rc;
      if (r->len) memcpy(sink_data(sink), reinterpret_cast<char *>(r) + sizeof(Record), r->len);
      pop(q, r);
      if (s.joinable) ++s.got_not_done;
      bool waiters = s.put_waiters;
      lock.unlock();
      wake(s.space_seq, waiters);
      return MP_OK;
    }
    bool first = r->kind == kFirst;  // r may be overwritten once the lock drops
    int rc = first ? get_stream(q, lock, sink, deadline)
                   : handle_foreign_chunk(q, lock, r, deadline);
    if (rc == MP_OK && first) return MP_OK;
    if (rc != MP_OK && rc != MP_ECANCELED) return rc;
  }
}

int queue_qsize(mp_queue &q, size_t *out) {
  RingLock lock(q);
  *out = size_t(q.shared->count);
  return MP_OK;
}

int queue_full(mp_queue &q) {
  RingLock lock(q);
  const QueueShared &s = *q.shared;
  return items_full(s) || bytes_free(s) < record_size(0) ? 1 : 0;
}

int queue_close(mp_queue &q) {
  QueueShared &s = *q.shared;
  {
    RingLock lock(q);
    s.closed = 1;
  }
  wake(s.data_seq, true);
  wake(s.space_seq, true);
  return MP_OK;
}

int queue_task_done(mp_queue &q) {
  QueueShared &s = *q.shared;
  RingLock lock(q);
  if (!s.joinable) return fail(MP_ESTATE, "task_done: the queue is not joinable");
  if (s.got_not_done == 0)
    return fail(MP_ESTATE, "task_done: called more times than items were got");
  --s.got_not_done;
  if (s.unfinished) --s.unfinished;
  bool done = s.unfinished == 0;
  bool waiters = s.join_waiters;
  lock.unlock();
  if (done) wake(s.join_seq, waiters);
  return MP_OK;
}

int queue_join(mp_queue &q, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  RingLock lock(q);
  if (!s.joinable) return fail(MP_ESTATE, "join: the queue is not joinable");
  while (s.unfinished) {
    if (deadline.remaining_ms() == 0 && !deadline.forever())
      return fail(MP_ETIMEDOUT, "join: %llu items are not done",
                  (unsigned long long)s.unfinished);
    int r = wait_on(lock, s.join_seq, &s.join_waiters, deadline, [] { return false; });
    if (r == MP_ETIMEDOUT && s.unfinished)
      return fail(MP_ETIMEDOUT, "join: %llu items are not done",
                  (unsigned long long)s.unfinished);
  }
  return MP_OK;
}

}  // namespace mp
