// Public entry point: mp_wait (multiprocessing.connection.wait).
#include <fcntl.h>
#include <poll.h>

#include <cstdint>

#include <memory>

#include "capi/guard.hpp"
#include "core/wait_any.hpp"
#include "ipc/conn.hpp"
#include "ipc/queue_ring.hpp"
#include "process/process.hpp"
#include "sync/handles.hpp"

using namespace mp;

namespace {

// One entry, checked and resolved to what it waits on.
struct Target {
  int kind = 0;
  mp_conn *conn = nullptr;
  mp_queue *queue = nullptr;
  std::shared_ptr<Child> child;
  mp_event *event = nullptr;
  int plain_fd = -1;  // MP_WAIT_FD: the caller's descriptor
  int fd = -1;        // conn / process: index into WaitSet::fds
  int word = -1;      // queue / event: index into WaitSet::words
};

int resolve_conn(Target &t, void *h) {
  auto *c = static_cast<mp_conn *>(h);
  if (!c || c->magic != mp_conn::kMagic)
    return fail(MP_EINVAL, "mp_wait: not a live mp_conn_t");
  if (!c->fd.valid()) return fail(MP_ECLOSED, "mp_wait: a connection end was closed");
  if (!c->readable) return fail(MP_EINVAL, "mp_wait: a connection end is send-only");
  t.conn = c;
  return MP_OK;
}

int resolve_process(Target &t, void *h) {
  auto *p = static_cast<mp_process *>(h);
  if (!p || p->magic != mp_process::kMagic)
    return fail(MP_EINVAL, "mp_wait: not a live mp_process_t");
  std::lock_guard<std::mutex> lock(p->mu);
  if (!p->child) return fail(MP_ESTATE, "mp_wait: a process was not started");
  t.child = p->child;
  return MP_OK;
}

int resolve(Target &t, const mp_waitable_t &item) {
  t.kind = item.kind;
  switch (item.kind) {
    case MP_WAIT_CONN: return resolve_conn(t, item.handle);
    case MP_WAIT_PROCESS: return resolve_process(t, item.handle);
    case MP_WAIT_QUEUE:
      t.queue = static_cast<mp_queue *>(item.handle);
      if (!t.queue || t.queue->magic != mp_queue::kMagic || !t.queue->shared)
        return fail(MP_EINVAL, "mp_wait: not a live mp_queue_t");
      return MP_OK;
    case MP_WAIT_EVENT:
      t.event = static_cast<mp_event *>(item.handle);
      if (!valid_handle(t.event)) return fail(MP_EINVAL, "mp_wait: not a live mp_event_t");
      return MP_OK;
    case MP_WAIT_FD: {
      intptr_t fd = reinterpret_cast<intptr_t>(item.handle);
      if (fd < 0 || fd > INT32_MAX || fcntl(int(fd), F_GETFD) < 0)
        return fail(MP_EINVAL, "mp_wait: %ld is not an open descriptor", long(fd));
      t.plain_fd = int(fd);
      return MP_OK;
    }
    default: return fail(MP_EINVAL, "mp_wait: unknown kind %d", item.kind);
  }
}

// Put each entry's descriptor or futex word in the set (once per call).
int add_to_set(Target &t, WaitSet &set) {
  int fd = t.plain_fd;
  if (t.conn) fd = t.conn->fd.get();
  if (t.child) {
    fd = t.child->sentinel();
    if (fd < 0) return fd;
  }
  if (fd >= 0) {
    t.fd = int(set.fds.size());
    set.fds.push_back(pollfd{fd, POLLIN, 0});
    return MP_OK;
  }
  t.word = int(set.words.size());
  set.words.push_back(t.queue ? &t.queue->shared->data_seq : &t.event->shared->flag);
  set.values.push_back(0);
  return MP_OK;
}

// Queue producers wake the data_seq word only while a consumer is flagged
// as waiting: flag every queue of the call for its duration.
class QueueWaiterFlags {
 public:
  explicit QueueWaiterFlags(const std::vector<Target> &targets) : targets_(targets) {
    for (auto &t : targets_)
      if (t.queue) t.queue->shared->get_waiters.fetch_add(1, std::memory_order_seq_cst);
  }
  ~QueueWaiterFlags() {
    for (auto &t : targets_)
      if (t.queue) t.queue->shared->get_waiters.fetch_sub(1, std::memory_order_seq_cst);
  }

