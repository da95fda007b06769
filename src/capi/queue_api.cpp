// Public entry points: mp_queue_* (mp_queue_inherit is in inherit_api.cpp).
#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "capi/guard.hpp"
#include "ipc/conn.hpp"
#include "ipc/queue.hpp"
#include "process/cmd.hpp"
#include "redis/queue.hpp"

using namespace mp;

namespace {

bool valid(const mp_queue *q) { return q && q->magic == mp_queue::kMagic; }

#define MP_CHECK_QUEUE(q, op) \
  MP_CHECK_ARG(valid(q), op, "queue is NULL or not a live mp_queue_t")

int open_queue(mp_queue_t **out, int fd) {
  std::unique_ptr<mp_queue> q(new mp_queue());
  int r = queue_attach(*q, fd);
  if (r != MP_OK) return r;
  *out = q.release();
  return MP_OK;
}

}  // namespace

extern "C" {

MP_EXTERN int mp_queue_new(mp_queue_t **out, size_t maxsize, size_t max_bytes, int flags) {
  const char *op = "mp_queue_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(flags == 0 || flags == MP_QUEUE_JOINABLE, op, "unknown flags");
  return guarded(op, [&]() -> int {
    std::unique_ptr<mp_queue> q(new mp_queue());
    int r = queue_create(*q, maxsize, max_bytes, flags == MP_QUEUE_JOINABLE);
    if (r != MP_OK) return r;
    *out = q.release();
    return MP_OK;
  });
}

MP_EXTERN int mp_queue_from_fd(mp_queue_t **out, int fd) {
  const char *op = "mp_queue_from_fd";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(fd >= 0 && fcntl(fd, F_GETFD) >= 0, op, "fd is not an open descriptor");
  return guarded(op, [&]() -> int { return open_queue(out, fd); });
}

MP_EXTERN int mp_queue_fileno(mp_queue_t *queue) {
  MP_CHECK_QUEUE(queue, "mp_queue_fileno");
  if (queue->remote)
    return fail(MP_ENOTSUP, "mp_queue_fileno: a queue on a redis server has no descriptor");
  return queue->segment.fd();
}

MP_EXTERN int mp_queue_put(mp_queue_t *queue, const void *buf, size_t len, int64_t timeout_ms) {
  const char *op = "mp_queue_put";
  MP_CHECK_QUEUE(queue, op);
  MP_CHECK_ARG(buf || len == 0, op, "buf is NULL");
  MP_CHECK_ARG(len <= UINT32_MAX * size_t(1024), op, "message too large");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int {
    if (queue->remote) {
      size_t done = 0;
      return remote_put_many(*queue->remote, &buf, &len, 1, &done, Deadline(timeout_ms), op);
    }
    return queue_put(*queue, buf, len, Deadline(timeout_ms));
  });
}

MP_EXTERN int mp_queue_get(void **out, size_t *out_len, mp_queue_t *queue, int64_t timeout_ms) {
  const char *op = "mp_queue_get";
  MP_CHECK_ARG(out && out_len, op, "out or out_len is NULL");
  *out = nullptr;
  *out_len = 0;
  MP_CHECK_QUEUE(queue, op);
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int {
    Sink sink;
    int r = queue->remote ? remote_get(*queue->remote, sink, Deadline(timeout_ms), op)
                          : queue_get(*queue, sink, Deadline(timeout_ms));
    if (r != MP_OK) return r;
    *out = sink.owned;
    *out_len = sink.len;
    return MP_OK;
  });
}

MP_EXTERN int mp_queue_get_into(size_t *out_len, mp_queue_t *queue, void *buf, size_t cap,
                                int64_t timeout_ms) {
  const char *op = "mp_queue_get_into";
  MP_CHECK_ARG(out_len, op, "out_len is NULL");
  *out_len = 0;
  MP_CHECK_QUEUE(queue, op);
  MP_CHECK_ARG(buf || cap == 0, op, "buf is NULL");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int {
    Sink sink;
    sink.buf = buf ? buf : out_len;  // cap 0: any non-empty message is ENOSPC
    sink.cap = cap;
    int r = queue->remote ? remote_get(*queue->remote, sink, Deadline(timeout_ms), op)
                          : queue_get(*queue, sink, Deadline(timeout_ms));
    if (r == MP_OK || r == MP_ENOSPC) *out_len = sink.len;
    return r;
  });
}

