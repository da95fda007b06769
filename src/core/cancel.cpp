#include "core/cancel.hpp"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "core/futex.hpp"

namespace mp {
namespace {

// initial-exec: read on every Deadline, so no __tls_get_addr call.
__attribute__((tls_model("initial-exec"))) thread_local mp_cancel *t_bound = nullptr;

// Notify the registered condition variable under its own mutex. The waiter
// takes its mutex before the token's (registration), fire takes the token's
// first: try_lock and back off instead of waiting, so neither order can
// deadlock; the waiter releases its mutex inside wait() soon enough.
void notify_registered(mp_cancel *c) {
  for (;;) {
    {
      std::lock_guard<std::mutex> g(c->mu);
      if (!c->cv) return;
      if (c->cv_mutex->try_lock()) {
        c->cv->notify_all();
        c->cv_mutex->unlock();
        return;
      }
    }
    sched_yield();
  }
}

}  // namespace

mp_cancel *bound_cancel() { return t_bound; }

mp_cancel *bind_cancel(mp_cancel *c) {
  mp_cancel *prev = t_bound;
  t_bound = c;
  return prev;
}

void fire_cancel(mp_cancel *c) {
  c->fired.store(1, std::memory_order_release);
  futex_wake(&c->fired, -1);
  uint64_t one = 1;
  ssize_t n;
  do {
    n = write(c->efd, &one, sizeof one);
  } while (n < 0 && errno == EINTR);  // EAGAIN: the counter is already set
  notify_registered(c);
}

void reset_cancel(mp_cancel *c) {
  uint64_t v;
  while (read(c->efd, &v, sizeof v) < 0 && errno == EINTR) {
  }
  c->fired.store(0, std::memory_order_release);
}

CancelCvScope::CancelCvScope(mp_cancel *c, std::mutex *cv_mutex, std::condition_variable *cv)
    : c_(c) {
  if (!c_) return;
  std::lock_guard<std::mutex> g(c_->mu);
  c_->cv_mutex = cv_mutex;
  c_->cv = cv;
}

CancelCvScope::~CancelCvScope() {
  if (!c_) return;
  std::lock_guard<std::mutex> g(c_->mu);
  c_->cv_mutex = nullptr;
  c_->cv = nullptr;
}

}  // namespace mp
