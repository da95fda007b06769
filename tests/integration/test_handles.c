/* Handles of every synchronisation kind (lock, sem, event, cond, barrier,
 * shm, value): from_fd of a descriptor of another kind, of bad descriptors
 * and of foreign layouts; NULL, foreign and freed handles given to every
 * function; every kind passed to a child with both start methods; creating
 * and freeing many objects leaks no descriptor and no /dev/shm name.
 * Helpers: tests/common/synctest.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "synctest.h"

/* ------------------------------------------------------------------------
 * Targets
 * ---------------------------------------------------------------------- */

/* fds: lock, sem, event, cond (bound to the lock), barrier (2 parties),
 * shm, value: use each one once from the child. */
static int ts_all_kinds(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_lock_t *l = child_lock(0);
  mp_sem_t *sem = child_sem(1);
  mp_event_t *e = child_event(2);
  mp_cond_t *c = l ? child_cond(3, l) : NULL;
  mp_barrier_t *b = child_barrier(4);
  mp_shm_t *s = child_shm(5);
  mp_value_t *v = child_value(6);
  CK(l && sem && e && c && b && s && v);
  char *p = mp_shm_data(s);
  CK(mp_value_set_i64(v, 0, 42) == MP_OK);
  memcpy(p, "hello from the child", 21);
  CK(mp_sem_release(sem) == MP_OK);
  CK(mp_event_set(e) == MP_OK);
  CK(mp_lock_acquire(l, 20000) == MP_OK);
  p[100] = 1;
  CK(mp_cond_notify_all(c) == MP_OK);
  CK(mp_lock_release(l) == MP_OK);
  int idx = mp_barrier_wait(b, 20000);
  CK(idx == 0 || idx == 1);
  mp_value_free(v);
  mp_shm_free(s);
  mp_barrier_free(b);
  mp_cond_free(c);
  mp_event_free(e);
  mp_sem_free(sem);
  mp_lock_free(l);
  return 0;
}

static const sync_target_t k_targets[] = {
    {"ts_all_kinds", ts_all_kinds},
};

/* ------------------------------------------------------------------------
 * Handles
 * ---------------------------------------------------------------------- */

enum { K_LOCK, K_SEM, K_EVENT, K_COND, K_BARRIER, K_SHM, K_VALUE, K_COUNT };
static const char *const k_kind_names[K_COUNT] = {"lock", "sem",  "event", "cond",
                                                   "barrier", "shm", "value"};

/* One live object of each kind (the condition bound to objs[K_LOCK]). */
static void kinds_new(void *objs[K_COUNT]) {
  MP_ASSERT_OK(mp_lock_new((mp_lock_t **)&objs[K_LOCK], 0));
  MP_ASSERT_OK(mp_sem_new((mp_sem_t **)&objs[K_SEM], 1, 0));
  MP_ASSERT_OK(mp_event_new((mp_event_t **)&objs[K_EVENT]));
  MP_ASSERT_OK(mp_cond_new((mp_cond_t **)&objs[K_COND], objs[K_LOCK]));
  MP_ASSERT_OK(mp_barrier_new((mp_barrier_t **)&objs[K_BARRIER], 2));
  MP_ASSERT_OK(mp_shm_new((mp_shm_t **)&objs[K_SHM], 100));
  MP_ASSERT_OK(mp_value_new((mp_value_t **)&objs[K_VALUE], MP_TYPE_INT64, 1, 0));
}

static void kind_free(int kind, void *h) {
  switch (kind) {
    case K_LOCK: mp_lock_free(h); break;
    case K_SEM: mp_sem_free(h); break;
    case K_EVENT: mp_event_free(h); break;
    case K_COND: mp_cond_free(h); break;
    case K_BARRIER: mp_barrier_free(h); break;
    case K_SHM: mp_shm_free(h); break;
    case K_VALUE: mp_value_free(h); break;
  }
}

static void kinds_free(void *objs[K_COUNT]) {
  for (int k = K_COUNT - 1; k >= 0; --k) kind_free(k, objs[k]);
}