MP_EXTERN int mp_queue_put_many(size_t *out_count, mp_queue_t *queue, const void *const *bufs,
                                const size_t *lens, size_t n, int64_t timeout_ms) {
  const char *op = "mp_queue_put_many";
  MP_CHECK_ARG(out_count, op, "out_count is NULL");
  *out_count = 0;
  MP_CHECK_QUEUE(queue, op);
  MP_CHECK_ARG(n == 0 || (bufs && lens), op, "bufs or lens is NULL");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  for (size_t i = 0; i < n; ++i) {  // all or nothing for bad arguments
    if (!bufs[i] && lens[i]) return fail(MP_EINVAL, "%s: message %zu is NULL", op, i);
    if (lens[i] > UINT32_MAX * size_t(1024))
      return fail(MP_EINVAL, "%s: message %zu is too large", op, i);
  }
  return guarded(op, [&]() -> int {
    if (queue->remote)
      return remote_put_many(*queue->remote, bufs, lens, n, out_count, Deadline(timeout_ms), op);
    return queue_put_many(*queue, bufs, lens, n, out_count, Deadline(timeout_ms));
  });
}

MP_EXTERN int mp_queue_get_many(size_t *out_count, mp_queue_t *queue, void *buf, size_t cap,
                                size_t *lens, size_t max_count, int64_t timeout_ms) {
  const char *op = "mp_queue_get_many";
  MP_CHECK_ARG(out_count, op, "out_count is NULL");
  *out_count = 0;
  MP_CHECK_QUEUE(queue, op);
  MP_CHECK_ARG(lens && max_count > 0, op, "lens is NULL or max_count is 0");
  MP_CHECK_ARG(buf || cap == 0, op, "buf is NULL");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int {
    // cap 0: any non-empty message is MP_ENOSPC, an empty one still fits.
    void *into = buf ? buf : static_cast<void *>(lens);
    if (queue->remote)
      return remote_get_many(*queue->remote, into, cap, lens, max_count, out_count,
                             Deadline(timeout_ms), op);
    return queue_get_many(*queue, into, cap, lens, max_count, out_count, Deadline(timeout_ms));
  });
}

MP_EXTERN int mp_queue_qsize(mp_queue_t *queue) {
  MP_CHECK_QUEUE(queue, "mp_queue_qsize");
  size_t n = 0;
  if (queue->remote) {
    int r = guarded("mp_queue_qsize", [&] {
      return remote_state(*queue->remote, &n, nullptr, nullptr, "mp_queue_qsize");
    });
    if (r != MP_OK) return r;
  } else {
    queue_qsize(*queue, &n);
  }
  return n > size_t(INT_MAX) ? INT_MAX : int(n);
}

MP_EXTERN int mp_queue_empty(mp_queue_t *queue) {
  MP_CHECK_QUEUE(queue, "mp_queue_empty");
  int n = mp_queue_qsize(queue);
  return n < 0 ? n : n == 0 ? 1 : 0;
}

MP_EXTERN int mp_queue_full(mp_queue_t *queue) {
  MP_CHECK_QUEUE(queue, "mp_queue_full");
  if (queue->remote) {
    bool full = false;
    int r = guarded("mp_queue_full", [&] {
      return remote_state(*queue->remote, nullptr, nullptr, &full, "mp_queue_full");
    });
    return r != MP_OK ? r : full ? 1 : 0;
  }
  return queue_full(*queue);
}

MP_EXTERN int mp_queue_closed(mp_queue_t *queue) {
  MP_CHECK_QUEUE(queue, "mp_queue_closed");
  if (queue->remote) {
    bool closed = false;
    int r = guarded("mp_queue_closed", [&] {
      return remote_state(*queue->remote, nullptr, &closed, nullptr, "mp_queue_closed");
    });
    return r != MP_OK ? r : closed ? 1 : 0;
  }
  return queue_closed(*queue) ? 1 : 0;
}

MP_EXTERN int64_t mp_queue_maxsize(mp_queue_t *queue) {
  MP_CHECK_QUEUE(queue, "mp_queue_maxsize");
  uint64_t n = queue->remote ? queue->remote->maxsize : queue_maxsize(*queue);
  return n > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(n);
}

