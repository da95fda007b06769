#include "core/owner_lock.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/futex.hpp"
#include "core/spin.hpp"
#include "multiproc.h"

namespace mp {
namespace {

constexpr uint64_t kSpinNs = 4000;

// Field 22 of /proc/<pid>/stat: the start time in clock ticks; 0 if the
// process does not exist. *zombie: it has exited (state Z or X) and waits
// to be reaped, which kill(pid, 0) does not tell.
uint64_t start_time(int pid, bool *zombie = nullptr) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');  // the name may hold spaces and ')'
  if (!p) return 0;
  unsigned long long ticks = 0;
  char state = 0;
  // After ")": state(3) ... starttime is the 20th field after the name.
  if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
             &state, &ticks) != 2)
    return 0;
  if (zombie) *zombie = state == 'Z' || state == 'X';
  return ticks;
}

uint64_t make_token(int pid, uint64_t ticks) {
  return (uint64_t(uint32_t(ticks)) << 32) | uint32_t(pid);
}

}  // namespace

bool process_alive(uint64_t token) {
  int pid = int(uint32_t(token));
  // No process has a pid <= 0 (a corrupted word): kill() would ask about a
  // process group instead and find it alive, and the lock would never free.
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  bool zombie = false;
  uint64_t ticks = start_time(pid, &zombie);
  if (zombie) return false;
  return ticks == 0 || make_token(pid, ticks) == token;  // no /proc: trust kill()
}

namespace {

// Spin briefly on the lock word first: holders of the queue's locks never
// block, so the lock is usually free again within a few hundred cycles.
// Capped by time (core/spin.hpp): a holder that does not release within
// kSpinNs was most likely preempted, and spinning through its absence
// only takes the CPU it needs to finish; sleep then.
bool try_spinning(OwnerLock &l, uint64_t me) {
  return spin_for(kSpinNs, [&] {
    uint64_t cur = l.owner.load(std::memory_order_relaxed);
    return cur == 0 && l.owner.compare_exchange_weak(cur, me, std::memory_order_acquire);
  });
}

}  // namespace

// The wake half of a release: if seq is armed, clear it and wake one.
void detail::owner_lock_release_wake(OwnerLock &l) {
  uint32_t v = l.seq.load(std::memory_order_seq_cst);
  while (v & 1) {
    if (l.seq.compare_exchange_weak(v, v + 1, std::memory_order_seq_cst)) {
      futex_wake(&l.seq, 1);
      return;
    }
  }
}

namespace {

void forget_token_after_fork() { detail::g_token.store(0, std::memory_order_relaxed); }
const int g_token_atfork = pthread_atfork(nullptr, nullptr, forget_token_after_fork);

}  // namespace

// Computed once per process (getpid() is a system call: not on every lock);
// a forked child computes its own.
std::atomic<uint64_t> detail::g_token{0};

uint64_t detail::compute_token() {
  int pid = int(getpid());
  uint64_t t = make_token(pid, start_time(pid));
  g_token.store(t, std::memory_order_relaxed);
  return t;
}

namespace {

// A waiter leaving with other sleepers behind arms seq for them: the
// release that woke it woke only it, so the next release must see the bit.
// If the lock is free already, wake one now (we leave without taking it).
void pass_on(OwnerLock &l) {
  if (l.waiters.load(std::memory_order_seq_cst) == 0) return;
  l.seq.fetch_or(1, std::memory_order_seq_cst);
  if (l.owner.load(std::memory_order_seq_cst) == 0) detail::owner_lock_release_wake(l);
}

}  // namespace

int detail::owner_lock_acquire_busy(OwnerLock &l, const Deadline &deadline, int64_t check_ms,
                                    uint64_t me) {
  if (try_spinning(l, me)) return MP_OK;
  // A dead owner never releases, so its waiters' slices end without a
  // wake: check then, not after every release (a kill() and a /proc read).
  bool check = true;
  for (;;) {
    uint64_t cur = 0;
    if (l.owner.compare_exchange_strong(cur, me, std::memory_order_acq_rel)) return MP_OK;
    if (check && cur != me && !process_alive(cur) &&
        l.owner.compare_exchange_strong(cur, me, std::memory_order_acq_rel))
      return MP_EOWNERDEAD;
    if (deadline.expired()) {
      pass_on(l);
      return MP_ETIMEDOUT;
    }
    // Count ourselves, then arm seq (its low bit: a sleeper wants a wake)
    // and re-check: the release stores owner, then reads waiters and seq,
    // all seq_cst, so it sees the armed bit or we see the free lock.
    l.waiters.fetch_add(1, std::memory_order_seq_cst);
    uint32_t seen = l.seq.fetch_or(1, std::memory_order_seq_cst) | 1;
    check = true;
    if (l.owner.load(std::memory_order_seq_cst) != 0)
      check = futex_wait(&l.seq, seen, deadline.within(check_ms)) == MP_ETIMEDOUT;
    l.waiters.fetch_sub(1, std::memory_order_seq_cst);
    // Woken alone (or at the end of a slice): arm for those still asleep,
    // so that our own release, or the next one, wakes one of them.
    if (l.waiters.load(std::memory_order_seq_cst)) l.seq.fetch_or(1, std::memory_order_seq_cst);
  }
}

}  // namespace mp
