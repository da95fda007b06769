// Public entry points: mp_lock_*, mp_sem_*, mp_event_*, mp_cond_*,
// mp_barrier_*.
#include <climits>

#include "capi/object_api.hpp"
#include "redis/lock.hpp"

using namespace mp;

#define MP_CHECK_HANDLE(h, op) MP_CHECK_ARG(valid_handle(h), op, "NULL or not a live handle")
namespace {
// A lock handle: in shared memory, or on a redis server (no shared word).
bool valid_lock(const mp_lock *l) {
  return l && l->magic == mp_lock::kMagic && (l->shared || l->remote);
}
}  // namespace
#define MP_CHECK_LOCK(h, op) MP_CHECK_ARG(valid_lock(h), op, "NULL or not a live handle")
#define MP_CHECK_TIMEOUT(t, op) \
  MP_CHECK_ARG(timeout_valid(t), op, "timeout must be MP_FOREVER or >= 0")

extern "C" {

// ---- locks ------------------------------------------------------------------

MP_EXTERN int mp_lock_new(mp_lock_t **out, int flags) {
  const char *op = "mp_lock_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(flags == 0 || flags == MP_LOCK_RECURSIVE, op, "unknown flags");
  return guarded(op, [&] {
    return new_object(out, ObjectKind::kLock, 0, [&](mp_lock &h) {
      lock_init(h.shared->word, flags == MP_LOCK_RECURSIVE);
      return int(MP_OK);
    });
  });
}

MP_EXTERN int mp_lock_from_fd(mp_lock_t **out, int fd) {
  return object_from_fd(out, fd, ObjectKind::kLock, "mp_lock_from_fd");
}

MP_EXTERN int mp_lock_fileno(mp_lock_t *lock) {
  MP_CHECK_LOCK(lock, "mp_lock_fileno");
  if (lock->remote)
    return fail(MP_ENOTSUP, "mp_lock_fileno: a lock on a redis server has no descriptor");
  return object_fileno(lock, "mp_lock_fileno");
}

MP_EXTERN void mp_lock_free(mp_lock_t *lock) {
  if (!valid_lock(lock)) return;
  if (lock->remote) {
    remote_lock_free(lock->remote);
    lock->remote = nullptr;
    lock->magic = 0;
    delete lock;
    return;
  }
  object_free(lock);
}

MP_EXTERN int mp_lock_acquire(mp_lock_t *lock, int64_t timeout_ms) {
  const char *op = "mp_lock_acquire";
  MP_CHECK_LOCK(lock, op);
  MP_CHECK_TIMEOUT(timeout_ms, op);
  if (lock->remote)
    return guarded(op, [&] { return remote_lock_acquire(*lock->remote, Deadline(timeout_ms), op); });
  return report_cancel(op, lock_acquire(lock->shared->word, Deadline(timeout_ms)));
}

MP_EXTERN int mp_lock_release(mp_lock_t *lock) {
  MP_CHECK_LOCK(lock, "mp_lock_release");
  if (lock->remote)
    return guarded("mp_lock_release",
                   [&] { return remote_lock_release(*lock->remote, "mp_lock_release"); });
  return lock_release(lock->shared->word);
}

MP_EXTERN int mp_lock_locked(mp_lock_t *lock) {
  MP_CHECK_LOCK(lock, "mp_lock_locked");
  if (lock->remote)
    return guarded("mp_lock_locked",
                   [&] { return remote_lock_locked(*lock->remote, "mp_lock_locked"); });
  return lock_is_locked(lock->shared->word) ? 1 : 0;
}

MP_EXTERN int mp_lock_fence(uint64_t *out, mp_lock_t *lock) {
  const char *op = "mp_lock_fence";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = 0;
  MP_CHECK_LOCK(lock, op);
  if (!lock->remote)
    return fail(MP_ENOTSUP, "%s: a local lock has no fencing token (its holder cannot be cut "
                "off: it holds until it releases or dies)", op);
  return remote_lock_fence(*lock->remote, out, op);
}

// ---- semaphores ---------------------------------------------------------------

MP_EXTERN int mp_sem_new(mp_sem_t **out, unsigned value, unsigned max) {
  const char *op = "mp_sem_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(value <= unsigned(INT32_MAX) && max <= unsigned(INT32_MAX), op,
               "value and max must be <= INT32_MAX");
  MP_CHECK_ARG(max == 0 || value <= max, op, "value is above max");
  return guarded(op, [&] {
    return new_object(out, ObjectKind::kSemaphore, 0, [&](mp_sem &h) {
      h.shared->value.store(value);
      h.shared->max = max;
      return int(MP_OK);
    });
  });
}

MP_EXTERN int mp_sem_from_fd(mp_sem_t **out, int fd) {
  return object_from_fd(out, fd, ObjectKind::kSemaphore, "mp_sem_from_fd");
}

MP_EXTERN int mp_sem_fileno(mp_sem_t *sem) { return object_fileno(sem, "mp_sem_fileno"); }

MP_EXTERN void mp_sem_free(mp_sem_t *sem) { object_free(sem); }

