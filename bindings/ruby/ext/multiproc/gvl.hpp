/* Blocking calls of the Ruby extension without the GVL, woken by Ruby's
 * interrupts (Thread#kill, Thread#raise, Timeout, signal traps) through a
 * per-thread cancel token of the library. A header because the template
 * mp_rb_blocking wraps each blocking call: the SWIG wrapper's %exception
 * blocks (bindings/swig/ruby.i) and the fast paths of this directory. */
#ifndef MULTIPROC_RUBY_GVL_HPP
#define MULTIPROC_RUBY_GVL_HPP

#include <stdint.h>

#include <ruby.h>
#include <ruby/thread.h>

#include <multiproc.h>

/* Modes of mp_rb_blocking. */
enum {
  /* After a wake-up with no Ruby interrupt pending (e.g. a signal trap ran),
   * call again with the remaining time: only for calls where a canceled
   * call changed nothing (get, put, acquire, wait, join, ...). */
  MP_RB_RETRY = 1,
  /* First try with timeout 0 while holding the GVL (no thread switch when
   * the call would not block): only where timeout 0 is a harmless try. */
  MP_RB_TRY_FIRST = 2
};

/* One call handed to mp_rb_nogvl: the action and the token bound to it. */
struct mp_rb_call {
  void (*invoke)(void *);
  void *action;
  mp_cancel_t *token;
};

/* This thread's cancel token, unfired (created on first use). */
mp_cancel_t *mp_rb_thread_token(void);

/* Now on the monotonic clock, in milliseconds. */
int64_t mp_rb_now_ms(void);

/* For a call that makes several C calls under one timeout: the timeout
 * left of deadline (an mp_rb_now_ms() time; -1: none, *timeout is kept). */
void mp_rb_time_left(int64_t deadline, int64_t *timeout);

/* rb_nogvl's function: runs the call with its token bound. */
void *mp_rb_nogvl(void *call);

/* Ruby's unblock function: fires the token (async-signal-safe). */
void mp_rb_ubf(void *token);

template <class F> void mp_rb_invoke(void *action) { (*static_cast<F *>(action))(); }

/* Run action (which stores the C call's code in result) without the GVL.
 * timeout points at the call's timeout argument (NULL: the call has none).
 * A wake-up by Ruby (the token fired) ends in rb_thread_check_ints(), which
 * raises (Thread#kill, Thread#raise, Timeout); if nothing was pending the
 * call is retried with the remaining time (MP_RB_RETRY) or reports
 * MP_ECANCELED. */
template <class F>
void mp_rb_blocking(int &result, int64_t *timeout, int mode, F &&action) {
  if (timeout && *timeout == 0) { /* a try never blocks: keep the GVL */
    action();
    return;
  }
  if ((mode & MP_RB_TRY_FIRST) && timeout) {
    int64_t want = *timeout;
    *timeout = 0;
    action();
    *timeout = want;
    if (result != MP_EEMPTY && result != MP_EFULL && result != MP_ETIMEDOUT) return;
  }
  mp_cancel_t *token = mp_rb_thread_token();
  int64_t deadline = (timeout && *timeout > 0) ? mp_rb_now_ms() + *timeout : -1;
  for (;;) {
    mp_rb_call call = {mp_rb_invoke<F>, &action, token};
    result = MP_ECANCELED; /* if Ruby raises before the call runs */
    /* Firing a token is async-signal-safe, for every call: saying so
     * spares the main thread an unblock thread that Ruby would start per
     * call. (Ruby 3.1 may call the unblock function from a signal handler
     * even when a call did not say so: the handler reads the VM's "async
     * safe" flag, set by an earlier call, and the unblock function of the
     * current call separately.) */
    rb_nogvl(mp_rb_nogvl, &call, mp_rb_ubf, token, RB_NOGVL_UBF_ASYNC_SAFE);
    if (result != MP_ECANCELED || mp_cancel_fired(token) != 1) return;
    mp_cancel_reset(token);
    rb_thread_check_ints(); /* raises if an interrupt is pending */
    if (!(mode & MP_RB_RETRY)) return;
    if (deadline >= 0) {
      int64_t left = deadline - mp_rb_now_ms();
      if (left <= 0) { /* a retry now would be a try: EEMPTY/EFULL, not the truth */
        result = MP_ETIMEDOUT;
        return;
      }
      *timeout = left;
    }
  }
}

#endif
