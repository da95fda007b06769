// The serving side of a pool across hosts (mp_pool_serve): one thread per
// served pool takes chunks from the stream while the local workers have
// room, submits them to the local pool by task name, and publishes the
// outcomes with the fenced kFinish script, which also takes the next
// chunks (one round trip per batch of what is ready; XREADGROUP alone when
// there is nothing to publish). It sleeps on an eventfd that the pool's
// result callbacks, close/terminate and the pool's redis channel (new
// tasks) write, or a tenth of the lease, when it also reclaims vanished
// hosts. Prefetch: 4 chunks per worker (Celery's default), deeper while
// chunks are short (at most kPrefetchWorkMs of work, 64 per worker), so
// that a fast host does not wait a round trip per few tasks and a slow
// task is never held back from an idle host for long.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <thread>

#include "core/error.hpp"
#include "broker/protocol.hpp"
#include "pool/pool.hpp"
#include "redis/eval.hpp"
#include "redis/pool.hpp"
#include "redis/pool_scripts.hpp"
#include "redis/queue.hpp"

namespace mp {

using redis::Value;

namespace {

// One stream entry this host took.
struct Taken {
  std::string entry;   // the stream entry id
  std::string deliveries;
  std::string client;
  std::string chunk_id;
  unsigned retries = 0, failed = 0;  // allowed, and failed attempts so far
  ChunkMsg msg;
};

struct Outcome {
  Taken taken;
  std::vector<ItemResult> items;
};

}  // namespace

struct RedisServe {
  mp_pool *pool = nullptr;
  redis::Endpoint ep;
  RedisPoolKeys keys;
  std::string name, host;
  int64_t lease_ms = 0;
  size_t room = 1;  // chunks held at most now (adapt_room)
  size_t room_min = 1, room_max = 1;
  int64_t window_start = 0;  // the chunks published since (adapt_room)
  int64_t last_publish = 0;
  size_t window_done = 0;
  std::shared_ptr<redis::Notifier> notifier = std::make_shared<redis::Notifier>();
  Fd wake;
  std::mutex mu;
  std::deque<Outcome> done;  // outcomes from the pool's callbacks (mu)
  size_t held = 0;           // entries taken and not yet published (serving thread only)
  std::thread thread;
  explicit RedisServe(const std::string &n) : keys(n), name(n) {}
};

RedisPoolKeys::RedisPoolKeys(const std::string &name)
    : prefix("mp:pool:{" + name + "}"),
      stream(prefix + ":tasks"),
      hosts(prefix + ":hosts"),
      ids(prefix + ":ids"),
      notify(prefix + ":notify") {}

int pool_script_error(const redis::Endpoint &ep, const std::string &name, const std::string &e,
                      const char *op) {
  if (e.find("OOM") != std::string::npos)
    return fail(MP_ENOSPC, "%s: %s is out of memory: %s", op, ep.text.c_str(), e.c_str());
  return fail(MP_EINVAL, "%s: pool '%s' at %s: %s (a key under mp:pool:{%s} written by another client?)",
              op, name.c_str(), ep.text.c_str(), e.c_str(), name.c_str());
}

int pool_eval(Value *out, const redis::Endpoint &ep, const std::string &name, const char *script,
              std::vector<std::string> keys, const std::vector<std::string> &args,
              const Deadline &deadline, const char *op) {
  int r = redis::eval_script(out, ep, script, keys, args, deadline, op);  // EVALSHA
  if (r == MP_OK && out->kind == Value::kErr) return pool_script_error(ep, name, out->s, op);
  return r;
}

namespace {

constexpr size_t kPublishBatch = 256;  // outcomes per kFinish run
constexpr size_t kPrefetchPerWorker = 4;       // chunks held: Celery's default prefetch
constexpr size_t kDeepPrefetchPerWorker = 64;  // at most, while chunks are short
constexpr int64_t kPrefetchWorkMs = 20;        // beyond the default: this much work held
constexpr int64_t kRateWindowMs = 20;   // a pace measured over this (hundreds of short chunks)

// Hold what the host finishes in kPrefetchWorkMs at its pace over the
// last kRateWindowMs, between Celery's 4 per worker and 64 per worker:
// sub-millisecond chunks keep the workers fed across round trips, while
// slow chunks, and the first ones after a pause of kPrefetchWorkMs, get
// the default, so that an idle host is not kept from work one host holds
// (at most about kPrefetchWorkMs of it beyond the default).
void adapt_room(RedisServe &s, size_t published) {
  int64_t now = now_ms();
  if (published) {
    s.last_publish = now;
  } else if (now - s.last_publish > kPrefetchWorkMs) {  // not a stream of short chunks (now)
    s.room = s.room_min;
    s.window_start = now;
    s.window_done = 0;
    return;
  }
  s.window_done += published;
  int64_t span = now - s.window_start;
  if (span < kRateWindowMs) return;
  size_t want = size_t(s.window_done * uint64_t(kPrefetchWorkMs) / uint64_t(span));
  s.room = std::clamp(want, s.room_min, s.room_max);
  s.window_start = now;
  s.window_done = 0;
}

void wake(RedisServe &s) {
  uint64_t one = 1;
  ssize_t w = write(s.wake.get(), &one, sizeof one);
  (void)w;  // a full counter already wakes it
}

int eval(Value *out, RedisServe &s, const char *script, std::vector<std::string> keys,
         const std::vector<std::string> &args, const char *op) {
  return pool_eval(out, s.ep, s.name, script, std::move(keys), args, Deadline(redis::kReplyCapMs), op);
}

// The pool's callback thread: the local outcome of one chunk.
struct Job {
  std::shared_ptr<RedisServe> serve;
  Taken taken;
};

void on_local_done(mp_result_t *r, void *payload) {
  std::unique_ptr<Job> job(static_cast<Job *>(payload));
  Outcome o{std::move(job->taken), {}};
  {
    std::lock_guard<std::mutex> lock(r->mu);  // complete: items are final
    for (size_t i = 0; i < r->items.size() && i < o.taken.msg.indexes.size(); ++i)
      o.items.push_back(ItemResult{o.taken.msg.indexes[i], r->items[i].status, r->items[i].data});
  }
  RedisServe &s = *job->serve;
  std::lock_guard<std::mutex> lock(s.mu);
  s.done.push_back(std::move(o));
  wake(s);
}

// The kFinish arguments of one outcome. Items whose worker died go back
// to the stream while the client's retries last.
void finish_args(std::vector<std::string> &args, const Outcome &o) {
  const Taken &t = o.taken;
  ResultMsg res;
  ChunkMsg again;
  again.task = t.msg.task;
  bool retry = t.failed + 1 <= t.retries;
  for (size_t i = 0; i < o.items.size(); ++i) {
    if (retry && o.items[i].status == MP_EWORKERDIED) {
      again.indexes.push_back(t.msg.indexes[i]);
      again.args.push_back(t.msg.args[i]);
    } else {
      res.items.push_back(o.items[i]);
    }
  }
  res.id = strtoull(t.chunk_id.c_str(), nullptr, 10);
  args.insert(args.end(), {t.entry, t.deliveries, res.items.empty() ? "" : "R" + encode_outcome(res),
                           again.args.empty() ? "" : encode_chunk(again), t.client, t.chunk_id,
                           std::to_string(t.retries), std::to_string(t.failed + 1)});
}

bool field(const Value &kv, const char *name, std::string *out) {
  for (size_t i = 0; i + 1 < kv.a.size(); i += 2)
    if (kv.a[i].s == name) {
      *out = kv.a[i + 1].s;
      return true;
    }
  return false;
}

// Decode one stream entry {id, {field, value...}}; false for garbage.
bool decode_entry(Taken *t, const Value &e) {
  if (e.kind != Value::kArr || e.a.size() != 2 || e.a[1].kind != Value::kArr) return false;
  t->entry = e.a[0].s;
  std::string r, a, m;
  if (!field(e.a[1], "c", &t->client) || !field(e.a[1], "k", &t->chunk_id) ||
      !field(e.a[1], "r", &r) || !field(e.a[1], "a", &a) || !field(e.a[1], "m", &m))
    return false;
  t->retries = unsigned(strtoul(r.c_str(), nullptr, 10));
  t->failed = unsigned(strtoul(a.c_str(), nullptr, 10));
  return decode_chunk(t->msg, m) == MP_OK && t->msg.indexes.size() == t->msg.args.size() &&
         !t->msg.args.empty();
}

// Every item of t failed before it ran (unknown task...): say so.
void answer_failed(RedisServe &s, Taken t, int status, const std::string &why) {
  Outcome o{std::move(t), {}};
  for (uint64_t index : o.taken.msg.indexes) o.items.push_back(ItemResult{index, status, why});
  std::lock_guard<std::mutex> lock(s.mu);
  s.done.push_back(std::move(o));
}

// Submit a taken chunk to the local pool; false when the pool refused it
// because it is closing (the entry is handed back at leave()).
bool run_local(const std::shared_ptr<RedisServe> &sp, Taken t) {
  RedisServe &s = *sp;
  auto *job = new Job{sp, t};
  mp_result *r = result_new(t.msg.args.size(), on_local_done, on_local_done, job);
  int rc = pool_submit(*s.pool, r, t.msg.task, t.msg.args, t.msg.args.size(), nullptr);
  result_unref(r);  // the chunk holds its own reference
  if (rc == MP_OK) return true;
  delete job;
  if (rc == MP_ESTATE) return false;
  answer_failed(s, std::move(t), rc, last_error_message());
  return true;
}

// Make the stream and group if missing, register this host and its
// heartbeat key (kServe).
int join_group(RedisServe &s, const char *op = "mp_pool_serve") {
  Value v;
  return eval(&v, s, redis::pool_script::kServe, {s.keys.stream, s.keys.hosts, s.keys.alive(s.host)},
              {s.host, std::to_string(s.pool->workers.size()), std::to_string(host_key_ms(s.lease_ms))},
              op);
}

// Run the entries of an XREADGROUP reply (taken: counted in held).
void run_taken(const std::shared_ptr<RedisServe> &sp, const Value &v) {
  RedisServe &s = *sp;
  if (v.kind != Value::kArr || v.a.empty() || v.a[0].kind != Value::kArr || v.a[0].a.size() != 2)
    return;
  Value garbage;
  for (const Value &e : v.a[0].a[1].a) {
    Taken t;
    ++s.held;
    if (!decode_entry(&t, e)) {  // not ours to run: drop it (acknowledged, deleted)
      std::string id = e.kind == Value::kArr && !e.a.empty() ? e.a[0].s : "";
      redis::command(&garbage, s.ep, {"XACK", s.keys.stream, "g", id}, Deadline(redis::kReplyCapMs),
                     "mp_pool_serve");
      redis::command(&garbage, s.ep, {"XDEL", s.keys.stream, id}, Deadline(redis::kReplyCapMs),
                     "mp_pool_serve");
      --s.held;
      continue;
    }
    t.deliveries = "1";
    if (!run_local(sp, std::move(t))) --s.held;  // closing: leave() hands it back
  }
}

// Take up to room - held chunks (one round trip) and run them.
void take_tasks(const std::shared_ptr<RedisServe> &sp) {
  RedisServe &s = *sp;
  adapt_room(s, 0);  // back to the default after an idle spell
  if (s.held >= s.room) return;
  Value v;
  int r = redis::command(&v, s.ep,
                         {"XREADGROUP", "GROUP", "g", s.host, "COUNT",
                          std::to_string(s.room - s.held), "STREAMS", s.keys.stream, ">"},
                         Deadline(redis::kReplyCapMs), "mp_pool_serve");
  if (r == MP_OK && v.kind == Value::kErr && v.s.find("NOGROUP") != std::string::npos)
    return (void)join_group(s);  // the server lost the stream (restarted): take part again
  if (r == MP_OK) run_taken(sp, v);
}

// Publish the outcomes the callbacks delivered, fenced, a batch of what is
// ready per round trip (an outcome refused because the entry was
// reclaimed is dropped: the host that holds it now answers), taking new
// chunks in the same round trip unless closing. Stopping (terminated),
// canceled ones are left for leave() to hand back; a batch that could not
// be sent is tried again later unless the pool is stopping. Returns
// whether it asked for new chunks.
bool publish_done(const std::shared_ptr<RedisServe> &sp, bool closing, bool stopping,
                  bool terminated) {
  RedisServe &s = *sp;
  bool took = false;
  for (;;) {
    std::deque<Outcome> batch;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      while (!s.done.empty() && batch.size() < kPublishBatch) {
        batch.push_back(std::move(s.done.front()));
        s.done.pop_front();
      }
    }
    if (batch.empty()) return took;
    size_t after = s.held - batch.size();
    size_t take = closing || after >= s.room ? 0 : s.room - after;
    std::vector<std::string> args{s.keys.prefix, s.host, std::to_string(kResultTtlMs),
                                  std::to_string(take)};
    for (const Outcome &o : batch) {
      bool canceled = std::any_of(o.items.begin(), o.items.end(),
                                  [](const ItemResult &i) { return i.status == MP_ECANCELED; });
      if (!(terminated && canceled)) finish_args(args, o);
    }
    Value v;
    if (args.size() > 4 &&
        eval(&v, s, redis::pool_script::kFinish, {s.keys.stream}, args, "mp_pool_serve") != MP_OK &&
        !stopping) {
      std::lock_guard<std::mutex> lock(s.mu);
      while (!batch.empty()) {
        s.done.push_front(std::move(batch.back()));
        batch.pop_back();
      }
      return took;
    }
    s.held = after;
    adapt_room(s, batch.size());
    if (args.size() <= 4 || take == 0) continue;
    took = true;
    if (v.kind == Value::kArr && v.a.size() == 2) {
      if (v.a[1].kind == Value::kArr) run_taken(sp, v.a[1]);
      else if (v.a[1].s == "NOGROUP") join_group(s);  // the server lost the stream: take part again
    }
  }
}

void reclaim(RedisServe &s, const char *mode) {
  Value v;
  eval(&v, s, redis::pool_script::kReclaim, {s.keys.stream, s.keys.hosts},
       {s.keys.prefix, std::to_string(kResultTtlMs), mode, s.host}, "mp_pool_serve");
}

// No more wake-ups, no heartbeat; what is still ours goes back to the
// stream for the other hosts.
void stop_serving(RedisServe &s) {
  {
    std::lock_guard<std::mutex> lock(s.notifier->mu);
    s.notifier->fd = -1;
  }
  redis::unwatch(s.ep, s.keys.notify, s.notifier);
  redis::stop_keep_alive(s.ep, s.keys.alive(s.host));
  reclaim(s, "leave");
}

void serve_loop(std::shared_ptr<RedisServe> sp) {
  RedisServe &s = *sp;
  int64_t every = reclaim_every_ms(s.lease_ms), next_reclaim = 0;
  std::string saved = last_error_message();  // this thread reports nothing
  for (;;) {
    bool closed, terminated;
    {
      std::lock_guard<std::mutex> lock(s.pool->mu);
      closed = s.pool->closed;
      terminated = s.pool->terminated;
    }
    bool took = publish_done(sp, closed, closed || terminated, terminated);
    if (terminated || (closed && s.held == 0)) break;
    if (!closed && !took) take_tasks(sp);
    if (now_ms() >= next_reclaim) {
      reclaim(s, "dead");
      next_reclaim = now_ms() + every;
    }
    pollfd p{s.wake.get(), POLLIN, 0};
    if (poll(&p, 1, int(every)) > 0) {
      uint64_t n;
      ssize_t rd = read(s.wake.get(), &n, sizeof n);
      (void)rd;
    }
  }
  stop_serving(s);
  fail(MP_OK, "%s", saved.c_str());
}

std::string host_name(int64_t n) {
  char host[64] = "host";
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid()) + ":h" + std::to_string(n);
}

}  // namespace

