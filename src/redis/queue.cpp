// The queue calls on a redis server (queue.hpp): each is one script run
// (one round trip, made on the caller's thread in the handle's order:
// direct.hpp; only free's leave goes through the loop); a call that waits
// (get on an empty queue, put on a full one, join) sleeps until the
// queue's channel says something changed or a poll slice passes (the
// slice also lets a waiting get claim what a dead consumer held), then
// asks again.
#include "redis/queue.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "core/error.hpp"
#include "ipc/queue_ring.hpp"
#include "redis/direct.hpp"
#include "redis/eval.hpp"
#include "redis/object.hpp"
#include "redis/scripts.hpp"

namespace mp {

using redis::Value;

namespace {

constexpr int64_t kPollMs = 250;          // a waiting call asks again at least this often
constexpr size_t kBatchMessages = 1000;   // put_many: messages per script run
constexpr size_t kBatchBytes = 8 << 20;   // put_many: bytes per script run
constexpr int64_t kLeaveMs = 2000;        // free: the last round trip's budget
constexpr int64_t kMinTripMs = 2000;      // the least a round trip that moves messages waits

// The budget of one round trip that moves messages: the caller's time
// left, but at least kMinTripMs (a get must not stop listening while its
// reply brings a message it would then hold without handing it out) and at
// most kReplyCapMs. The thread's cancel token still ends it.
Deadline trip(const Deadline &d) {
  int64_t left = d.remaining_ms();
  if (left == MP_FOREVER || left > redis::kReplyCapMs) left = redis::kReplyCapMs;
  return Deadline(left < kMinTripMs ? kMinTripMs : left);
}

// An error reply of a script: what it means for the caller.
int script_error(const RemoteQueue &q, const std::string &e, const char *op) {
  if (e.rfind("LOADING", 0) == 0)  // eval_script waits for it; plain commands do not
    return fail(MP_ETIMEDOUT, "%s: %s is still loading its data set (restarted?)", op,
                q.ep.text.c_str());
  if (e.find("MPEXISTS") != std::string::npos)
    return fail(MP_EEXIST, "%s: queue '%s' at %s exists with other settings (%s)", op,
                q.name.c_str(), q.ep.text.c_str(), e.substr(e.find("MPEXISTS") + 9).c_str());
  if (e.find("MPGARBAGE") != std::string::npos)
    return fail(MP_EINVAL, "%s: queue '%s' at %s is damaged: %s", op, q.name.c_str(),
                q.ep.text.c_str(), e.substr(e.find("MPGARBAGE") + 10).c_str());
  if (e.find("OOM") != std::string::npos)
    return fail(MP_ENOSPC, "%s: %s is out of memory: %s", op, q.ep.text.c_str(), e.c_str());
  return fail(MP_EINVAL, "%s: queue '%s' at %s: %s (a key under %s written by another client?)",
              op, q.name.c_str(), q.ep.text.c_str(), e.c_str(), q.prefix.c_str());
}

// On the caller's thread in q's order (direct.hpp); loop: on the runtime
// loop's connection instead.
int eval(Value *out, RemoteQueue &q, const char *script, const std::vector<std::string> &keys,
         const std::vector<std::string> &args, const Deadline &deadline, const char *op,
         bool loop = false) {
  int r = redis::eval_script(out, q.ep, script, keys, args, deadline, op,
                             loop ? nullptr : &q.lane);
  if (r != MP_OK) return r;
  return out->kind == Value::kErr ? script_error(q, out->s, op) : MP_OK;
}

int damaged(const RemoteQueue &q, const char *op) {
  return fail(MP_EINVAL, "%s: queue '%s' at %s: %s does not hold a multiproc queue's meta hash",
              op, q.name.c_str(), q.ep.text.c_str(), q.meta.c_str());
}

// Wait for a change on the queue's channel since seen, at most one poll
// slice. MP_OK to ask again; MP_EEMPTY/MP_EFULL (what) when the caller
// may not wait, MP_ETIMEDOUT when its time is up.
int wait_change(RemoteQueue &q, uint32_t seen, int what, const Deadline &deadline,
                const char *op) {
  if (deadline.nonblocking())
    return fail(what, "%s: the queue is %s", op, what == MP_EEMPTY ? "empty" : "full");
  if (deadline.expired()) return fail(MP_ETIMEDOUT, "%s: timed out", op);
  redis::wait_notified(*q.notifier, seen, deadline.within(kPollMs));
  return MP_OK;
}

// An id as the scripts acknowledge it: "x<id>" when the body lies beside
// the entry (its key goes too), else the id (no per-message command).
std::string ack_form(const redis::Delivery &d) { return d.beside ? "x" + d.id : d.id; }

// Hand the oldest ready message to sink (q.mu held).
int hand_out(RemoteQueue &q, Sink &sink, const char *op) {
  redis::Delivery &d = q.ready.front();
  if (sink.buf && d.body.size() > sink.cap) {
    sink.len = d.body.size();
    return fail(MP_ENOSPC, "%s: the message has %zu bytes, the buffer %zu", op, d.body.size(),
                sink.cap);
  }
  int rc = ring::sink_reserve(sink, d.body.size());
  if (rc != MP_OK) return rc;
  if (!d.body.empty()) memcpy(ring::sink_data(sink), d.body.data(), d.body.size());
  q.held.push_back(ack_form(d));
  q.last.id = d.id;
  q.last.count = d.count;
  q.ready.pop_front();
  return MP_OK;
}

// Acknowledge ids (mode "ack"), or also end this consumer ("leave": on
// the loop's connection, after stop_keep_alive's last heartbeat, which
// must not bring the key back after leave deleted it).
int send_acks(RemoteQueue &q, const char *mode, const std::vector<std::string> &ids,
              const Deadline &deadline, const char *op) {
  std::vector<std::string> args{q.prefix, q.consumer, mode};
  args.insert(args.end(), ids.begin(), ids.end());
  Value v;
  return eval(&v, q, redis::script::kAck, {q.meta, q.stream, q.alive}, args, deadline, op,
              strcmp(mode, "leave") == 0);
}

// One get script run: acknowledge what a plain queue's consumer is done
// with (with ack_held: what it got in earlier calls), take up to want
// messages into q.ready. After a get whose reply was lost (it may have
// run), this one also recovers what that one took (q.unsure). may_wait:
// the caller waits when it finds nothing (puts then wake it: kGet's "w").
int fetch(RemoteQueue &q, size_t want, bool ack_held, bool may_wait, redis::GetOutcome *outcome,
          const Deadline &deadline, const char *op) {
  if (deadline.canceled())  // nothing sent: nothing to recover (guarded(): MP_ECANCELED)
    return fail(MP_ETIMEDOUT, "%s: canceled", op);
  std::vector<std::string> acks, args{q.prefix, q.consumer, std::to_string(want), ""};
  bool recover;
  {
    std::lock_guard<std::mutex> lock(q.mu);
    if (!q.joinable && ack_held) {
      acks.assign(q.held.begin(), q.held.end());
      q.held.clear();
    }
    recover = q.unsure;
    bool scan = now_ms() >= q.next_scan_ms;
    if (scan) q.next_scan_ms = now_ms() + q.lease_ms / 10;
    args[3] = std::string(recover ? "r" : "") + (scan ? "s" : "") + (may_wait ? "w" : "") +
              (q.counted ? "u" : "");
    q.counted = false;  // a lost reply may have uncounted it: at worst P:waiting expires
    args.push_back(std::to_string(acks.size()));
    args.insert(args.end(), acks.begin(), acks.end());
    if (recover) {  // what it holds is not lost
      args.insert(args.end(), q.held.begin(), q.held.end());
      for (const auto &d : q.ready) args.push_back(d.id);
    }
  }
  Value v;
  int r = eval(&v, q, redis::script::kGet, {q.meta, q.stream}, args, trip(deadline), op);
  if (r != MP_OK) {  // acknowledge them again next time (XACK is idempotent)
    std::lock_guard<std::mutex> lock(q.mu);
    q.held.insert(q.held.begin(), acks.begin(), acks.end());
    if (r == MP_ETIMEDOUT || r == MP_EPIPE) q.unsure = true;  // it may have run
    return r;
  }
  std::vector<redis::Delivery> got;
  std::vector<std::string> bad;
  std::string why;
  r = redis::decode_get(outcome, &got, &bad, &why, v);
  if (r != MP_OK) return fail(r, "%s: queue '%s' at %s: %s", op, q.name.c_str(), q.ep.text.c_str(), last_error_message());
  {
    std::lock_guard<std::mutex> lock(q.mu);
    if (recover && got.size() + bad.size() < want) q.unsure = false;  // all recovered
    q.counted = may_wait && *outcome == redis::GetOutcome::kEmpty;
    for (auto &d : got) q.ready.push_back(std::move(d));
  }
  if (bad.empty()) return MP_OK;
  for (auto &id : bad) id.insert(0, "x");  // a body key of theirs may exist: it goes too
  send_acks(q, "ack", bad, Deadline(redis::kReplyCapMs), op);  // drop them: they never decode
  return fail(MP_EINVAL, "%s: queue '%s' at %s: %s (written by another client; dropped)", op,
              q.name.c_str(), q.ep.text.c_str(), why.c_str());
}

int get_one(RemoteQueue &q, Sink &sink, size_t want, const Deadline &deadline, const char *op) {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(q.mu);
      if (!q.ready.empty()) return hand_out(q, sink, op);
    }
    uint32_t seen = redis::notified_seq(*q.notifier);
    redis::GetOutcome outcome;
    int r = fetch(q, want, true, !deadline.nonblocking(), &outcome, deadline, op);
    if (r != MP_OK) return r;
    if (outcome == redis::GetOutcome::kMessages) continue;
    if (outcome == redis::GetOutcome::kClosed)
      return fail(MP_ECLOSED, "%s: the queue is closed and drained", op);
    r = wait_change(q, seen, MP_EEMPTY, deadline, op);
    if (r != MP_OK) return r;
  }
}

}  // namespace