MP_EXTERN int mp_queue_close(mp_queue_t *queue) {
  MP_CHECK_QUEUE(queue, "mp_queue_close");
  if (queue->remote)
    return guarded("mp_queue_close", [&] { return remote_close(*queue->remote, "mp_queue_close"); });
  return queue_close(*queue);
}

MP_EXTERN int mp_queue_task_done(mp_queue_t *queue) {
  MP_CHECK_QUEUE(queue, "mp_queue_task_done");
  if (queue->remote)
    return guarded("mp_queue_task_done",
                   [&] { return remote_task_done(*queue->remote, "mp_queue_task_done"); });
  return queue_task_done(*queue);
}

MP_EXTERN int mp_queue_join(mp_queue_t *queue, int64_t timeout_ms) {
  const char *op = "mp_queue_join";
  MP_CHECK_QUEUE(queue, op);
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  if (queue->remote)
    return guarded(op, [&] { return remote_join(*queue->remote, Deadline(timeout_ms), op); });
  return report_cancel(op, queue_join(*queue, Deadline(timeout_ms)));
}

MP_EXTERN int mp_queue_ring_word(void **out, mp_queue_t *queue, int which) {
  const char *op = "mp_queue_ring_word";
  MP_CHECK_ARG(out, op, "out is NULL");
  MP_CHECK_QUEUE(queue, op);
  if (queue->remote) return fail(MP_ENOTSUP, "%s: a queue on a redis server has no ring", op);
  void *w = queue_ring_word(*queue, which);
  if (!w) return fail(MP_EINVAL, "%s: no ring word %d", op, which);
  *out = w;
  return MP_OK;
}

MP_EXTERN int mp_queue_ring_value(uint64_t *out, mp_queue_t *queue, int which) {
  const char *op = "mp_queue_ring_value";
  MP_CHECK_ARG(out, op, "out is NULL");
  MP_CHECK_QUEUE(queue, op);
  if (queue->remote) return fail(MP_ENOTSUP, "%s: a queue on a redis server has no ring", op);
  if (!queue_ring_value(*queue, which, out))
    return fail(MP_EINVAL, "%s: no ring value %d", op, which);
  return MP_OK;
}

MP_EXTERN int mp_queue_ring_wake(mp_queue_t *queue, int side) {
  const char *op = "mp_queue_ring_wake";
  MP_CHECK_QUEUE(queue, op);
  MP_CHECK_ARG(side == MP_QUEUE_RING_PUT || side == MP_QUEUE_RING_GET, op,
               "side must be MP_QUEUE_RING_PUT or MP_QUEUE_RING_GET");
  if (queue->remote) return fail(MP_ENOTSUP, "%s: a queue on a redis server has no ring", op);
  queue_ring_wake(*queue, side == MP_QUEUE_RING_PUT);
  return MP_OK;
}

MP_EXTERN void mp_queue_free(mp_queue_t *queue) {
  if (!valid(queue)) return;
  if (queue->remote) remote_queue_free(queue->remote);
  else queue_release(*queue);
  queue->magic = 0;
  delete queue;
}

}  // extern "C"

extern "C" {

MP_EXTERN int mp_queue_last_delivery(int64_t *out_count, char *id, size_t id_cap,
                                     mp_queue_t *queue) {
  const char *op = "mp_queue_last_delivery";
  MP_CHECK_ARG(out_count, op, "out_count is NULL");
  *out_count = 0;
  MP_CHECK_ARG(id && id_cap > 0, op, "id is NULL or id_cap is 0");
  id[0] = '\0';
  MP_CHECK_QUEUE(queue, op);
  if (!queue->remote)
    return fail(MP_ENOTSUP, "%s: a local queue delivers each message once and keeps no ids", op);
  std::lock_guard<std::mutex> lock(queue->remote->mu);
  const std::string &last = queue->remote->last.id;
  if (last.empty()) return fail(MP_ESTATE, "%s: nothing was got from this handle yet", op);
  if (last.size() >= id_cap) return fail(MP_ENOSPC, "%s: the id has %zu bytes", op, last.size());
  memcpy(id, last.c_str(), last.size() + 1);
  *out_count = queue->remote->last.count;
  return MP_OK;
}

}  // extern "C"