static int kind_fileno(int kind, void *h) {
  switch (kind) {
    case K_LOCK: return mp_lock_fileno(h);
    case K_SEM: return mp_sem_fileno(h);
    case K_EVENT: return mp_event_fileno(h);
    case K_COND: return mp_cond_fileno(h);
    case K_BARRIER: return mp_barrier_fileno(h);
    case K_SHM: return mp_shm_fileno(h);
    case K_VALUE: return mp_value_fileno(h);
  }
  return MP_EINVAL;
}

static int kind_from_fd(int kind, void **out, int fd, mp_lock_t *lock) {
  switch (kind) {
    case K_LOCK: return mp_lock_from_fd((mp_lock_t **)out, fd);
    case K_SEM: return mp_sem_from_fd((mp_sem_t **)out, fd);
    case K_EVENT: return mp_event_from_fd((mp_event_t **)out, fd);
    case K_COND: return mp_cond_from_fd((mp_cond_t **)out, fd, lock);
    case K_BARRIER: return mp_barrier_from_fd((mp_barrier_t **)out, fd);
    case K_SHM: return mp_shm_from_fd((mp_shm_t **)out, fd);
    case K_VALUE: return mp_value_from_fd((mp_value_t **)out, fd);
  }
  return MP_EINVAL;
}

/* A descriptor of one kind given to every other kind's from_fd: MP_EINVAL
 * and no handle; the own kind opens it. */
static void test_sync_handles_from_fd_wrong_kind(void **state) {
  (void)state;
  void *objs[K_COUNT];
  kinds_new(objs);
  for (int k = 0; k < K_COUNT; ++k) {
    for (int j = 0; j < K_COUNT; ++j) {
      int fd = dup(kind_fileno(k, objs[k]));
      assert_true(fd >= 0);
      void *h = (void *)&h;
      int r = kind_from_fd(j, &h, fd, objs[K_LOCK]);
      if (j == k) {
        if (r != MP_OK)
          fail_msg("mp_%s_from_fd of a %s: %s: %s", k_kind_names[j], k_kind_names[k],
                   mp_err_name(r), mp_last_error());
        assert_non_null(h);
        kind_free(j, h);
        close_if_open(fd); /* freed with the handle, normally */
        continue;
      }
      if (r != MP_EINVAL)
        fail_msg("mp_%s_from_fd of a %s's descriptor = %s, expected EINVAL",
                 k_kind_names[j], k_kind_names[k], mp_err_name(r));
      assert_true(mp_last_error()[0] != '\0');
      assert_null(h);
      close_if_open(fd);
    }
  }
  /* The original objects are untouched. */
  MP_ASSERT_OK(mp_lock_acquire(objs[K_LOCK], 0));
  MP_ASSERT_OK(mp_lock_release(objs[K_LOCK]));
  assert_int_equal(mp_sem_value(objs[K_SEM]), 1);
  kinds_free(objs);
}

/* from_fd of a pipe, a closed descriptor, -1, /dev/null, an empty and a
 * zero-filled memfd, and with a NULL out: MP_EINVAL. */