int64_t redis_lease_ms() {
  const char *s = getenv("MULTIPROC_REDIS_LEASE_MS");
  long long v = s && *s ? atoll(s) : 10000;
  return v < 100 ? 100 : v > 600000 ? 600000 : v;
}

int remote_queue_open(mp_queue_t **out, const Address &a, bool mode_new, uint64_t maxsize,
                      bool joinable, const Deadline &deadline, const char *op) {
  std::unique_ptr<RemoteQueue> q(new RemoteQueue());
  q->ep = redis::endpoint_of(a);
  q->name = a.name;
  q->prefix = "mp:queue:{" + a.name + "}";
  q->meta = q->prefix + ":meta";
  q->stream = q->prefix + ":stream";
  q->channel = q->prefix + ":notify";
  q->consumer = redis::unique_name();
  q->alive = q->prefix + ":alive:" + q->consumer;
  q->lease_ms = redis_lease_ms();
  Value v;
  int r = eval(&v, *q, redis::script::kOpen, {q->meta, q->stream, q->alive},
               {mode_new ? "new" : "open", joinable ? "1" : "0", std::to_string(maxsize),
                std::to_string(q->lease_ms)},
               deadline, op);
  if (r != MP_OK) return r;
  long long j = 0, m = 0;
  if (v.kind != Value::kArr || v.a.size() != 2 || !redis::as_int(v.a[0], &j) ||
      !redis::as_int(v.a[1], &m) || m < 0)
    return damaged(*q, op);
  q->joinable = j == 1;
  q->maxsize = uint64_t(m);
  redis::watch(q->ep, q->channel, q->notifier);
  redis::keep_alive(q->ep, q->alive, q->lease_ms);
  redis::warn_if_evicts(q->ep, "queue", deadline, op);
  auto *mq = new mp_queue();
  mq->remote = q.release();
  *out = mq;
  return MP_OK;
}