MP_EXTERN int mp_sem_acquire(mp_sem_t *sem, int64_t timeout_ms) {
  MP_CHECK_HANDLE(sem, "mp_sem_acquire");
  MP_CHECK_TIMEOUT(timeout_ms, "mp_sem_acquire");
  return report_cancel("mp_sem_acquire", sem_acquire(*sem->shared, Deadline(timeout_ms)));
}

MP_EXTERN int mp_sem_release(mp_sem_t *sem) {
  MP_CHECK_HANDLE(sem, "mp_sem_release");
  return sem_release(*sem->shared);
}

MP_EXTERN int mp_sem_value(mp_sem_t *sem) {
  MP_CHECK_HANDLE(sem, "mp_sem_value");
  return int(sem->shared->value.load());
}

// ---- events -------------------------------------------------------------------

MP_EXTERN int mp_event_new(mp_event_t **out) {
  const char *op = "mp_event_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  return guarded(op, [&] {
    return new_object(out, ObjectKind::kEvent, 0, [](mp_event &) { return int(MP_OK); });
  });
}

MP_EXTERN int mp_event_from_fd(mp_event_t **out, int fd) {
  return object_from_fd(out, fd, ObjectKind::kEvent, "mp_event_from_fd");
}

MP_EXTERN int mp_event_fileno(mp_event_t *event) { return object_fileno(event, "mp_event_fileno"); }

MP_EXTERN void mp_event_free(mp_event_t *event) { object_free(event); }

MP_EXTERN int mp_event_set(mp_event_t *event) {
  MP_CHECK_HANDLE(event, "mp_event_set");
  return event_set(*event->shared);
}

MP_EXTERN int mp_event_clear(mp_event_t *event) {
  MP_CHECK_HANDLE(event, "mp_event_clear");
  event->shared->flag.store(0);
  return MP_OK;
}

MP_EXTERN int mp_event_is_set(mp_event_t *event) {
  MP_CHECK_HANDLE(event, "mp_event_is_set");
  return event->shared->flag.load() ? 1 : 0;
}

MP_EXTERN int mp_event_wait(mp_event_t *event, int64_t timeout_ms) {
  MP_CHECK_HANDLE(event, "mp_event_wait");
  MP_CHECK_TIMEOUT(timeout_ms, "mp_event_wait");
  return report_cancel("mp_event_wait", event_wait(*event->shared, Deadline(timeout_ms)));
}

// ---- conditions -----------------------------------------------------------------

MP_EXTERN int mp_cond_new(mp_cond_t **out, mp_lock_t *lock) {
  const char *op = "mp_cond_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_LOCAL_LOCK(lock, op);
  MP_CHECK_HANDLE(lock, op);
  return guarded(op, [&] {
    return new_object(out, ObjectKind::kCondition, 0, [&](mp_cond &h) {
      h.lock = lock;
      return int(MP_OK);
    });
  });
}

MP_EXTERN int mp_cond_from_fd(mp_cond_t **out, int fd, mp_lock_t *lock) {
  const char *op = "mp_cond_from_fd";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_LOCAL_LOCK(lock, op);
  MP_CHECK_HANDLE(lock, op);
  int r = object_from_fd(out, fd, ObjectKind::kCondition, op);
  if (r == MP_OK) (*out)->lock = lock;
  return r;
}

MP_EXTERN int mp_cond_fileno(mp_cond_t *cond) { return object_fileno(cond, "mp_cond_fileno"); }

MP_EXTERN void mp_cond_free(mp_cond_t *cond) { object_free(cond); }

MP_EXTERN int mp_cond_wait(mp_cond_t *cond, int64_t timeout_ms) {
  MP_CHECK_HANDLE(cond, "mp_cond_wait");
  MP_CHECK_TIMEOUT(timeout_ms, "mp_cond_wait");
  MP_CHECK_HANDLE(cond->lock, "mp_cond_wait");
  return report_cancel("mp_cond_wait",
                       cond_wait(*cond->shared, cond->lock->shared->word, Deadline(timeout_ms)));
}

MP_EXTERN int mp_cond_wait_for(mp_cond_t *cond, mp_cond_pred_fn pred, void *payload,
                               int64_t timeout_ms) {
  const char *op = "mp_cond_wait_for";
  MP_CHECK_HANDLE(cond, op);
  MP_CHECK_ARG(pred, op, "pred is NULL");
  MP_CHECK_TIMEOUT(timeout_ms, op);
  MP_CHECK_HANDLE(cond->lock, op);
  LockWord &word = cond->lock->shared->word;
  if (!lock_held_by_me(word)) return fail(MP_ESTATE, "%s: this thread does not hold the lock", op);
  Deadline deadline(timeout_ms);  // one deadline for every wait: the timeout is the call's
  for (;;) {
    if (pred(payload)) return MP_OK;
    if (deadline.expired())
      return report_cancel(op, fail(MP_ETIMEDOUT, "%s: the predicate is still false", op));
    int r = cond_wait(*cond->shared, word, deadline);
    if (r != MP_OK && r != MP_ETIMEDOUT) return report_cancel(op, r);
  }
}