 private:
  const std::vector<Target> &targets_;
};

bool queue_ready(const QueueShared &s) {
  return s.closed.load(std::memory_order_seq_cst) ||
         s.tail.load(std::memory_order_seq_cst) > s.head.load(std::memory_order_seq_cst);
}

// Snapshot the words a sleep compares against. Queues: the eventcount,
// armed (ring::arm: producers wake only an armed one) before the state is
// read, so a put after the check moves it. Events: 0
// (a sleep only while the flag is clear).
void snapshot(const std::vector<Target> &targets, WaitSet &set) {
  for (auto &t : targets)
    if (t.queue) set.values[t.word] = ring::arm(t.queue->shared->data_seq);
}

// Mark the ready entries and count them; descriptors are looked at with a
// zero-timeout poll().
int mark_ready(const std::vector<Target> &targets, WaitSet &set, mp_waitable_t *items) {
  for (auto &p : set.fds) p.revents = 0;
  if (!set.fds.empty() && poll(set.fds.data(), set.fds.size(), 0) < 0) {
    for (auto &p : set.fds) p.revents = 0;  // EINTR: the next round looks again
  }
  int count = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const Target &t = targets[i];
    bool ready = false;
    if (t.conn) ready = t.conn->inlen > t.conn->inpos || set.fds[t.fd].revents != 0;
    if (t.child) ready = t.child->ended() || set.fds[t.fd].revents != 0;
    if (t.plain_fd >= 0) ready = set.fds[t.fd].revents != 0;
    if (t.queue) ready = queue_ready(*t.queue->shared);
    if (t.event) ready = t.event->shared->flag.load(std::memory_order_seq_cst) != 0;
    items[i].ready = ready ? 1 : 0;
    count += ready;
  }
  return count;
}

int wait_loop(std::vector<Target> &targets, WaitSet &set, mp_waitable_t *items,
              const Deadline &deadline) {
  QueueWaiterFlags flags(targets);
  for (;;) {
    snapshot(targets, set);
    int count = mark_ready(targets, set, items);
    if (count > 0 || deadline.expired()) return count;
    int r = wait_any(set, deadline);
    if (r != MP_OK && r != MP_ETIMEDOUT) return r;
  }
}

}  // namespace

extern "C" {

MP_EXTERN int mp_wait(mp_waitable_t *items, size_t n, int64_t timeout_ms) {
  const char *op = "mp_wait";
  MP_CHECK_ARG(items, op, "items is NULL");
  MP_CHECK_ARG(n > 0, op, "n is 0: nothing to wait for");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  if (n > MP_WAIT_MAX) return fail(MP_ENOSPC, "%s: %zu entries, at most %d", op, n, MP_WAIT_MAX);
  for (size_t i = 0; i < n; ++i) items[i].ready = 0;
  return guarded(op, [&]() -> int {
    std::vector<Target> targets(n);
    WaitSet set;
    for (size_t i = 0; i < n; ++i) {
      int r = resolve(targets[i], items[i]);
      if (r == MP_OK) r = add_to_set(targets[i], set);
      if (r != MP_OK) return r;
    }
    Deadline deadline(timeout_ms);
    int count = wait_loop(targets, set, items, deadline);
    if (count == 0 && deadline.canceled()) return MP_ETIMEDOUT;  // guarded: MP_ECANCELED
    return count;
  });
}

}  // extern "C"
