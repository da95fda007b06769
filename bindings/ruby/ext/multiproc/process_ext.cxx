/* Processes: a forked child's parent-death signal, the sentinel, and
 * reads and communicate on a child's pipes. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "ext.hpp"

/* In a child forked by Ruby for a daemon Process: die (SIGKILL) when the
 * parent dies. Linux: PR_SET_PDEATHSIG, then a check that the parent did
 * not die before it was armed. Elsewhere MP_ENOTSUP. */
int mp_rb_die_with_parent(int parent_pid) {
#ifdef __linux__
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return MP_ESYS;
  if (getppid() != parent_pid) _exit(1);
  return MP_OK;
#else
  (void)parent_pid;
  return MP_ENOTSUP;
#endif
}

/* Process#sentinel of a C-backed child: the descriptor, or raises. */
int mp_rb_process_sentinel(mp_process_t *proc) {
  int fd = -1;
  int rc = mp_process_sentinel(&fd, proc);
  return rc < 0 ? rc : fd;
}

/* Read up to max bytes from a child's stdout or stderr pipe. */
int mp_rb_process_read(void **out, size_t *out_len, mp_process_t *proc, mp_stream_t stream,
                       size_t max, int64_t timeout_ms) {
  *out = max ? malloc(max) : NULL;
  if (!*out) return max ? MP_ENOMEM : MP_EINVAL;
  int rc = mp_process_read(out_len, proc, stream, *out, max, timeout_ms);
  if (rc < 0) {
    free(*out);
    *out = NULL;
    *out_len = 0;
  }
  return rc;
}

/* mp_process_communicate() as [rc, stdout, stderr], resumed after a
 * wake-up that raised nothing (a signal such as SIGCHLD makes Ruby call
 * the unblock function): the canceled call closed stdin and returned what
 * it had read, so the next round reads on with no input. */
VALUE mp_rb_communicate(mp_process_t *proc, VALUE input, int64_t timeout_ms) {
  if (!NIL_P(input)) {
    Check_Type(input, T_STRING);
    input = rb_str_new_frozen(input); /* its bytes stay while the GVL is released */
  }
  VALUE out = Qnil, err = Qnil;
  mp_cancel_t *token = mp_rb_thread_token();
  int64_t deadline = timeout_ms > 0 ? mp_rb_now_ms() + timeout_ms : -1;
  int rc;
  for (;;) {
    void *o = NULL, *e = NULL;
    size_t olen = 0, elen = 0;
    const void *in = NIL_P(input) ? NULL : RSTRING_PTR(input);
    size_t in_len = NIL_P(input) ? 0 : (size_t)RSTRING_LEN(input);
    auto action = [&]() {
      rc = mp_process_communicate(&o, &olen, &e, &elen, proc, in, in_len, timeout_ms);
    };
    rc = MP_ECANCELED;
    mp_rb_call call = {mp_rb_invoke<decltype(action)>, &action, token};
    rb_nogvl(mp_rb_nogvl, &call, mp_rb_ubf, token, RB_NOGVL_UBF_ASYNC_SAFE);
    RB_GC_GUARD(input);
    if (o) out = NIL_P(out) ? rb_str_new((const char *)o, (long)olen) : rb_str_cat(out, (const char *)o, (long)olen);
    if (e) err = NIL_P(err) ? rb_str_new((const char *)e, (long)elen) : rb_str_cat(err, (const char *)e, (long)elen);
    mp_free(o);
    mp_free(e);
    if (rc != MP_ECANCELED || mp_cancel_fired(token) != 1) break;
    mp_cancel_reset(token);
    rb_thread_check_ints(); /* raises if an interrupt is pending */
    input = Qnil;
    mp_rb_time_left(deadline, &timeout_ms);
  }
  return rb_ary_new_from_args(3, INT2NUM(rc), out, err);
}
