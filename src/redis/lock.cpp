// The lock calls on a redis server (lock.hpp): each try is one script run
// (object_scripts.hpp); a waiting acquire sleeps on the lock's channel.
#include "redis/lock.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "core/error.hpp"
#include "redis/object_scripts.hpp"
#include "redis/queue.hpp"
#include "sync/handles.hpp"

namespace mp {

using redis::Value;

namespace {

constexpr int64_t kPollMs = 1000;     // a waiting acquire asks again at least this often
constexpr int64_t kMinTripMs = 2000;  // the least an acquire's round trip waits
constexpr int64_t kUndoMs = 2000;     // releasing a hold whose acquire reply was lost

pid_t this_thread() { return pid_t(syscall(SYS_gettid)); }

// The holder names of this process: this + ":" + thread id, the same for
// every handle, so that a thread holding the lock through one handle is
// told so when it acquires through another (as locally). A forked child
// gets its own.
std::string process_base() {
  static std::mutex mu;
  static pid_t pid = 0;
  static std::string *base = new std::string();  // never freed: used until exit
  std::lock_guard<std::mutex> lock(mu);
  if (pid != getpid()) {
    pid = getpid();
    *base = redis::unique_name();
  }
  return *base;
}

// MP_ESTATE (no timeout: it would wait for itself for ever) or
// MP_ETIMEDOUT, for an acquire by the thread that holds the lock.
int held_by_me(const Deadline &deadline, const char *op) {
  if (deadline.forever()) return fail(MP_ESTATE, "%s: this thread already holds the lock", op);
  return fail(MP_ETIMEDOUT, "%s: the lock is held (by this thread)", op);
}

std::string alive_key(const RemoteLock &l, const std::string &holder) {
  return l.o.prefix + ":alive:" + holder;
}

// The budget of an acquire's round trip: the caller's time left, at least
// kMinTripMs, at most kReplyCapMs, and no cancel token: a canceled
// acquire must not leave a hold it does not know about, so it ends after
// its reply (or acquires nothing).
Deadline trip(const Deadline &d) {
  int64_t left = d.remaining_ms();
  if (left == MP_FOREVER || left > redis::kReplyCapMs) left = redis::kReplyCapMs;
  return Deadline::uncancelable(std::max(left, kMinTripMs));
}

// Release holder's hold (if it has one); the reply is not needed.
int send_release(RemoteLock &l, const std::string &holder, const Deadline &d, Value *v,
                 const char *op) {
  return redis::eval(v, l.o, redis::script::kLockRelease, {l.state}, {l.o.prefix, holder}, d, op);
}

// A try: MP_OK (taken: *how "ok" or "dead", *fence), or *how "busy" with
// *wait_ms the holder's lease left.
int try_take(RemoteLock &l, const std::string &me, const Deadline &deadline, std::string *how,
             long long *num, const char *op) {
  Value v;
  int r = redis::eval(&v, l.o, redis::script::kLockAcquire, {l.state},
                      {l.o.prefix, me, std::to_string(l.lease_ms)}, trip(deadline), op);
  if (r == MP_ETIMEDOUT || r == MP_EPIPE) {  // it may have taken the lock: give it back
    std::string saved = last_error_message();
    Value ignored;
    send_release(l, me, Deadline::uncancelable(kUndoMs), &ignored, op);
    fail(r, "%s", saved.c_str());
  }
  if (r != MP_OK) return r;
  if (v.kind != Value::kArr || v.a.size() != 2 || v.a[0].kind != Value::kStr ||
      !redis::as_int(v.a[1], num) || *num < 0)
    return redis::damaged(l.o, "{state, number}", op);
  *how = v.a[0].s;
  if (*how != "ok" && *how != "dead" && *how != "busy" && *how != "mine")
    return redis::damaged(l.o, "ok, dead, busy or mine", op);
  return MP_OK;
}

}  // namespace

int remote_lock_open(mp_lock **out, const Address &a, const Deadline &deadline, const char *op) {
  std::unique_ptr<RemoteLock> l(new RemoteLock());
  redis::init_object(l->o, a, "lock");
  l->state = l->o.prefix + ":state";
  l->channel = l->o.prefix + ":notify";
  l->lease_ms = redis_lease_ms();
  Value v;
  int r = redis::eval(&v, l->o, redis::script::kLockOpen, {l->state}, {}, deadline, op);
  if (r != MP_OK) return r;
  redis::watch(l->o.ep, l->channel, l->notifier);
  auto *ml = new mp_lock();
  ml->remote = l.release();
  *out = ml;
  redis::warn_if_evicts(ml->remote->o.ep, ml->remote->o.kind, deadline, op);
  return MP_OK;
}

void remote_lock_free(RemoteLock *l) {
  if (l->tid) redis::stop_keep_alive(l->o.ep, alive_key(*l, l->holder));
  redis::unwatch(l->o.ep, l->channel, l->notifier);
  delete l;
}

int remote_lock_acquire(RemoteLock &l, const Deadline &deadline, const char *op) {
  pid_t tid = this_thread();
  {
    std::lock_guard<std::mutex> lock(l.mu);
    if (l.tid == tid) return held_by_me(deadline, op);
  }
  std::string me = process_base() + ":" + std::to_string(tid);
  for (;;) {
    uint32_t seen = redis::notified_seq(*l.notifier);
    std::string how;
    long long num = 0;
    int r = try_take(l, me, deadline, &how, &num, op);
    if (r != MP_OK) return r;
    if (how == "mine") return held_by_me(deadline, op);
    if (how != "busy") {
      std::string was;  // another thread of this handle whose lease expired
      {
        std::lock_guard<std::mutex> lock(l.mu);
        if (l.tid) was = l.holder;
        l.tid = tid;
        l.holder = me;
        l.fence = uint64_t(num);
      }
      if (!was.empty()) redis::stop_keep_alive(l.o.ep, alive_key(l, was));
      redis::keep_alive(l.o.ep, alive_key(l, me), l.lease_ms);
      if (how == "dead")
        return fail(MP_EOWNERDEAD, "%s: the previous holder died or lost its lease holding the "
                    "lock", op);
      return MP_OK;
    }
    if (deadline.expired()) return fail(MP_ETIMEDOUT, "%s: timed out (the lock is held)", op);
    redis::wait_notified(*l.notifier, seen, deadline.within(std::min<int64_t>(num + 1, kPollMs)));
  }
}

int remote_lock_release(RemoteLock &l, const char *op) {
  pid_t tid = this_thread();
  std::string me;
  {
    std::lock_guard<std::mutex> lock(l.mu);
    if (l.tid != tid) return fail(MP_ESTATE, "%s: this thread does not hold the lock", op);
    me = l.holder;
    l.tid = 0;  // whatever the outcome: no longer refreshed, so the lease ends
    l.holder.clear();
    l.fence = 0;
  }
  redis::stop_keep_alive(l.o.ep, alive_key(l, me));
  Value v;
  int r = send_release(l, me, Deadline(redis::kReplyCapMs), &v, op);
  if (r != MP_OK) return r;
  if (v.kind == Value::kStr && v.s == "ok") return MP_OK;
  if (v.kind == Value::kStr && v.s == "lost")
    return fail(MP_ESTATE, "%s: this thread's lease had expired and another holder took the "
                "lock over", op);
  if (v.kind == Value::kStr && v.s == "gone")
    return fail(MP_ESTATE, "%s: the lock's state is gone from %s (deleted or evicted)", op,
                l.o.ep.text.c_str());
  return redis::damaged(l.o, "ok, lost or gone", op);
}

int remote_lock_locked(RemoteLock &l, const char *op) {
  Value v;
  int r = redis::call(&v, l.o, {"HGET", l.state, "holder"}, Deadline(redis::kReplyCapMs), op);
  if (r != MP_OK) return r;
  if (v.kind == Value::kNil) return 0;
  if (v.kind != Value::kStr) return redis::damaged(l.o, "a holder name", op);
  return v.s.empty() ? 0 : 1;
}

int remote_lock_fence(RemoteLock &l, uint64_t *out, const char *op) {
  std::lock_guard<std::mutex> lock(l.mu);
  if (l.tid != this_thread()) return fail(MP_ESTATE, "%s: this thread does not hold the lock", op);
  *out = l.fence;
  return MP_OK;
}

}  // namespace mp