static void test_sync_handles_from_fd_bad_descriptors(void **state) {
  (void)state;
  mp_lock_t *lock = NULL;
  MP_ASSERT_OK(mp_lock_new(&lock, 0));
  int before = count_open_fds();
  for (int k = 0; k < K_COUNT; ++k) {
    const char *kn = k_kind_names[k];
    void *h = (void *)&h;
    int r;
    /* -1 and other negatives */
    r = kind_from_fd(k, &h, -1, lock);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(-1) = %s", kn, mp_err_name(r));
    assert_null(h);
    assert_true(mp_last_error()[0] != '\0');
    h = (void *)&h;
    r = kind_from_fd(k, &h, -100, lock);
    assert_int_equal(r, MP_EINVAL);
    assert_null(h);
    /* a closed descriptor */
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    close(pfd[0]);
    close(pfd[1]);
    h = (void *)&h;
    r = kind_from_fd(k, &h, pfd[0], lock);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(closed) = %s", kn, mp_err_name(r));
    assert_null(h);
    /* a pipe */
    assert_int_equal(pipe(pfd), 0);
    h = (void *)&h;
    r = kind_from_fd(k, &h, pfd[0], lock);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(pipe) = %s", kn, mp_err_name(r));
    assert_true(mp_last_error()[0] != '\0');
    assert_null(h);
    close_if_open(pfd[0]);
    close(pfd[1]);
    /* /dev/null */
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    h = (void *)&h;
    r = kind_from_fd(k, &h, fd, lock);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(/dev/null) = %s", kn, mp_err_name(r));
    assert_null(h);
    close_if_open(fd);
    /* an empty memfd and a zero-filled one: not multiproc objects */
    for (int size = 0; size <= 4096; size += 4096) {
      fd = memfd_create("not-a-multiproc-object", MFD_CLOEXEC);
      assert_true(fd >= 0);
      assert_int_equal(ftruncate(fd, size), 0);
      h = (void *)&h;
      r = kind_from_fd(k, &h, fd, lock);
      if (r != MP_EINVAL)
        fail_msg("mp_%s_from_fd(memfd of %d zero bytes) = %s", kn, size, mp_err_name(r));
      assert_null(h);
      close_if_open(fd);
    }
    /* NULL out */
    fd = dup(mp_lock_fileno(lock));
    r = kind_from_fd(k, NULL, fd, lock);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(NULL out) = %s", kn, mp_err_name(r));
    close_if_open(fd);
  }
  /* mp_cond_from_fd without a lock */
  mp_cond_t *c = NULL, *c2 = (mp_cond_t *)&c2;
  MP_ASSERT_OK(mp_cond_new(&c, lock));
  int fd = dup(mp_cond_fileno(c));
  MP_ASSERT_ERR(mp_cond_from_fd(&c2, fd, NULL), MP_EINVAL);
  assert_null(c2);
  close_if_open(fd);
  mp_cond_free(c);
  ASSERT_NO_FD_LEAK(before);
  mp_lock_free(lock);
}

/* A copy of an object's segment in a new memfd, with the 4 bytes at
 * offset `at` replaced by `word` (at < 0: unchanged) and `extra` bytes
 * appended. The segment starts with the object header of
 * src/sync/object.hpp: magic, layout version, kind, reserved, size. */
static int copy_segment(int src_fd, long at, uint32_t word, size_t extra) {
  struct stat st;
  assert_int_equal(fstat(src_fd, &st), 0);
  size_t size = (size_t)st.st_size;
  char *buf = calloc(1, size + extra);
  assert_non_null(buf);
  assert_int_equal(pread(src_fd, buf, size, 0), (ssize_t)size);
  if (at >= 0) memcpy(buf + at, &word, sizeof word);
  int fd = memfd_create("copied-multiproc-object", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, buf, size + extra), (ssize_t)(size + extra));
  free(buf);
  return fd;
}

/* Descriptors that look like multiproc objects but are not readable: a
 * layout version from the future (MP_ENOTSUP), a corrupt magic, kind or
 * size (MP_EINVAL), another user's object (MP_EACCES, needs root). */
static void test_sync_handles_from_fd_foreign_layout(void **state) {
  (void)state;
  void *objs[K_COUNT];
  kinds_new(objs);
  for (int k = 0; k < K_COUNT; ++k) {
    const char *kn = k_kind_names[k];
    int src = kind_fileno(k, objs[k]);
    void *h = NULL;
    int fd, r;
    /* an exact copy opens (and is a separate object) */
    fd = copy_segment(src, -1, 0, 0);
    r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
    if (r != MP_OK) fail_msg("mp_%s_from_fd(copy) = %s: %s", kn, mp_err_name(r), mp_last_error());
    kind_free(k, h);
    close_if_open(fd);
    /* a layout version from the future */
    fd = copy_segment(src, 4, 0x7fff, 0);
    h = (void *)&h;
    r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
    if (r != MP_ENOTSUP) fail_msg("mp_%s_from_fd(version 0x7fff) = %s", kn, mp_err_name(r));
    assert_null(h);
    assert_true(mp_last_error()[0] != '\0');
    close_if_open(fd);
    /* a corrupt magic */
    fd = copy_segment(src, 0, 0xdeadbeef, 0);
    h = (void *)&h;
    r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(bad magic) = %s", kn, mp_err_name(r));
    assert_null(h);
    close_if_open(fd);
    /* an unknown kind */
    fd = copy_segment(src, 8, 77, 0);
    h = (void *)&h;
    r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(kind 77) = %s", kn, mp_err_name(r));
    assert_null(h);
    close_if_open(fd);
    /* a segment longer than its header says */
    fd = copy_segment(src, -1, 0, 4096);
    h = (void *)&h;
    r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
    if (r != MP_EINVAL) fail_msg("mp_%s_from_fd(size mismatch) = %s", kn, mp_err_name(r));
    assert_null(h);
    close_if_open(fd);
    /* another user's object */
    if (geteuid() == 0) {
      fd = copy_segment(src, -1, 0, 0);
      assert_int_equal(fchown(fd, 65534, 65534), 0);
      h = (void *)&h;
      r = kind_from_fd(k, &h, fd, objs[K_LOCK]);
      if (r != MP_EACCES) fail_msg("mp_%s_from_fd(uid 65534) = %s", kn, mp_err_name(r));
      assert_null(h);
      close_if_open(fd);
    }
  }
  kinds_free(objs);
}

