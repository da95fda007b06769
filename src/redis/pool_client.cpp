// The client's side of a pool across hosts (mp_pool_open of a redis://
// address): an mp_pool whose dispatcher thread sends the queued chunks to
// the pool's stream (one kSubmit round trip per batch), pops this
// client's outcomes (LPOP, up to kPopBatch a round trip) and fills the
// items; results, callbacks, imap feeding, close, join and terminate are
// the pool's own machinery, as for a pool opened through a broker. While
// it waits for outcomes it also reclaims the tasks of hosts whose
// heartbeat expired (kReclaim), so a vanished host is noticed even when no
// other host serves.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "broker/remote_pool.hpp"
#include "core/error.hpp"
#include "redis/pool.hpp"
#include "redis/pool_scripts.hpp"
#include "redis/queue.hpp"
#include "redis/reply.hpp"

namespace mp {

using redis::Value;

struct RedisPoolClient {
  redis::Endpoint ep;
  RedisPoolKeys keys;
  std::string name, client;  // client: "c<n>"
  int64_t lease_ms = 0;
  std::shared_ptr<redis::Notifier> notifier = std::make_shared<redis::Notifier>();
  explicit RedisPoolClient(const std::string &n) : keys(n), name(n) {}
  ~RedisPoolClient();
};

namespace {

constexpr size_t kBatchChunks = 1000;          // chunks per kSubmit
constexpr size_t kBatchBytes = size_t(8) << 20;  // bytes per kSubmit
constexpr int kPopBatch = 100;                 // outcomes per LPOP
constexpr int64_t kLeaveMs = 2000;             // free: the last round trip's budget

int eval(Value *out, RedisPoolClient &c, const char *script, std::vector<std::string> keys,
         const std::vector<std::string> &args, const Deadline &deadline, const char *op) {
  return pool_eval(out, c.ep, c.name, script, std::move(keys), args, deadline, op);
}

// Whether every item of c has its outcome (pool.mu held).
bool chunk_finished(const Chunk &c) {
  std::lock_guard<std::mutex> lock(c.result->mu);
  for (uint64_t index : c.msg.indexes)
    if (index < c.result->items.size() && c.result->items[index].status == kItemPending) return false;
  return true;
}

// One element of the outcome list (pool.mu held): "R" + a result message,
// or "D<chunk id>\n<why>" (its host vanished, no retry left). Anything else
// is garbage and dropped; so is an outcome of a chunk no longer waited
// for (terminated).
void take_outcome(mp_pool &pool, const std::string &e) {
  RemotePool &r = *pool.remote;
  ResultMsg m;
  std::string why;
  if (e.size() > 1 && e[0] == 'R') {
    if (decode_outcome(&m, e.substr(1)) != MP_OK) return;
  } else if (e.size() > 1 && e[0] == 'D') {
    size_t nl = e.find('\n');
    m.id = strtoull(e.c_str() + 1, nullptr, 10);
    why = nl == std::string::npos ? "its serving host vanished" : e.substr(nl + 1);
  } else {
    return;
  }
  auto it = r.sent.find(m.id);
  if (it == r.sent.end()) return;
  Chunk &c = *it->second;
  const auto &idx = c.msg.indexes;
  if (e[0] == 'D') fail_chunk(pool, &c, MP_EWORKERDIED, why.c_str());
  for (auto &item : m.items)
    if (std::binary_search(idx.begin(), idx.end(), item.index)) fill_item(pool, c.result, std::move(item));
  if (!chunk_finished(c)) return;  // the rest was sent again for a retry
  ChunkPtr done = std::move(it->second);
  r.sent.erase(it);
  retire_chunk(pool, std::move(done));
}

// Pop and apply this client's outcomes. False when the server could not
// be asked (try again later).
bool pop_outcomes(mp_pool &pool) {
  RedisPoolClient &c = *pool.remote->redis;
  for (;;) {
    Value v;
    if (redis::command(&v, c.ep, {"LPOP", c.keys.results(c.client), std::to_string(kPopBatch)},
                       Deadline(redis::kReplyCapMs), "mp_pool (redis)") != MP_OK)
      return false;
    if (v.kind != Value::kArr) return true;  // nil: nothing waits
    std::lock_guard<std::mutex> lock(pool.mu);
    for (const Value &e : v.a) take_outcome(pool, e.s);
    if (v.a.size() < size_t(kPopBatch)) return true;
  }
}

// Move the queued chunks into the stream (a batch per round trip). A batch
// the server did not take fails with the error of its round trip.
void send_pending(mp_pool &pool) {
  RemotePool &r = *pool.remote;
  RedisPoolClient &c = *r.redis;
  for (;;) {
    std::vector<std::string> args{c.keys.prefix, c.client, std::to_string(pool.retries.load())};
    std::vector<uint64_t> ids;
    {
      std::lock_guard<std::mutex> lock(pool.mu);
      size_t bytes = 0;
      while (!pool.pending.empty() && ids.size() < kBatchChunks && bytes < kBatchBytes) {
        ChunkPtr ch = take_front(pool.pending);
        std::string wire = encode_chunk(ch->msg);
        if (wire.size() > redis::kMaxRemoteMessage) {
          cancel_chunk(pool, std::move(ch), MP_EMSGSIZE, "the task's arguments exceed 256 MiB");
          continue;
        }
        bytes += wire.size();
        ids.push_back(ch->msg.id);
        args.push_back(std::to_string(ch->msg.id));
        args.push_back(std::move(wire));
        r.sent.emplace(ch->msg.id, std::move(ch));
      }
    }
    if (ids.empty()) return;
    Value v;
    int rc = eval(&v, c, redis::pool_script::kSubmit, {c.keys.stream}, args,
                  Deadline(redis::kReplyCapMs), "mp_pool (redis): submit");
    if (rc == MP_OK) continue;
    std::string why = last_error_message();
    std::lock_guard<std::mutex> lock(pool.mu);
    for (uint64_t id : ids) {
      auto it = r.sent.find(id);
      if (it == r.sent.end()) continue;
      ChunkPtr ch = std::move(it->second);
      r.sent.erase(it);
      cancel_chunk(pool, std::move(ch), rc, why.c_str());
    }
  }
}

void reclaim(RedisPoolClient &c) {
  Value v;
  eval(&v, c, redis::pool_script::kReclaim, {c.keys.stream, c.keys.hosts},
       {c.keys.prefix, std::to_string(kResultTtlMs), "dead", ""}, Deadline(redis::kReplyCapMs),
       "mp_pool (redis): reclaim");
}

bool finished(const mp_pool &pool) {
  const RemotePool &r = *pool.remote;
  return pool.terminated || (pool.closed && pool.pending.empty() && r.sent.empty());
}

void client_loop(mp_pool *pool) {
  RedisPoolClient &c = *pool->remote->redis;
  int64_t every = reclaim_every_ms(c.lease_ms), next_reclaim = now_ms() + every;
  for (;;) {
    send_pending(*pool);
    bool waiting;
    {
      std::lock_guard<std::mutex> lock(pool->mu);
      waiting = !pool->remote->sent.empty();
    }
    if (waiting) pop_outcomes(*pool);  // an idle handle asks nothing
    {
      std::lock_guard<std::mutex> lock(pool->mu);
      if (finished(*pool)) break;
      waiting = !pool->remote->sent.empty();
    }
    if (waiting && now_ms() >= next_reclaim) {
      reclaim(c);
      next_reclaim = now_ms() + every;
    }
    {
      std::lock_guard<std::mutex> lock(pool->mu);
      if (!pool->pending.empty() || finished(*pool)) continue;
      pool->dispatcher_sleeping = true;
    }
    pollfd p{pool->wake_fd.get(), POLLIN, 0};
    if (poll(&p, 1, int(every)) > 0) {
      uint64_t n;
      ssize_t rd = read(pool->wake_fd.get(), &n, sizeof n);
      (void)rd;
    }
    std::lock_guard<std::mutex> lock(pool->mu);
    pool->dispatcher_sleeping = false;
  }
  std::lock_guard<std::mutex> lock(pool->mu);
  pool->workers_done = true;
  pool->cv.notify_all();
}

}  // namespace

RedisPoolClient::~RedisPoolClient() {
  {
    std::lock_guard<std::mutex> lock(notifier->mu);
    notifier->fd = -1;
  }
  redis::unwatch(ep, keys.done(client), notifier);
  std::string saved = last_error_message();  // free reports nothing
  Value v;
  redis::command(&v, ep, {"DEL", keys.results(client)}, Deadline::uncancelable(kLeaveMs),
                 "mp_pool_free");
  fail(MP_OK, "%s", saved.c_str());
}

int redis_pool_open(mp_pool **out, const Address &a, const Deadline &deadline, const char *op) {
  auto c = std::make_shared<RedisPoolClient>(a.name);
  c->ep = redis::endpoint_of(a);
  c->lease_ms = redis_lease_ms();
  Value v;
  int r = eval(&v, *c, redis::pool_script::kOpen, {c->keys.stream, c->keys.hosts, c->keys.ids}, {},
               deadline, op);
  if (r != MP_OK) return r;
  if (v.kind != Value::kArr || v.a.size() != 2 || v.a[0].kind != Value::kInt ||
      v.a[1].kind != Value::kInt)
    return pool_script_error(c->ep, c->name, "an unexpected reply to open", op);
  c->client = "c" + std::to_string(v.a[0].i);
  std::unique_ptr<mp_pool> pool(new mp_pool());
  pool->remote.reset(new RemotePool());
  pool->remote->owner_workers = size_t(std::clamp<long long>(v.a[1].i, 1, 1024));
  pool->link->pool = pool.get();
  pool->wake_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!pool->wake_fd.valid()) {
    pool->workers_done = true;
    return fail_errno(op, "eventfd", errno);
  }
  c->notifier->fd = pool->wake_fd.get();
  redis::watch(c->ep, c->keys.done(c->client), c->notifier);
  pool->remote->redis = std::move(c);
  pool->dispatcher = std::thread(client_loop, pool.get());
  pool->callbacks = std::thread(callback_loop, pool.get());
  *out = pool.release();
  return MP_OK;
}

}  // namespace mp