void remote_queue_free(RemoteQueue *q) {
  redis::stop_keep_alive(q->ep, q->alive);
  redis::unwatch(q->ep, q->channel, q->notifier);
  std::vector<std::string> acks;
  if (!q->joinable) acks.assign(q->held.begin(), q->held.end());
  std::string saved = last_error_message();  // free reports nothing
  send_acks(*q, "leave", acks, Deadline::uncancelable(kLeaveMs), "mp_queue_free");
  fail(MP_OK, "%s", saved.c_str());
  delete q;
}

int remote_put_many(RemoteQueue &q, const void *const *bufs, const size_t *lens, size_t n,
                    size_t *done, const Deadline &deadline, const char *op) {
  *done = 0;
  for (size_t k = 0; k < n; ++k)
    if (lens[k] > redis::kMaxRemoteMessage)
      return fail(MP_EMSGSIZE, "%s: message %zu has %zu bytes; a redis queue carries at most %zu",
                  op, k, lens[k], redis::kMaxRemoteMessage);
  while (*done < n) {
    std::vector<std::string> args{q.prefix, std::to_string(redis::kBodyBeside)};
    size_t bytes = 0;
    for (size_t k = *done; k < n && k - *done < kBatchMessages; ++k) {
      if (k > *done && bytes + lens[k] > kBatchBytes) break;
      args.emplace_back(static_cast<const char *>(bufs[k]), lens[k]);
      bytes += lens[k];
    }
    uint32_t seen = redis::notified_seq(*q.notifier);
    Value v;
    int r = eval(&v, q, redis::script::kPut, {q.meta, q.stream}, args, trip(deadline), op);
    if (r != MP_OK) return r;
    // kPut: how many went in, or {"full"|"closed", 0}
    if (v.kind == Value::kInt) {
      if (v.i < 1 || size_t(v.i) > args.size() - 2) return damaged(q, op);
      *done += size_t(v.i);
      continue;
    }
    long long put = 0;
    if (v.kind != Value::kArr || v.a.size() != 2 || !redis::as_int(v.a[1], &put) || put != 0)
      return damaged(q, op);
    if (v.a[0].s == "closed") return fail(MP_ECLOSED, "%s: the queue is closed", op);
    r = wait_change(q, seen, MP_EFULL, deadline, op);
    if (r != MP_OK) return r;
  }
  return MP_OK;
}

