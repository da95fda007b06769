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

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"
#include "core/futex.hpp"
#include "core/owner_lock.hpp"
#include "core/robust_mutex.hpp"
#include "ipc/queue_ring.hpp"

namespace mp {

using namespace ring;

namespace {

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

// Append, with the put_lock held, the messages that fit now as whole
// records; stop at the first that would wait (no room, maxsize reached, a
// streamer writing, closed) or must be streamed. Returns how many went in.
// They are published together, once: the tail and the message count move
// once per batch, so a consumer right behind the producer takes the batch
// at once instead of pulling the tail's cache line across for every
// message. A producer killed before the publication loses the batch, and
// only that: none of it was visible.
size_t append_ready(mp_queue &q, const void *const *bufs, const size_t *lens, size_t n) {
  QueueShared &s = *q.shared;
  if (s.writing_stream || s.closed.load(std::memory_order_acquire)) return 0;
  uint64_t tail = s.tail.load(std::memory_order_relaxed);
  uint64_t room_items = s.max_items ? s.max_items - std::min(queued(s), s.max_items) : n;
  size_t i = 0;
  for (; i < n && i < room_items; ++i) {
    size_t len = lens[i];
    if (len > chunk_payload(q)) break;
    size_t want = bytes_needed_at(q, tail, len);
    if (want > bytes_free_at(q, tail, want)) break;
    tail = write_record(q, tail, Record{kWhole, uint32_t(len), 0, 0}, bufs[i]);
  }
  if (i) publish(q, tail, i);
  return i;
}

// Take, with no wait, the whole messages queued right now that fit in cap
// bytes and max lengths; they go back to back into buf. Stops at a
// streamed message or an unreadable record (the next get deals with it).
// The head and the count of gets move once for the batch, gets first (as
// in pop()): a consumer killed before that took nothing. Returns how many
// were taken.
size_t take_ready(mp_queue &q, char *buf, size_t cap, size_t *lens, size_t max) {
  QueueShared &s = *q.shared;
  if (max == 0 || q.parked.active) return 0;
  SideLock lock(q, false);
  uint64_t head = s.head.load(std::memory_order_relaxed);
  size_t taken = 0;
  Record *r;
  while (taken < max && find_record(q, head, &r) == MP_OK && r && r->kind == kWhole &&
         r->len <= cap) {
    if (r->len) memcpy(buf, reinterpret_cast<char *>(r) + sizeof(Record), r->len);
    buf += r->len;
    cap -= r->len;
    lens[taken++] = r->len;
    head += record_size(r->len);
  }
  if (!taken) return 0;
  s.gets.store(s.gets.load(std::memory_order_relaxed) + taken, std::memory_order_relaxed);
  if (s.joinable) s.got_not_done.fetch_add(taken, std::memory_order_relaxed);
  s.head.store(head, std::memory_order_release);
  lock.unlock();
  wake_producers(s);
  return taken;
}

// Point the handle at its segment's header and ring; the ring's size is
// kept in the handle (see mp_queue::capacity).
void use_ring(mp_queue &q, QueueShared *s, size_t header, size_t capacity) {
  q.shared = s;
  q.ring = static_cast<char *>(q.segment.data()) + header;
  q.capacity = capacity;
  q.mask = ring_mask(capacity);
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
  robust_mutex_init(&s->put_stream, kMutexNormal);
  s->version = kQueueVersion;
  s->magic = kQueueMagic;
  use_ring(q, s, header, capacity);
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
  use_ring(q, s, header, s->capacity);  // checked above against the mapping's size
  return MP_OK;
}

int queue_put(mp_queue &q, const void *buf, size_t len, const Deadline &deadline) {
  if (len <= chunk_payload(q)) return put_whole(q, buf, len, deadline);
  return put_stream(q, buf, len, deadline);
}

int queue_get(mp_queue &q, Sink &sink, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  SideLock lock(q, false);
  if (q.parked.active) {
    int rc = resume_parked(q, lock, sink, deadline);
    if (rc != kStreamTorn) return rc;
  }
  for (;;) {
    Record *r;
    int rc = head_record(q, &r);
    if (rc != MP_OK) return rc;
    if (!r) {
      if (s.closed.load(std::memory_order_acquire))
        return fail(MP_ECLOSED, "get: the queue is closed and drained");
      // MP_EEMPTY is the answer of a get that may not wait (timeout 0); one
      // whose time ran out (waiting for data or for the lock) timed out.
      if (deadline.remaining_ms() == 0 && !deadline.canceled())
        return deadline.nonblocking() ? fail(MP_EEMPTY, "get: the queue is empty")
                                      : fail(MP_ETIMEDOUT, "get: timed out");
      if (wait_for_data(q, lock, deadline) == MP_ETIMEDOUT)
        return fail(MP_ETIMEDOUT, "get: timed out");
      continue;
    }
    if (r->kind == kWhole) return take_whole(q, lock, r, sink);
    bool first = r->kind == kFirst;  // r may be overwritten once the lock drops
    rc = first ? get_stream(q, lock, sink, deadline)
                   : handle_foreign_chunk(q, lock, r, deadline);
    if (rc == MP_OK && first) return MP_OK;
    if (rc != MP_OK && rc != kStreamTorn) return rc;
  }
}

int queue_put_many(mp_queue &q, const void *const *bufs, const size_t *lens, size_t n,
                   size_t *done, const Deadline &deadline) {
  *done = 0;
  for (;;) {
    size_t put;
    {
      SideLock lock(q, true);
      put = append_ready(q, bufs + *done, lens + *done, n - *done);
    }
    if (put) wake_consumers(*q.shared);
    *done += put;
    if (*done == n) return MP_OK;
    // The next message waits for room (or is streamed, or the queue is
    // closed): exactly as a single put, with the same deadline.
    int r = queue_put(q, bufs[*done], lens[*done], deadline);
    if (r != MP_OK) return r;
    ++*done;
  }
}

int queue_get_many(mp_queue &q, void *buf, size_t cap, size_t *lens, size_t max, size_t *count,
                   const Deadline &deadline) {
  *count = 0;
  Sink first;  // the first message waits and may be streamed, as in get_into
  first.buf = buf;
  first.cap = cap;
  int r = queue_get(q, first, deadline);
  lens[0] = first.len;
  if (r != MP_OK) return r;
  *count = 1 + take_ready(q, static_cast<char *>(buf) + first.len, cap - first.len, lens + 1,
                          max - 1);
  return MP_OK;
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
  free(p.data);
  p = Parked();
}

int queue_qsize(mp_queue &q, size_t *out) {
  *out = size_t(queued(*q.shared));
  return MP_OK;
}

// Full means a put of the largest message kept whole would wait now; as
// the room a record needs grows with its size, every smaller one fits
// when this one does. Streamed messages wait for consumers anyway.
int queue_full(mp_queue &q) {
  QueueShared &s = *q.shared;
  SideLock lock(q, true);
  if (items_full(s) || s.writing_stream) return 1;
  size_t want = bytes_needed(q, chunk_payload(q));
  return want > bytes_free(q, want) ? 1 : 0;
}

bool queue_closed(const mp_queue &q) {
  return q.shared->closed.load(std::memory_order_acquire) != 0;
}

uint64_t queue_maxsize(const mp_queue &q) { return q.shared->max_items; }

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

// A binding's view of the ring (mp_queue_ring_word(), _value()): the
// fields its put and get touch, as plain words (an atomic word has the
// layout of the plain one).
namespace {
template <class T>
void *word(std::atomic<T> &a) {
  static_assert(sizeof(std::atomic<T>) == sizeof(T), "an atomic word is a plain word");
  return &a;
}
static_assert(sizeof(Record) == 24 && kWhole == 1 && kPad == 6,
              "the record header of MP_QUEUE_RING_PROTOCOL 1 (multiproc/queue.h)");
static_assert(sizeof(Parked::active) == 1, "MP_RING_PARKED is one byte");
}  // namespace

void *queue_ring_word(mp_queue &q, int which) {
  QueueShared &s = *q.shared;
  switch (which) {
    case MP_RING_DATA: return q.ring;
    case MP_RING_PARKED: return &q.parked.active;
    case MP_RING_CLOSED: return word(s.closed);
    case MP_RING_PUT_OWNER: return word(s.put_lock.owner);
    case MP_RING_PUT_LOCK_WAITERS: return word(s.put_lock.waiters);
    case MP_RING_PUT_LOCK_SEQ: return word(s.put_lock.seq);
    case MP_RING_PUTS: return word(s.puts);
    case MP_RING_HEAD_SEEN: return &s.head_seen;
    case MP_RING_WRITING_STREAM: return &s.writing_stream;
    case MP_RING_TAIL: return word(s.tail);
    case MP_RING_GET_OWNER: return word(s.get_lock.owner);
    case MP_RING_GET_LOCK_WAITERS: return word(s.get_lock.waiters);
    case MP_RING_GET_LOCK_SEQ: return word(s.get_lock.seq);
    case MP_RING_HEAD: return word(s.head);
    case MP_RING_GETS: return word(s.gets);
    case MP_RING_TAIL_SEEN: return &s.tail_seen;
    case MP_RING_GET_WAITERS: return word(s.get_waiters);
    case MP_RING_PUT_WAITERS: return word(s.put_waiters);
    case MP_RING_DATA_SEQ: return word(s.data_seq);
    case MP_RING_SPACE_SEQ: return word(s.space_seq);
    case MP_RING_UNFINISHED: return word(s.unfinished);
    case MP_RING_GOT_NOT_DONE: return word(s.got_not_done);
    default: return nullptr;
  }
}

bool queue_ring_value(mp_queue &q, int which, uint64_t *out) {
  switch (which) {
    case MP_RING_PROTOCOL: *out = MP_QUEUE_RING_PROTOCOL; return true;
    case MP_RING_CAPACITY: *out = q.capacity; return true;
    case MP_RING_MAX_WHOLE: *out = chunk_payload(q); return true;
    case MP_RING_MAX_ITEMS: *out = q.shared->max_items; return true;
    case MP_RING_JOINABLE: *out = q.shared->joinable ? 1 : 0; return true;
    case MP_RING_TOKEN: *out = process_token(); return true;
    default: return false;
  }
}

void queue_ring_wake(mp_queue &q, bool put_side) {
  QueueShared &s = *q.shared;
  OwnerLock &lock = put_side ? s.put_lock : s.get_lock;
  if (lock.waiters.load(std::memory_order_seq_cst)) detail::owner_lock_release_wake(lock);
  if (put_side)
    wake_consumers(s);
  else
    wake_producers(s);
}

}  // namespace mp
