/* The non-template half of gvl.hpp: the per-thread cancel token, the
 * clock, and the functions rb_nogvl calls. */
#include <time.h>

#include "gvl.hpp"

/* One cancel token per Ruby thread (Ruby 3.1 threads are OS threads),
 * created on first use and freed when the thread ends. */
struct mp_rb_token {
  mp_cancel_t *tok = nullptr;
  ~mp_rb_token() { mp_cancel_free(tok); }
};
static thread_local mp_rb_token mp_rb_tls_token;

/* This thread's token, unfired. A fire can outlive the call it was meant
 * for (Ruby may call the unblock function just as the call returns), and
 * the token with it: Ruby 3.1 runs new Ruby threads on the cached OS
 * threads of ended ones, and a forked child keeps its parent's thread
 * state, so a stale fire would cancel the next wait at once. Clearing it
 * before each wait is safe: a real interrupt that comes before the unblock
 * function is set is seen by rb_nogvl's own check. */
mp_cancel_t *mp_rb_thread_token(void) {
  if (!mp_rb_tls_token.tok && mp_cancel_new(&mp_rb_tls_token.tok) < 0)
    rb_raise(rb_eNoMemError, "multiproc: no cancel token: %s", mp_last_error());
  if (mp_cancel_fired(mp_rb_tls_token.tok) == 1) mp_cancel_reset(mp_rb_tls_token.tok);
  return mp_rb_tls_token.tok;
}

int64_t mp_rb_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* For a call that makes several C calls under one timeout: the timeout
 * left of deadline (an mp_rb_now_ms() time; -1: none, *timeout is kept). */
void mp_rb_time_left(int64_t deadline, int64_t *timeout) {
  if (deadline < 0) return;
  int64_t left = deadline - mp_rb_now_ms();
  *timeout = left > 0 ? left : 0;
}

void *mp_rb_nogvl(void *p) {
  mp_rb_call *c = static_cast<mp_rb_call *>(p);
  mp_cancel_t *prev = mp_cancel_bind(c->token);
  c->invoke(c->action);
  mp_cancel_bind(prev);
  return nullptr;
}

/* Ruby's unblock function: runs on the interrupting thread, or, when the
 * main thread is Ruby's only thread, inside Ruby's signal handler on
 * whatever thread the signal landed (a pool's dispatcher, the library's
 * loop thread, a worker thread), which may hold a library lock at that
 * moment. mp_cancel_fire is async-signal-safe for that reason (an atomic
 * store, a futex wake, an eventfd write; no lock). */
void mp_rb_ubf(void *token) { mp_cancel_fire(static_cast<mp_cancel_t *>(token)); }
