// Messages larger than a quarter of the ring: streamed as FIRST, MIDDLE…,
// LAST chunks under put_stream / get_stream, aborted when a writer dies,
// discarded when a reader dies, parked in the handle when a get times out.
// See queue.cpp for the design.
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"
#include "ipc/queue_ring.hpp"

namespace mp {
namespace ring {

// A streaming producer died or gave up (put_lock held): an ABORT tells the
// reader. There is always room: streams keep one header free for it.
void abort_stream(mp_queue &q) {
  QueueShared &s = *q.shared;
  if (!s.writing_stream) return;
  if (bytes_needed(q, 0) <= bytes_free(q, bytes_needed(q, 0))) append(q, Record{kAbort, 0, s.writing_stream, 0}, nullptr);
  s.writing_stream = 0;
  wake(s.data_seq);
}

namespace {

// While reading stream `id`, check (get_lock released) that its writer
// lives; if it died, abort its stream so the reader sees the ABORT.
void check_stream_writer(mp_queue &q, SideLock &lock, uint64_t id) {
  QueueShared &s = *q.shared;
  lock.unlock();
  int r = robust_mutex_trylock(&s.put_stream);
  if (r == 0 || r == EOWNERDEAD) {
    if (r == EOWNERDEAD) robust_mutex_consistent(&s.put_stream);
    lock_put(q);
    if (s.writing_stream == id) abort_stream(q);
    owner_lock_release(s.put_lock);
    robust_mutex_unlock(&s.put_stream);
  }
  lock.relock();
}

// Read the chunks after FIRST (get_lock and get_stream held). MP_OK with
// the message, kStreamTorn if the stream was aborted (the caller looks for
// the next message), MP_ETIMEDOUT.
int read_stream_rest(mp_queue &q, SideLock &lock, Sink &sink, uint64_t id, size_t &got,
                     const Deadline &deadline) {
  QueueShared &s = *q.shared;
  for (;;) {
    Record *r;
    int rc = head_record(q, &r);
    if (rc != MP_OK) {
      s.reading_stream = 0;
      return rc;
    }
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
      return kStreamTorn;
    }
    // A closed queue ends every wait at once: without this check a reader
    // whose writer died (or stopped at the close) would loop forever.
    if (wait_for_data(q, lock, deadline.within(kStreamCheckMs)) != MP_ETIMEDOUT &&
        !s.closed.load(std::memory_order_acquire))
      continue;
    if (deadline.expired())  // the caller parks the partial message
      return fail(MP_ETIMEDOUT, "get: timed out in the middle of a large message");
    check_stream_writer(q, lock, id);
  }
}

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

}  // namespace

// Wait (put_lock released) for the producer streaming a large message; if
// it died, or left the flag behind, abort its stream.
int wait_for_streamer(mp_queue &q, SideLock &lock, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  lock.unlock();
  bool died;
  int r = lock_robust(&s.put_stream, deadline, &died);
  lock.relock();
  if (r != MP_OK) return r == MP_ETIMEDOUT ? fail(r, "put: timed out behind a large message") : r;
  if (died) robust_mutex_consistent(&s.put_stream);
  abort_stream(q);  // nobody streams while we hold put_stream: a set flag is stale
  robust_mutex_unlock(&s.put_stream);
  return MP_OK;
}

int put_stream(mp_queue &q, const void *buf, size_t len, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  bool died;
  int r = lock_robust(&s.put_stream, deadline, &died);
  if (r != MP_OK) return r == MP_ETIMEDOUT ? fail(r, "put: timed out behind a large message") : r;
  if (died) robust_mutex_consistent(&s.put_stream);
  SideLock lock(q, true);
  abort_stream(q);  // a flag left by a dead streamer
  uint64_t id = ++s.next_stream;
  s.writing_stream = id;
  const char *p = static_cast<const char *>(buf);
  size_t chunk = chunk_payload(q), sent = 0;
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
  robust_mutex_unlock(&s.put_stream);
  return r;
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

// Go on with a parked message. kStreamTorn if its stream was aborted (the
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
  Record *h;
  r = head_record(q, &h);
  if (r != MP_OK || !h || h->kind != kFirst) {  // or someone else took it meanwhile
    release_get_stream(s);
    return r != MP_OK ? r : kStreamTorn;
  }
  // A FIRST chunk is always a whole chunk of a message longer than one.
  if (h->len != chunk_payload(q) || h->total <= h->len || h->total > PTRDIFF_MAX) {
    release_get_stream(s);
    return fail(MP_ESTATE, "queue: corrupted first chunk (%u bytes of %llu)", h->len,
                (unsigned long long)h->total);
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
// reader, or drop it if its stream is being discarded. An ABORT of the
// stream being read is its reader's too: it may be parked (its get timed
// out half-way), and a parked reader that never sees the ABORT waits for
// the rest of its message forever.
int handle_foreign_chunk(mp_queue &q, SideLock &lock, Record *r, const Deadline &deadline) {
  QueueShared &s = *q.shared;
  // (Stream ids start at 1: 0 is "no stream", never a reader's.)
  if (s.reading_stream && s.reading_stream == r->stream) {
    uint64_t id = r->stream;
    int rc = take_get_stream(q, lock, deadline);  // returns when the reader is done or dead
    if (rc != MP_OK) return rc;
    // With get_stream ours nobody reads the stream: a flag still naming it
    // is stale (another process corrupted it), and its chunks are dropped.
    if (s.reading_stream == id) s.reading_stream = 0;
    release_get_stream(s);
    return MP_OK;
  }
  // Discarded, aborted or orphaned chunks: drop them.
  bool end = r->kind == kLast || r->kind == kAbort;
  if (end && s.discard_stream == r->stream) s.discard_stream = 0;
  if (s.reading_stream == r->stream) s.reading_stream = 0;
  if (s.joinable && r->kind == kLast && s.unfinished.load(std::memory_order_relaxed))
    s.unfinished.fetch_sub(1, std::memory_order_relaxed);  // a torn message is not owed
  pop(q, r);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // get_lock is still held
  wake_producers(s);
  return MP_OK;
}

}  // namespace ring
}  // namespace mp