void serve_wake(RedisServe &s) { wake(s); }

void serve_join(RedisServe &s) {
  if (s.thread.joinable() && s.thread.get_id() != std::this_thread::get_id()) s.thread.join();
}

int redis_pool_serve(mp_pool &pool, const Address &a, const Deadline &deadline, const char *op) {
  auto s = std::make_shared<RedisServe>(a.name);
  s->pool = &pool;
  s->ep = redis::endpoint_of(a);
  s->lease_ms = redis_lease_ms();
  size_t workers = std::max<size_t>(1, pool.workers.size());
  s->room = s->room_min = kPrefetchPerWorker * workers;
  s->room_max = kDeepPrefetchPerWorker * workers;
  s->window_start = now_ms();
  s->wake.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s->wake.valid()) return fail_errno(op, "eventfd", errno);
  auto refused = [&] { return fail(MP_ESTATE, "%s: the pool is closed or serves already", op); };
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    if (pool.serving || pool.closed || pool.terminated) return refused();
  }
  Value v;
  int r = redis::command(&v, s->ep, {"INCR", s->keys.ids}, deadline, op);
  if (r != MP_OK) return r;
  if (v.kind != Value::kInt) return pool_script_error(s->ep, s->name, v.s, op);
  s->host = host_name(v.i);
  r = join_group(*s, op);
  if (r != MP_OK) return r;
  s->notifier->fd = s->wake.get();
  redis::watch(s->ep, s->keys.notify, s->notifier);
  redis::keep_alive(s->ep, s->keys.alive(s->host), host_key_ms(s->lease_ms));
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    if (!pool.serving && !pool.closed && !pool.terminated) {
      pool.serving = s;
      s->thread = std::thread(serve_loop, s);
      return MP_OK;
    }
  }
  stop_serving(*s);  // lost a race with close or another serve
  return refused();
}

}  // namespace mp