int remote_get(RemoteQueue &q, Sink &sink, const Deadline &deadline, const char *op) {
  return get_one(q, sink, 1, deadline, op);
}

int remote_get_many(RemoteQueue &q, void *buf, size_t cap, size_t *lens, size_t max,
                    size_t *count, const Deadline &deadline, const char *op) {
  *count = 0;
  Sink first;
  first.buf = buf;
  first.cap = cap;
  int r = get_one(q, first, max, deadline, op);
  lens[0] = first.len;
  if (r != MP_OK) return r;
  *count = 1;
  char *at = static_cast<char *>(buf) + first.len;
  size_t room = cap - first.len;
  bool more;
  {
    std::lock_guard<std::mutex> lock(q.mu);
    more = q.ready.empty() && max > 1;
  }
  redis::GetOutcome outcome;  // what else is queued now (no wait; errors: next call)
  std::string saved = last_error_message();
  if (more && fetch(q, max - 1, false, false, &outcome, Deadline(0), op) != MP_OK) fail(MP_OK, "%s", saved.c_str());
  std::lock_guard<std::mutex> lock(q.mu);
  while (*count < max && !q.ready.empty() && q.ready.front().body.size() <= room) {
    Sink s;
    s.buf = at;
    s.cap = room;
    hand_out(q, s, op);
    lens[(*count)++] = s.len;
    at += s.len;
    room -= s.len;
  }
  return MP_OK;
}

int remote_state(RemoteQueue &q, size_t *qsize, bool *closed, bool *full, const char *op) {
  Value v;
  int r = redis::direct_command(&v, q.ep, {"HMGET", q.meta, "queued", "maxsize", "closed"},
                                Deadline(redis::kReplyCapMs), op, &q.lane);
  if (r != MP_OK) return r;
  if (v.kind == Value::kErr) return script_error(q, v.s, op);
  long long queued = 0, max = 0, shut = 0;
  if (v.kind != Value::kArr || v.a.size() != 3 || !redis::as_int(v.a[0], &queued) ||
      !redis::as_int(v.a[1], &max) || !redis::as_int(v.a[2], &shut))
    return damaged(q, op);
  if (queued < 0) queued = 0;
  if (qsize) *qsize = size_t(queued);
  if (closed) *closed = shut != 0;
  if (full) *full = max > 0 && queued >= max;
  return MP_OK;
}

int remote_close(RemoteQueue &q, const char *op) {
  Value v;
  return eval(&v, q, redis::script::kClose, {q.meta}, {q.prefix}, Deadline(redis::kReplyCapMs),
              op);
}

int remote_task_done(RemoteQueue &q, const char *op) {
  std::string id;
  {
    std::lock_guard<std::mutex> lock(q.mu);
    if (!q.joinable) return fail(MP_ESTATE, "%s: the queue is not joinable", op);
    if (q.held.empty())
      return fail(MP_ESTATE, "%s: called more times than this handle got messages", op);
    id = q.held.front();
    q.held.pop_front();
  }
  int r = send_acks(q, "ack", {id}, Deadline(redis::kReplyCapMs), op);
  if (r != MP_OK) {
    std::lock_guard<std::mutex> lock(q.mu);
    q.held.push_front(id);
  }
  return r;
}

int remote_join(RemoteQueue &q, const Deadline &deadline, const char *op) {
  if (!q.joinable) return fail(MP_ESTATE, "%s: the queue is not joinable", op);
  for (;;) {
    uint32_t seen = redis::notified_seq(*q.notifier);
    Value v;
    int r = redis::direct_command(&v, q.ep, {"HGET", q.meta, "unfinished"}, deadline, op,
                                  &q.lane);
    if (r != MP_OK) return r;
    if (v.kind == Value::kErr) return script_error(q, v.s, op);
    long long left = 0;
    if (!redis::as_int(v, &left)) return damaged(q, op);
    if (left <= 0) return MP_OK;
    if (deadline.expired())
      return fail(MP_ETIMEDOUT, "%s: %lld items are not done", op, left);
    redis::wait_notified(*q.notifier, seen, deadline.within(kPollMs));
  }
}

}  // namespace mp
