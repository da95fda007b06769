// A pool opened by address: an mp_pool whose chunks go to the owner over
// the broker's connection instead of to worker processes. Everything else
// is the pool's own machinery (results, callbacks, imap feeding, close,
// join, terminate): this file only replaces the dispatcher. The owner's
// answer for each chunk fills its items with the owner's statuses; if the
// owner goes (end of stream, garbage) every unanswered chunk fails with
// MP_EPIPE, and a withdrawn pool (kGone) with MP_ECLOSED, so no wait hangs.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "broker/broker.hpp"
#include "broker/client.hpp"
#include "broker/remote_pool.hpp"
#include "core/error.hpp"
#include "pool/pool.hpp"

namespace mp {

size_t remote_width(const RemotePool &r) { return r.owner_workers; }
bool remote_broken(const RemotePool &r) { return r.broken; }
void remote_free(RemotePool *r) { delete r; }
RemotePool::~RemotePool() = default;

void remote_cancel_all(mp_pool &pool, int status, const char *why) {
  RemotePool &r = *pool.remote;
  while (!r.sent.empty()) {
    ChunkPtr c = std::move(r.sent.begin()->second);
    r.sent.erase(r.sent.begin());
    cancel_chunk(pool, std::move(c), status, why);
  }
}

namespace {

// The owner is gone or withdrew the pool (pool.mu held): fail everything
// it holds and everything not sent yet, as a terminated pool does.
void lose_owner(mp_pool &pool, int status, const char *why) {
  RemotePool &r = *pool.remote;
  r.broken = true;
  remote_cancel_all(pool, status, why);
  for (const auto &f : pool.feeds) {
    while (!f->waiting.empty()) pool.pending.push_back(take_front(f->waiting));
  }
  while (!pool.pending.empty()) cancel_chunk(pool, take_front(pool.pending), status, why);
  r.sock.reset();
}

void on_outcome(mp_pool &pool, const std::string &payload) {
  ResultMsg m;
  if (decode_outcome(&m, payload) != MP_OK) return lose_owner(pool, MP_EPIPE, "the pool's owner sent garbage");
  RemotePool &r = *pool.remote;
  auto it = r.sent.find(m.id);
  if (it == r.sent.end()) return;  // canceled meanwhile
  ChunkPtr c = std::move(it->second);
  r.sent.erase(it);
  answer_chunk(pool, std::move(c), m.items, MP_EPIPE,
               "the pool's owner returned no result for this item");
}

// Read what the owner sent (pool.mu held; the socket is non-blocking).
void read_owner(mp_pool &pool) {
  RemotePool &r = *pool.remote;
  char buf[65536];
  while (r.sock.valid()) {
    ssize_t n = recv(r.sock.get(), buf, std::min(r.reader.want(), sizeof buf), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0 || r.reader.feed(buf, size_t(n)) != MP_OK)
      return lose_owner(pool, MP_EPIPE, "the pool's owner is gone");
    Frame f;
    if (!r.reader.take(&f)) continue;
    if (f.type == FrameType::kResult) {
      on_outcome(pool, f.payload);
    } else {
      Reply gone;
      bool ok = f.type == FrameType::kGone && decode_reply(&gone, f.payload) == MP_OK;
      return lose_owner(pool, ok ? MP_ECLOSED : MP_EPIPE,
                        ok ? "the pool was withdrawn by its owner" : "the pool's owner sent garbage");
    }
  }
}

// Write queued task frames (pool.mu held).
void write_owner(mp_pool &pool) {
  RemotePool &r = *pool.remote;
  while (r.sock.valid() && r.out_pos < r.outbuf.size()) {
    ssize_t n = send(r.sock.get(), r.outbuf.data() + r.out_pos, r.outbuf.size() - r.out_pos,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) return lose_owner(pool, MP_EPIPE, "the pool's owner is gone");
    r.out_pos += size_t(n);
  }
  r.outbuf.clear();
  r.out_pos = 0;
}

// Move the queued chunks into task frames (pool.mu held).
void send_pending(mp_pool &pool) {
  RemotePool &r = *pool.remote;
  while (!pool.pending.empty()) {
    ChunkPtr c = take_front(pool.pending);
    r.outbuf += encode_frame(FrameType::kTask, encode_chunk(c->msg));
    uint64_t id = c->msg.id;
    r.sent.emplace(id, std::move(c));
  }
}

bool finished(const mp_pool &pool) {
  const RemotePool &r = *pool.remote;
  return r.broken || pool.terminated || (pool.closed && pool.pending.empty() && r.sent.empty());
}

void remote_loop(mp_pool *pool) {
  RemotePool &r = *pool->remote;
  for (;;) {
    pollfd fds[2] = {{-1, 0, 0}, {pool->wake_fd.get(), POLLIN, 0}};
    {
      std::lock_guard<std::mutex> lock(pool->mu);
      send_pending(*pool);
      write_owner(*pool);
      if (finished(*pool)) break;
      pool->dispatcher_sleeping = true;
      fds[0] = pollfd{r.sock.get(), short(POLLIN | (r.outbuf.empty() ? 0 : POLLOUT)), 0};
    }
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents) {
      uint64_t n;
      ssize_t rd = read(pool->wake_fd.get(), &n, sizeof n);
      (void)rd;
    }
    std::lock_guard<std::mutex> lock(pool->mu);
    pool->dispatcher_sleeping = false;
    if (fds[0].revents) read_owner(*pool);
  }
  std::lock_guard<std::mutex> lock(pool->mu);
  r.sock.reset();  // the owner sees the end: it drops what it still holds of ours
  pool->workers_done = true;
  pool->cv.notify_all();
}

}  // namespace

int pool_open_remote(mp_pool **out, const Address &a, const Deadline &deadline, const char *op) {
  Fd sock, none;
  Reply reply;
  int rc = broker_request(&sock, &reply, &none, a, FrameType::kOpenPool, deadline, op);
  if (rc != MP_OK) return rc;
  std::unique_ptr<mp_pool> pool(new mp_pool());
  pool->remote.reset(new RemotePool());
  pool->remote->sock = std::move(sock);
  pool->remote->owner_workers = std::max<size_t>(1, std::min<uint32_t>(reply.workers, 1024));
  pool->link->pool = pool.get();
  pool->wake_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!pool->wake_fd.valid()) {
    pool->workers_done = true;
    return fail_errno(op, "eventfd", errno);
  }
  pool->dispatcher = std::thread(remote_loop, pool.get());
  pool->callbacks = std::thread(callback_loop, pool.get());
  *out = pool.release();
  return MP_OK;
}

}  // namespace mp