MP_EXTERN int mp_cond_notify(mp_cond_t *cond, int n) {
  MP_CHECK_HANDLE(cond, "mp_cond_notify");
  MP_CHECK_ARG(n >= 1, "mp_cond_notify", "n must be >= 1");
  MP_CHECK_HANDLE(cond->lock, "mp_cond_notify");
  return cond_notify(*cond->shared, cond->lock->shared->word, n);
}

MP_EXTERN int mp_cond_notify_all(mp_cond_t *cond) {
  MP_CHECK_HANDLE(cond, "mp_cond_notify_all");
  MP_CHECK_HANDLE(cond->lock, "mp_cond_notify_all");
  return cond_notify(*cond->shared, cond->lock->shared->word, INT_MAX);
}

// ---- barriers -------------------------------------------------------------------

namespace {

int new_barrier(const char *op, mp_barrier_t **out, unsigned parties,
                mp_barrier_action_fn action, void *payload, int64_t timeout_ms) {
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(parties >= 1 && parties <= unsigned(INT32_MAX), op, "parties must be >= 1");
  MP_CHECK_TIMEOUT(timeout_ms, op);
  return guarded(op, [&] {
    return new_object(out, ObjectKind::kBarrier, 0, [&](mp_barrier &h) {
      lock_init(h.shared->guard, false);
      h.shared->parties = parties;
      h.shared->has_default_timeout = timeout_ms != MP_FOREVER;
      h.shared->default_timeout_ms = timeout_ms;
      h.shared->has_action = action != nullptr;
      h.action = BarrierAction{action, payload};
      return int(MP_OK);
    });
  });
}

}  // namespace

MP_EXTERN int mp_barrier_new(mp_barrier_t **out, unsigned parties) {
  return new_barrier("mp_barrier_new", out, parties, nullptr, nullptr, MP_FOREVER);
}

MP_EXTERN int mp_barrier_new2(mp_barrier_t **out, unsigned parties, mp_barrier_action_fn action,
                              void *payload, int64_t timeout_ms) {
  return new_barrier("mp_barrier_new2", out, parties, action, payload, timeout_ms);
}

MP_EXTERN int mp_barrier_set_action(mp_barrier_t *barrier, mp_barrier_action_fn action,
                                    void *payload) {
  MP_CHECK_HANDLE(barrier, "mp_barrier_set_action");
  MP_CHECK_ARG(action, "mp_barrier_set_action", "action is NULL");
  barrier->action = BarrierAction{action, payload};
  __atomic_store_n(&barrier->shared->has_action, 1u, __ATOMIC_SEQ_CST);  // for every process
  return MP_OK;
}

MP_EXTERN int mp_barrier_from_fd(mp_barrier_t **out, int fd) {
  return object_from_fd(out, fd, ObjectKind::kBarrier, "mp_barrier_from_fd");
}

MP_EXTERN int mp_barrier_fileno(mp_barrier_t *barrier) { return object_fileno(barrier, "mp_barrier_fileno"); }

MP_EXTERN void mp_barrier_free(mp_barrier_t *barrier) { object_free(barrier); }

MP_EXTERN int mp_barrier_wait(mp_barrier_t *barrier, int64_t timeout_ms) {
  MP_CHECK_HANDLE(barrier, "mp_barrier_wait");
  MP_CHECK_TIMEOUT(timeout_ms, "mp_barrier_wait");
  const BarrierShared &b = *barrier->shared;
  // As Python: no timeout given (MP_FOREVER is its None) means the barrier's.
  if (timeout_ms == MP_FOREVER && b.has_default_timeout) timeout_ms = b.default_timeout_ms;
  return report_cancel("mp_barrier_wait", barrier_wait(*barrier->shared, barrier->segment.fd(),
                                                       Deadline(timeout_ms), barrier->action));
}

MP_EXTERN int mp_barrier_abort(mp_barrier_t *barrier) {
  MP_CHECK_HANDLE(barrier, "mp_barrier_abort");
  barrier_forget(barrier->segment.fd());  // a canceled wait of this thread gives up too
  barrier_abort(*barrier->shared);
  return MP_OK;
}

MP_EXTERN int mp_barrier_reset(mp_barrier_t *barrier) {
  MP_CHECK_HANDLE(barrier, "mp_barrier_reset");
  barrier_forget(barrier->segment.fd());
  barrier_reset(*barrier->shared);
  return MP_OK;
}

MP_EXTERN int mp_barrier_parties(mp_barrier_t *barrier) {
  MP_CHECK_HANDLE(barrier, "mp_barrier_parties");
  return int(barrier->shared->parties);
}

MP_EXTERN int mp_barrier_n_waiting(mp_barrier_t *barrier) {
  MP_CHECK_HANDLE(barrier, "mp_barrier_n_waiting");
  return int(barrier->shared->count.load(std::memory_order_relaxed));
}

MP_EXTERN int mp_barrier_broken(mp_barrier_t *barrier) {
  MP_CHECK_HANDLE(barrier, "mp_barrier_broken");
  return barrier->shared->broken.load() ? 1 : 0;
}

}  // extern "C"