/* Every function of a kind given h (NULL, freed, or a handle of another
 * kind): MP_EINVAL, or 0 / NULL where the function returns a size or an
 * address; the free functions ignore it. */
static void expect_all_invalid(int kind, void *h, const char *what) {
  int64_t x;
  uint64_t u;
  double d;
  size_t n;
  char buf[8];
  (void)what;
  switch (kind) {
    case K_LOCK:
      MP_ASSERT_ERR(mp_lock_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_lock_acquire(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_lock_acquire(h, MP_FOREVER), MP_EINVAL);
      MP_ASSERT_ERR(mp_lock_release(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_lock_locked(h), MP_EINVAL);
      mp_lock_free(h);
      break;
    case K_SEM:
      MP_ASSERT_ERR(mp_sem_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_sem_acquire(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_sem_acquire(h, MP_FOREVER), MP_EINVAL);
      MP_ASSERT_ERR(mp_sem_release(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_sem_value(h), MP_EINVAL);
      mp_sem_free(h);
      break;
    case K_EVENT:
      MP_ASSERT_ERR(mp_event_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_event_set(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_event_clear(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_event_is_set(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_event_wait(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_event_wait(h, MP_FOREVER), MP_EINVAL);
      mp_event_free(h);
      break;
    case K_COND:
      MP_ASSERT_ERR(mp_cond_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_cond_wait(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_cond_wait(h, MP_FOREVER), MP_EINVAL);
      MP_ASSERT_ERR(mp_cond_notify(h, 1), MP_EINVAL);
      MP_ASSERT_ERR(mp_cond_notify_all(h), MP_EINVAL);
      mp_cond_free(h);
      break;
    case K_BARRIER:
      MP_ASSERT_ERR(mp_barrier_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_wait(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_wait(h, MP_FOREVER), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_abort(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_reset(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_parties(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_n_waiting(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_barrier_broken(h), MP_EINVAL);
      mp_barrier_free(h);
      break;
    case K_SHM:
      MP_ASSERT_ERR(mp_shm_fileno(h), MP_EINVAL);
      assert_null(mp_shm_data(h));
      assert_int_equal(mp_shm_size(h), 0);
      mp_shm_free(h);
      break;
    case K_VALUE:
      MP_ASSERT_ERR(mp_value_fileno(h), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_type(h), MP_EINVAL);
      assert_int_equal(mp_value_count(h), 0);
      MP_ASSERT_ERR(mp_value_get_i64(&x, h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_set_i64(h, 0, 1), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_get_u64(&u, h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_set_u64(h, 0, 1), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_get_f64(&d, h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_set_f64(h, 0, 1.0), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_add_i64(&x, h, 0, 1), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_cas_i64(h, 0, 0, 1, &x), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_get_bytes(&n, h, buf, sizeof buf), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_set_bytes(h, "ab", 2), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_acquire(h, 0), MP_EINVAL);
      MP_ASSERT_ERR(mp_value_release(h), MP_EINVAL);
      mp_value_free(h);
      break;
  }
}

static void test_sync_handles_null(void **state) {
  (void)state;
  for (int k = 0; k < K_COUNT; ++k) expect_all_invalid(k, NULL, "NULL");
}

/* A handle of one kind given to another kind's functions. */
static void test_sync_handles_foreign(void **state) {
  (void)state;
  void *objs[K_COUNT];
  kinds_new(objs);
  for (int k = 0; k < K_COUNT; ++k) {
    int other = (k + 1) % K_COUNT;
    if (other == K_COND) other = K_BARRIER; /* a condition handle is larger */
    /* Not the free functions: expect_all_invalid calls them, and they must
     * ignore a foreign handle too (checked below by using it after). */
    expect_all_invalid(k, objs[other], "foreign");
  }
  /* Every object still works. */
  MP_ASSERT_OK(mp_lock_acquire(objs[K_LOCK], 0));
  MP_ASSERT_OK(mp_cond_notify(objs[K_COND], 1));
  MP_ASSERT_OK(mp_lock_release(objs[K_LOCK]));
  MP_ASSERT_OK(mp_sem_acquire(objs[K_SEM], 0));
  MP_ASSERT_OK(mp_event_set(objs[K_EVENT]));
  assert_int_equal(mp_barrier_parties(objs[K_BARRIER]), 2);
  assert_int_equal(mp_shm_size(objs[K_SHM]), 100);
  MP_ASSERT_OK(mp_value_set_i64(objs[K_VALUE], 0, 1));
  kinds_free(objs);
}

/* A freed handle: MP_EINVAL where detectable. Reading freed memory is
 * itself an error under AddressSanitizer, so the test is not registered
 * there (meson's TAP parser counts CMocka's skip as a failure). */
#if !MP_TEST_ASAN
static void test_sync_handles_freed(void **state) {
  (void)state;
  for (int k = 0; k < K_COUNT; ++k) {
    void *objs[K_COUNT];
    kinds_new(objs);
    void *h = objs[k];
    if (k == K_COND) {
      mp_cond_free(h); /* its lock stays alive */
    } else if (k == K_LOCK) {
      mp_cond_free(objs[K_COND]); /* the condition must not outlive it */
      objs[K_COND] = NULL;
      mp_lock_free(h);
    } else {
      kind_free(k, h);
    }
    objs[k] = NULL;
    expect_all_invalid(k, h, "freed");
    kinds_free(objs);
  }
}
#endif

/* Hand every kind of object to a child with both start methods. */
static void test_sync_handles_pass_all_kinds(void **state) {
  (void)state;
  FOR_EACH_METHOD(m) {
    void *objs[K_COUNT];
    kinds_new(objs);
    MP_ASSERT_OK(mp_sem_acquire(objs[K_SEM], 0)); /* value 0 */
    int fds[K_COUNT];
    for (int k = 0; k < K_COUNT; ++k) fds[k] = kind_fileno(k, objs[k]);
    targ_t none = {0, 0, 0, 0};
    mp_process_t *p = start_child("ts_all_kinds", none, m, fds, K_COUNT);
    MP_ASSERT_OK(mp_event_wait(objs[K_EVENT], 20000));
    MP_ASSERT_OK(mp_sem_acquire(objs[K_SEM], 20000));
    volatile char *sh = mp_shm_data(objs[K_SHM]);
    MP_ASSERT_OK(mp_lock_acquire(objs[K_LOCK], 20000));
    int timeouts = 0;
    while (!sh[100]) {
      int r = mp_cond_wait(objs[K_COND], 5000);
      if (r == MP_ETIMEDOUT) assert_true(++timeouts < 3);
      else MP_ASSERT_OK(r);
    }
    MP_ASSERT_OK(mp_lock_release(objs[K_LOCK]));
    int idx = mp_barrier_wait(objs[K_BARRIER], 20000);
    if (idx != 0 && idx != 1) fail_msg("barrier wait = %d (%s)", idx, mp_err_name(idx));
    int code = finish_child(p, 30000);
    if (code != 0) fail_msg("%s: child exit code %d", method_name(m), code);
    int64_t x = 0;
    MP_ASSERT_OK(mp_value_get_i64(&x, objs[K_VALUE], 0));
    assert_int_equal(x, 42);
    assert_string_equal((const char *)sh, "hello from the child");
    assert_int_equal(mp_sem_value(objs[K_SEM]), 0);
    assert_int_equal(mp_event_is_set(objs[K_EVENT]), 1);
    assert_int_equal(mp_lock_locked(objs[K_LOCK]), 0);
    kinds_free(objs);
  }
}

/* Creating and freeing 100 objects of each kind leaves the descriptor
 * count unchanged and adds nothing to /dev/shm. */
static void test_sync_handles_no_leak_100_each(void **state) {
  (void)state;
  enum { kEach = 100 };
  void *warm[K_COUNT];
  kinds_new(warm); /* any lazy initialisation happens here */
  kinds_free(warm);
  shm_names_t before, after;
  shm_names_take(&before);
  int fds_before = steady_open_fds(); /* children of earlier tests ended */
  mp_lock_t *lock = NULL;
  MP_ASSERT_OK(mp_lock_new(&lock, MP_LOCK_RECURSIVE));
  for (int k = 0; k < K_COUNT; ++k) {
    void *h[kEach];
    for (int i = 0; i < kEach; ++i) {
      int r = MP_OK;
      switch (k) {
        case K_LOCK: r = mp_lock_new((mp_lock_t **)&h[i], i % 2); break;
        case K_SEM: r = mp_sem_new((mp_sem_t **)&h[i], 1, (unsigned)(i % 2)); break;
        case K_EVENT: r = mp_event_new((mp_event_t **)&h[i]); break;
        case K_COND: r = mp_cond_new((mp_cond_t **)&h[i], lock); break;
        case K_BARRIER: r = mp_barrier_new((mp_barrier_t **)&h[i], 3); break;
        case K_SHM: r = mp_shm_new((mp_shm_t **)&h[i], 4096); break;
        case K_VALUE:
          r = mp_value_new((mp_value_t **)&h[i], (mp_type_t)(1 + i % 5), 8, i % 2);
          break;
      }
      if (r != MP_OK)
        fail_msg("creating %s %d: %s: %s", k_kind_names[k], i, mp_err_name(r), mp_last_error());
      /* Opened a second time, as a child would. */
      if (i % 10 == 0) {
        void *again = NULL;
        int fd = dup(kind_fileno(k, h[i]));
        MP_ASSERT_OK(kind_from_fd(k, &again, fd, lock));
        kind_free(k, again);
      }
    }
    assert_int_equal(count_open_fds(), fds_before + 1 + kEach);
    for (int i = 0; i < kEach; ++i) kind_free(k, h[i]);
    if (count_open_fds() != fds_before + 1)
      fail_msg("%s: %d descriptors open after freeing, expected %d", k_kind_names[k],
               count_open_fds(), fds_before + 1);
  }
  mp_lock_free(lock);
  ASSERT_NO_FD_LEAK(fds_before);
  shm_names_take(&after);
  const char *added = shm_names_added(&before, &after);
  char name[300] = "";
  if (added) snprintf(name, sizeof name, "%s", added);
  shm_names_free(&after);
  shm_names_free(&before);
  if (name[0]) fail_msg("/dev/shm/%s appeared", name);
}

int main(int argc, char **argv) {
  if (sync_test_start(argc, argv, k_targets, sizeof k_targets / sizeof k_targets[0]) != 0)
    return 99;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sync_handles_from_fd_wrong_kind),
      cmocka_unit_test(test_sync_handles_from_fd_bad_descriptors),
      cmocka_unit_test(test_sync_handles_from_fd_foreign_layout),
      cmocka_unit_test(test_sync_handles_null),
      cmocka_unit_test(test_sync_handles_foreign),
#if !MP_TEST_ASAN
      cmocka_unit_test(test_sync_handles_freed),
#endif
      cmocka_unit_test(test_sync_handles_pass_all_kinds),
      cmocka_unit_test(test_sync_handles_no_leak_100_each),
  };
  return MP_RUN_TESTS(tests);
}
