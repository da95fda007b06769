/* The shared dict (Python's Manager().dict(), in shared memory, no server
 * process): every function and documented error, binary keys and values,
 * snapshots, the entry and byte limits, reuse of freed space, exact results
 * under concurrency across processes (the seed's 100 processes decrementing
 * a counter), writers SIGKILLed in the middle of writes, garbage
 * descriptors, and descriptor accounting.
 *
 * Every target is registered before mp_main() so that MP_START_SPAWN
 * children (re-executions of this program) find it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#define LONG_MS 60000         /* bound for anything that should be quick */
#define K(s) s, sizeof(s) - 1 /* a string literal as bytes, without its NUL */

/* ------------------------------------------------------------------------
 * Utilities
 * ---------------------------------------------------------------------- */

static mp_dict_t *new_dict(size_t max_entries, size_t max_bytes) {
  mp_dict_t *d = NULL;
  MP_ASSERT_OK(mp_dict_new(&d, max_entries, max_bytes));
  assert_non_null(d);
  return d;
}

/* Assert that key holds exactly want (get and get_into agree). */
static void assert_value(mp_dict_t *d, const void *key, size_t key_len, const void *want,
                         size_t want_len) {
  void *v = NULL;
  size_t n = 99;
  MP_ASSERT_OK(mp_dict_get(&v, &n, d, key, key_len));
  assert_non_null(v);
  assert_int_equal(n, want_len);
  if (want_len) assert_memory_equal(v, want, want_len);
  assert_int_equal(((char *)v)[n], '\0');
  mp_free(v);
  char buf[512];
  if (want_len <= sizeof buf) {
    MP_ASSERT_OK(mp_dict_get_into(&n, d, key, key_len, buf, sizeof buf));
    assert_int_equal(n, want_len);
    if (want_len) assert_memory_equal(buf, want, want_len);
  }
}

static void le64_put(unsigned char *p, int64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)((uint64_t)v >> (8 * i));
}

static int64_t le64_get(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return (int64_t)v;
}

/* The int64 at key (an 8-byte little-endian value). */
static int64_t get_i64(mp_dict_t *d, const char *key) {
  unsigned char buf[8];
  size_t n = 0;
  MP_ASSERT_OK(mp_dict_get_into(&n, d, key, strlen(key), buf, sizeof buf));
  assert_int_equal(n, 8);
  return le64_get(buf);
}

/* A self-checking value of n >= 5 bytes: a 32-bit little-endian length,
 * then a run of bytes counting up from seed. */
static void checked_fill(unsigned char *v, size_t n, unsigned seed) {
  for (int i = 0; i < 4; i++) v[i] = (unsigned char)(n >> (8 * i));
  for (size_t i = 4; i < n; i++) v[i] = (unsigned char)(seed + i);
}

static int checked_ok(const unsigned char *v, size_t n) {
  if (n < 5) return 0;
  size_t len = (size_t)v[0] | (size_t)v[1] << 8 | (size_t)v[2] << 16 | (size_t)v[3] << 24;
  if (len != n) return 0;
  for (size_t i = 5; i < n; i++)
    if (v[i] != (unsigned char)(v[4] + (i - 4))) return 0;
  return 1;
}

static unsigned next_rand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (*s >> 16) & 0x7fff;
}

/* Start target with the dict as passed descriptor 0 (fork start method). */
static mp_process_t *start_with_dict(const char *target, mp_dict_t *d, int arg, int method) {
  mp_process_t *p = NULL;
  MP_ASSERT_OK(mp_process_new(&p, target, &arg, sizeof arg));
  MP_ASSERT_OK(mp_process_set_start_method(p, (mp_start_method_t)method));
  assert_int_equal(mp_process_pass_fd(p, mp_dict_fileno(d)), 0);
  MP_ASSERT_OK(mp_process_start(p));
  return p;
}

static int join_code(mp_process_t *p) {
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  int code = -1000;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  mp_process_free(p);
  /* Under scripts/test-valgrind.sh a forked child runs memcheck too, which
   * may find the parent's heap unreachable at the child's _exit (the
   * parent's other threads are not in the child) and exit with its own
   * code: that is memcheck's verdict, not the child's result (whose
   * failures are 10 and up). The dict's state is still checked. */
  const char *vg = getenv("MP_TEST_VALGRIND_EXIT");
  if (vg && code == atoi(vg)) code = 0;
  return code;
}

/* ------------------------------------------------------------------------
 * Targets (run in children; the dict is passed descriptor 0)
 * ---------------------------------------------------------------------- */

static int arg_int(const void *arg, size_t len) {
  int v = 0;
  if (arg && len == sizeof v) memcpy(&v, arg, sizeof v);
  return v;
}

/* The seed's worker: count -= 1, once. */
static int t_decrement(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  mp_dict_t *d = child_dict(0);
  if (!d) return 10;
  int64_t v;
  int r = mp_dict_incr(&v, d, K("count"), -1);
  mp_dict_free(d);
  return r == MP_OK ? 0 : 11;
}

/* Add 1 to "total" arg times. */
static int t_increment(const void *arg, size_t len, void *payload) {
  (void)payload;
  mp_dict_t *d = child_dict(0);
  if (!d) return 10;
  int n = arg_int(arg, len), code = 0;
  int64_t v;
  for (int i = 0; i < n && code == 0; i++)
    if (mp_dict_incr(&v, d, K("total"), 1) != MP_OK) code = 11;
  mp_dict_free(d);
  return code;
}

/* The schedule of t_own_keys: step i sets key i % 50 to own_value(i), and
 * every third step then deletes it again. */
#define OWN_STEPS 2000
#define OWN_KEYS 50

static int own_key(char *buf, size_t cap, int worker, int k) {
  return snprintf(buf, cap, "w%d-%d", worker, k);
}

static int own_value(char *buf, size_t cap, int worker, int i) {
  return snprintf(buf, cap, "worker %d step %d %0*d", worker, i, i % 40, 7);
}

/* Set, read back and delete keys only this worker touches. */
static int t_own_keys(const void *arg, size_t len, void *payload) {
  (void)payload;
  int w = arg_int(arg, len);
  mp_dict_t *d = child_dict(0);
  if (!d) return 10;
  int code = 0;
  for (int i = 0; i < OWN_STEPS && code == 0; i++) {
    char key[32], val[128], got[128];
    int kl = own_key(key, sizeof key, w, i % OWN_KEYS);
    int vl = own_value(val, sizeof val, w, i);
    size_t n = 0;
    if (mp_dict_set(d, key, (size_t)kl, val, (size_t)vl) != MP_OK)
      code = 11;
    else if (mp_dict_get_into(&n, d, key, (size_t)kl, got, sizeof got) != MP_OK)
      code = 12;
    else if (n != (size_t)vl || memcmp(got, val, n) != 0)
      code = 13;
    else if (i % 3 == 0 && mp_dict_delete(d, key, (size_t)kl) != MP_OK)
      code = 14;
    else if (i % 3 == 0 && mp_dict_contains(d, key, (size_t)kl) != 0)
      code = 15;
  }
  mp_dict_free(d);
  return code;
}

/* Crash rounds: hammerer arg = round * HAMMERERS + slot. Slot s owns keys
 * "h<s>-0..3" (self-checking values, shared with the same slot of other
 * rounds), hammerer u alone owns "c<u>" and "s<u>": it increments c<u> and
 * then stores the result in s<u>, so c<u> is s<u> or s<u> + 1. */
#define HAMMERERS 3
#define ROUNDS 16
#define SURVIVOR_INCRS 1500

static int hammer_step(mp_dict_t *d, int u, unsigned *rnd) {
  int slot = u % HAMMERERS;
  char key[32], ck[32], sk[32];
  unsigned char val[160], got[256], le[8];
  size_t n = 0;
  int64_t r;
  int kl = snprintf(key, sizeof key, "h%d-%u", slot, next_rand(rnd) % 4);
  snprintf(ck, sizeof ck, "c%d", u);
  snprintf(sk, sizeof sk, "s%d", u);
  switch (next_rand(rnd) % 8) {
    case 0:
    case 1:
    case 2: {
      size_t vl = 5 + next_rand(rnd) % 150;
      checked_fill(val, vl, next_rand(rnd));
      return mp_dict_set(d, key, (size_t)kl, val, vl) == MP_OK ? 0 : 21;
    }
    case 3: {
      int rc = mp_dict_delete(d, key, (size_t)kl);
      return rc == MP_OK || rc == MP_ENOENT ? 0 : 22;
    }
    case 4: {
      int rc = mp_dict_get_into(&n, d, key, (size_t)kl, got, sizeof got);
      if (rc == MP_ENOENT) return 0;
      return rc == MP_OK && checked_ok(got, n) ? 0 : 23;
    }
    case 5:
      if (mp_dict_incr(&r, d, ck, strlen(ck), 1) != MP_OK) return 24;
      le64_put(le, r);
      return mp_dict_set(d, sk, strlen(sk), le, 8) == MP_OK ? 0 : 25;
    case 6: {
      int rc = mp_dict_get_into(&n, d, key, (size_t)kl, got, sizeof got);
      if (rc == MP_ENOENT) return 0;
      if (rc != MP_OK || !checked_ok(got, n)) return 26;
      size_t vl = 5 + next_rand(rnd) % 150;
      checked_fill(val, vl, next_rand(rnd));
      return mp_dict_cas(d, key, (size_t)kl, got, n, val, vl) >= 0 ? 0 : 27;
    }
    default:
      return mp_dict_incr(&r, d, K("shared"), 1) == MP_OK ? 0 : 28;
  }
}

/* Hammer until killed; on an inconsistency record "bad" and exit. */
static int t_hammer(const void *arg, size_t len, void *payload) {
  (void)payload;
  int u = arg_int(arg, len);
  mp_dict_t *d = child_dict(0);
  if (!d) return 10;
  unsigned rnd = (unsigned)u * 7919u + (unsigned)getpid();
  for (;;) {
    int code = hammer_step(d, u, &rnd);
    if (code != 0) {
      char msg[64];
      int n = snprintf(msg, sizeof msg, "hammerer %d: step failed with %d", u, code);
      mp_dict_set(d, K("bad"), msg, (size_t)n);
      mp_dict_free(d);
      return code;
    }
  }
}

/* Add 1 to "survivor" SURVIVOR_INCRS times while hammerers die around it. */
static int t_survivor(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  mp_dict_t *d = child_dict(0);
  if (!d) return 10;
  int code = 0;
  int64_t v;
  for (int i = 0; i < SURVIVOR_INCRS && code == 0; i++)
    if (mp_dict_incr(&v, d, K("survivor"), 1) != MP_OK) code = 11;
  mp_dict_free(d);
  return code;
}

/* ------------------------------------------------------------------------
 * Creation, attach, arguments
 * ---------------------------------------------------------------------- */

static void test_dict_new_rejects_bad_sizes(void **state) {
  (void)state;
  mp_dict_t *d = (mp_dict_t *)&d;
  MP_ASSERT_ERR(mp_dict_new(NULL, 1, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_new(&d, 0, 100), MP_EINVAL);
  assert_null(d);
  d = (mp_dict_t *)&d;
  MP_ASSERT_ERR(mp_dict_new(&d, 10, 0), MP_EINVAL);
  assert_null(d);
  MP_ASSERT_ERR(mp_dict_new(&d, SIZE_MAX, 100), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_new(&d, 10, SIZE_MAX), MP_EINVAL);
  assert_null(d);
  d = new_dict(1, 1);
  assert_int_equal(mp_dict_len(d), 0);
  mp_dict_free(d);
}

static void test_dict_fileno_and_free(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(4, 64);
  int fd = mp_dict_fileno(d);
  assert_true(fd >= 0);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  MP_ASSERT_ERR(mp_dict_fileno(NULL), MP_EINVAL);
  mp_dict_free(d);
  mp_dict_free(NULL);
  mp_dict_iter_free(NULL);
}

/* NULL and foreign handles, NULL pointers with non-zero lengths, NULL out
 * parameters: MP_EINVAL with a message, out parameters cleared. */
static void test_dict_rejects_bad_arguments(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(4, 64);
  uint64_t junk[32] = {0};
  mp_dict_t *foreign = (mp_dict_t *)junk;
  void *v = (void *)junk;
  size_t n = 7;
  int64_t i64 = 7;
  MP_ASSERT_ERR(mp_dict_set(NULL, K("k"), K("v")), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_set(foreign, K("k"), K("v")), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_set(d, NULL, 1, K("v")), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_set(d, K("k"), NULL, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_get(&v, &n, foreign, K("k")), MP_EINVAL);
  assert_null(v);
  assert_int_equal(n, 0);
  MP_ASSERT_ERR(mp_dict_get(NULL, &n, d, K("k")), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_get(&v, NULL, d, K("k")), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_get(&v, &n, d, NULL, 3), MP_EINVAL);
  n = 7;
  MP_ASSERT_ERR(mp_dict_get_into(&n, NULL, K("k"), junk, 8), MP_EINVAL);
  assert_int_equal(n, 0);
  MP_ASSERT_ERR(mp_dict_get_into(NULL, d, K("k"), junk, 8), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_get_into(&n, d, K("k"), NULL, 8), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_get_into(&n, d, NULL, 2, junk, 8), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_delete(NULL, K("k")), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_delete(d, NULL, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_contains(foreign, K("k")), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_contains(d, NULL, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_len(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_len(foreign), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_clear(NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_incr(NULL, d, K("k"), 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_incr(&i64, NULL, K("k"), 1), MP_EINVAL);
  assert_int_equal(i64, 0);
  MP_ASSERT_ERR(mp_dict_incr(&i64, d, NULL, 1, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_cas(NULL, K("k"), NULL, 0, K("v")), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_cas(d, NULL, 1, NULL, 0, K("v")), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_cas(d, K("k"), NULL, 3, K("v")), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_cas(d, K("k"), NULL, 0, NULL, 2), MP_EINVAL);
  mp_dict_iter_t *it = (mp_dict_iter_t *)junk;
  MP_ASSERT_ERR(mp_dict_iter_new(&it, NULL), MP_EINVAL);
  assert_null(it);
  MP_ASSERT_ERR(mp_dict_iter_new(NULL, d), MP_EINVAL);
  const void *kp = junk, *vp = junk;
  size_t kl = 7, vl = 7;
  MP_ASSERT_ERR(mp_dict_iter_next(NULL, &kp, &kl, &vp, &vl), MP_EINVAL);
  assert_null(kp);
  assert_null(vp);
  assert_int_equal(kl, 0);
  assert_int_equal(vl, 0);
  MP_ASSERT_ERR(mp_dict_iter_next((mp_dict_iter_t *)d, &kp, &kl, &vp, &vl), MP_EINVAL);
  MP_ASSERT_OK(mp_dict_iter_new(&it, d));
  MP_ASSERT_ERR(mp_dict_iter_next(it, NULL, &kl, &vp, &vl), MP_EINVAL);
  mp_dict_iter_free(it);
  mp_dict_free(foreign); /* not a dict: ignored */
  assert_int_equal(mp_dict_len(d), 0);
  mp_dict_free(d);
}

/* A dict handed over as a descriptor is the same dict. */
static void test_dict_from_fd_shares_the_dict(void **state) {
  (void)state;
  mp_dict_t *a = new_dict(8, 256), *b = NULL;
  MP_ASSERT_OK(mp_dict_set(a, K("k"), K("from a")));
  MP_ASSERT_OK(mp_dict_from_fd(&b, dup(mp_dict_fileno(a))));
  assert_value(b, K("k"), K("from a"));
  MP_ASSERT_OK(mp_dict_set(b, K("j"), K("from b")));
  assert_value(a, K("j"), K("from b"));
  mp_dict_free(a);
  assert_int_equal(mp_dict_len(b), 2); /* b's mapping outlives a */
  mp_dict_free(b);
}

static int memfd_with(const void *bytes, size_t len) {
  int fd = memfd_create("test-dict", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, bytes, len, 0), (ssize_t)len);
  return fd;
}

/* Descriptors that are not dicts: refused with MP_EINVAL, never a crash;
 * from_fd owns (closes) the descriptor whatever the outcome. */
static void test_dict_from_fd_rejects_garbage(void **state) {
  (void)state;
  mp_dict_t *d = (mp_dict_t *)&d;
  MP_ASSERT_ERR(mp_dict_from_fd(&d, -1), MP_EINVAL);
  assert_null(d);
  MP_ASSERT_ERR(mp_dict_from_fd(NULL, 0), MP_EINVAL);
  int p[2];
  assert_int_equal(pipe(p), 0);
  MP_ASSERT_ERR(mp_dict_from_fd(&d, p[0]), MP_EINVAL);
  assert_true(fcntl(p[0], F_GETFD) < 0); /* closed */
  close(p[1]);
  MP_ASSERT_ERR(mp_dict_from_fd(&d, memfd_with("tiny", 4)), MP_EINVAL);
  unsigned char *noise = malloc(1 << 16);
  assert_non_null(noise);
  unsigned rnd = 42;
  for (size_t i = 0; i < 1 << 16; i++) noise[i] = (unsigned char)next_rand(&rnd);
  MP_ASSERT_ERR(mp_dict_from_fd(&d, memfd_with(noise, 1 << 16)), MP_EINVAL);
  free(noise);
  mp_queue_t *q = NULL;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  MP_ASSERT_ERR(mp_dict_from_fd(&d, dup(mp_queue_fileno(q))), MP_EINVAL);
  mp_queue_free(q);
  assert_null(d);
}

/* A copy of a real dict's segment attaches; with any one byte of the header's
 * first 56 bytes (magic, version and geometry) changed it is refused. */
static void test_dict_from_fd_checks_header(void **state) {
  (void)state;
  mp_dict_t *orig = new_dict(16, 1000), *d = NULL;
  MP_ASSERT_OK(mp_dict_set(orig, K("k"), K("v")));
  struct stat st;
  assert_int_equal(fstat(mp_dict_fileno(orig), &st), 0);
  size_t size = (size_t)st.st_size;
  unsigned char *image = mmap(NULL, size, PROT_READ, MAP_SHARED, mp_dict_fileno(orig), 0);
  assert_true(image != MAP_FAILED);
  MP_ASSERT_OK(mp_dict_from_fd(&d, memfd_with(image, size)));
  assert_value(d, K("k"), K("v"));
  mp_dict_free(d);
  for (size_t i = 0; i < 56; i++) {
    int fd = memfd_with(image, size);
    unsigned char bad = (unsigned char)(image[i] ^ 0x5a);
    assert_int_equal(pwrite(fd, &bad, 1, (off_t)i), 1);
    int r = mp_dict_from_fd(&d, fd);
    if (r != MP_EINVAL && r != MP_ENOTSUP)
      fail_msg("byte %zu changed: mp_dict_from_fd = %s", i, mp_err_name(r));
    assert_null(d);
  }
  /* A truncated copy. */
  MP_ASSERT_ERR(mp_dict_from_fd(&d, memfd_with(image, size - 8)), MP_EINVAL);
  munmap(image, size);
  mp_dict_free(orig);
}

/* ------------------------------------------------------------------------
 * Single-process behaviour
 * ---------------------------------------------------------------------- */

static void test_dict_set_get_roundtrip(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(8, 256);
  MP_ASSERT_OK(mp_dict_set(d, K("apple"), K("red")));
  MP_ASSERT_OK(mp_dict_set(d, K("banana"), K("yellow")));
  assert_int_equal(mp_dict_len(d), 2);
  assert_value(d, K("apple"), K("red"));
  assert_value(d, K("banana"), K("yellow"));
  assert_int_equal(mp_dict_contains(d, K("apple")), 1);
  assert_int_equal(mp_dict_contains(d, K("cherry")), 0);
  MP_ASSERT_OK(mp_dict_set(d, K("apple"), K("green, now longer")));
  assert_value(d, K("apple"), K("green, now longer"));
  MP_ASSERT_OK(mp_dict_set(d, K("apple"), K("rot")));
  assert_value(d, K("apple"), K("rot"));
  assert_int_equal(mp_dict_len(d), 2);
  mp_dict_free(d);
}

static void test_dict_missing_key_is_enoent(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(8, 256);
  void *v = (void *)d;
  size_t n = 9;
  char buf[16];
  MP_ASSERT_ERR(mp_dict_get(&v, &n, d, K("nope")), MP_ENOENT);
  assert_null(v);
  assert_int_equal(n, 0);
  MP_ASSERT_ERR(mp_dict_get_into(&n, d, K("nope"), buf, sizeof buf), MP_ENOENT);
  MP_ASSERT_ERR(mp_dict_delete(d, K("nope")), MP_ENOENT);
  mp_dict_free(d);
}

static void test_dict_get_into_reports_needed_size(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(8, 256);
  char buf[16];
  size_t n = 0;
  MP_ASSERT_OK(mp_dict_set(d, K("k"), K("0123456789")));
  MP_ASSERT_ERR(mp_dict_get_into(&n, d, K("k"), buf, 4), MP_ENOSPC);
  assert_int_equal(n, 10);
  MP_ASSERT_ERR(mp_dict_get_into(&n, d, K("k"), NULL, 0), MP_ENOSPC);
  assert_int_equal(n, 10);
  MP_ASSERT_OK(mp_dict_get_into(&n, d, K("k"), buf, 10));
  assert_int_equal(n, 10);
  assert_memory_equal(buf, "0123456789", 10);
  MP_ASSERT_OK(mp_dict_set(d, K("empty"), NULL, 0));
  MP_ASSERT_OK(mp_dict_get_into(&n, d, K("empty"), NULL, 0));
  assert_int_equal(n, 0);
  mp_dict_free(d);
}

/* Keys and values are byte strings: NUL bytes, prefixes, the empty key and
 * empty values are all distinct and kept exactly. */
static void test_dict_binary_keys_and_values(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(16, 512);
  const char k1[] = {'a', 0, 'b'}, k2[] = {'a', 0, 'c'}, v1[] = {0, 0, 1, 0, 0};
  MP_ASSERT_OK(mp_dict_set(d, k1, 3, v1, 5));
  MP_ASSERT_OK(mp_dict_set(d, k2, 3, K("two")));
  MP_ASSERT_OK(mp_dict_set(d, k1, 1, K("prefix")));
  MP_ASSERT_OK(mp_dict_set(d, NULL, 0, K("empty key")));
  MP_ASSERT_OK(mp_dict_set(d, K("empty value"), NULL, 0));
  assert_int_equal(mp_dict_len(d), 5);
  assert_value(d, k1, 3, v1, 5);
  assert_value(d, k2, 3, K("two"));
  assert_value(d, k1, 1, K("prefix"));
  assert_value(d, "", 0, K("empty key"));
  assert_value(d, K("empty value"), "", 0);
  assert_int_equal(mp_dict_contains(d, k1, 2), 0);
  MP_ASSERT_OK(mp_dict_delete(d, NULL, 0));
  assert_int_equal(mp_dict_contains(d, NULL, 0), 0);
  assert_int_equal(mp_dict_len(d), 4);
  mp_dict_free(d);
}

static void test_dict_large_value_roundtrip(void **state) {
  (void)state;
  size_t big = (size_t)1 << 20;
  mp_dict_t *d = new_dict(4, 2 * big);
  unsigned char *val = malloc(big);
  assert_non_null(val);
  checked_fill(val, big, 3);
  MP_ASSERT_OK(mp_dict_set(d, K("big"), val, big));
  void *got = NULL;
  size_t n = 0;
  MP_ASSERT_OK(mp_dict_get(&got, &n, d, K("big")));
  assert_int_equal(n, big);
  assert_true(checked_ok(got, n));
  assert_int_equal(((char *)got)[n], '\0');
  mp_free(got);
  checked_fill(val, big - 1000, 9); /* overwrite with a shorter one */
  MP_ASSERT_OK(mp_dict_set(d, K("big"), val, big - 1000));
  MP_ASSERT_OK(mp_dict_get(&got, &n, d, K("big")));
  assert_int_equal(n, big - 1000);
  assert_true(checked_ok(got, n));
  mp_free(got);
  free(val);
  mp_dict_free(d);
}

static void test_dict_delete_removes_key(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(8, 256);
  MP_ASSERT_OK(mp_dict_set(d, K("a"), K("1")));
  MP_ASSERT_OK(mp_dict_set(d, K("b"), K("2")));
  MP_ASSERT_OK(mp_dict_delete(d, K("a")));
  assert_int_equal(mp_dict_contains(d, K("a")), 0);
  assert_int_equal(mp_dict_len(d), 1);
  MP_ASSERT_ERR(mp_dict_delete(d, K("a")), MP_ENOENT);
  assert_value(d, K("b"), K("2"));
  MP_ASSERT_OK(mp_dict_set(d, K("a"), K("again")));
  assert_value(d, K("a"), K("again"));
  mp_dict_free(d);
}

static void test_dict_clear_removes_everything(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(32, 1024);
  MP_ASSERT_OK(mp_dict_clear(d)); /* empty: fine */
  char key[16];
  for (int i = 0; i < 20; i++) {
    int n = snprintf(key, sizeof key, "key%d", i);
    MP_ASSERT_OK(mp_dict_set(d, key, (size_t)n, key, (size_t)n));
  }
  assert_int_equal(mp_dict_len(d), 20);
  MP_ASSERT_OK(mp_dict_clear(d));
  assert_int_equal(mp_dict_len(d), 0);
  assert_int_equal(mp_dict_contains(d, K("key3")), 0);
  mp_dict_iter_t *it = NULL;
  const void *kp, *vp;
  size_t kl, vl;
  MP_ASSERT_OK(mp_dict_iter_new(&it, d));
  assert_int_equal(mp_dict_iter_next(it, &kp, &kl, &vp, &vl), 0);
  mp_dict_iter_free(it);
  for (int i = 0; i < 32; i++) { /* all the room is back */
    int n = snprintf(key, sizeof key, "new%d", i);
    MP_ASSERT_OK(mp_dict_set(d, key, (size_t)n, K("0123456789")));
  }
  assert_int_equal(mp_dict_len(d), 32);
  mp_dict_free(d);
}

static void test_dict_enospc_when_entries_run_out(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(4, 1024);
  MP_ASSERT_OK(mp_dict_set(d, K("a"), K("1")));
  MP_ASSERT_OK(mp_dict_set(d, K("b"), K("2")));
  MP_ASSERT_OK(mp_dict_set(d, K("c"), K("3")));
  MP_ASSERT_OK(mp_dict_set(d, K("d"), K("4")));
  MP_ASSERT_ERR(mp_dict_set(d, K("e"), K("5")), MP_ENOSPC);
  int64_t v = 0;
  MP_ASSERT_ERR(mp_dict_incr(&v, d, K("e"), 1), MP_ENOSPC);
  assert_int_equal(mp_dict_cas(d, K("e"), NULL, 0, K("5")), MP_ENOSPC);
  assert_int_equal(mp_dict_contains(d, K("e")), 0);
  MP_ASSERT_OK(mp_dict_set(d, K("d"), K("overwriting needs no new entry")));
  MP_ASSERT_OK(mp_dict_delete(d, K("a")));
  MP_ASSERT_OK(mp_dict_set(d, K("e"), K("5")));
  assert_int_equal(mp_dict_len(d), 4);
  mp_dict_free(d);
}

/* max_bytes counts key and value bytes: exactly max_bytes fits. A failed
 * overwrite leaves the old value. */
static void test_dict_enospc_when_bytes_run_out(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(8, 100);
  char val[128];
  memset(val, 'x', sizeof val);
  MP_ASSERT_OK(mp_dict_set(d, K("a"), val, 90)); /* 91 bytes */
  MP_ASSERT_OK(mp_dict_set(d, K("b"), val, 8));  /* 100 */
  MP_ASSERT_ERR(mp_dict_set(d, K("c"), NULL, 0), MP_ENOSPC);
  MP_ASSERT_ERR(mp_dict_set(d, K("a"), val, 91), MP_ENOSPC);
  assert_value(d, K("a"), val, 90);
  MP_ASSERT_OK(mp_dict_set(d, K("a"), val, 10));
  MP_ASSERT_OK(mp_dict_set(d, K("c"), val, 79));
  assert_int_equal(mp_dict_len(d), 3);
  MP_ASSERT_ERR(mp_dict_set(d, K("huge"), val, 128), MP_ENOSPC);
  mp_dict_free(d);
}

static void test_dict_incr_counts_from_zero(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(8, 256);
  int64_t v = 99;
  MP_ASSERT_OK(mp_dict_incr(&v, d, K("n"), 5));
  assert_int_equal(v, 5);
  MP_ASSERT_OK(mp_dict_incr(&v, d, K("n"), -12));
  assert_int_equal(v, -7);
  assert_int_equal(get_i64(d, "n"), -7);
  MP_ASSERT_OK(mp_dict_incr(&v, d, K("m"), 0));
  assert_int_equal(v, 0);
  assert_int_equal(mp_dict_contains(d, K("m")), 1);
  unsigned char le[8];
  le64_put(le, (int64_t)1 << 40);
  MP_ASSERT_OK(mp_dict_set(d, K("set"), le, 8));
  MP_ASSERT_OK(mp_dict_incr(&v, d, K("set"), 1));
  assert_int_equal(v, ((int64_t)1 << 40) + 1);
  mp_dict_free(d);
}

static void test_dict_incr_rejects_non_integer_value(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(8, 256);
  int64_t v = 99;
  MP_ASSERT_OK(mp_dict_set(d, K("s"), K("abc")));
  MP_ASSERT_ERR(mp_dict_incr(&v, d, K("s"), 1), MP_EINVAL);
  assert_int_equal(v, 0);
  assert_value(d, K("s"), K("abc"));
  MP_ASSERT_OK(mp_dict_set(d, K("e"), NULL, 0));
  MP_ASSERT_ERR(mp_dict_incr(&v, d, K("e"), 1), MP_EINVAL);
  MP_ASSERT_OK(mp_dict_set(d, K("nine"), K("123456789")));
  MP_ASSERT_ERR(mp_dict_incr(&v, d, K("nine"), 1), MP_EINVAL);
  mp_dict_free(d);
}

static void test_dict_cas_sets_only_on_match(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(8, 256);
  /* expected NULL: only if absent */
  assert_int_equal(mp_dict_cas(d, K("k"), NULL, 0, K("v1")), 1);
  assert_value(d, K("k"), K("v1"));
  assert_int_equal(mp_dict_cas(d, K("k"), NULL, 0, K("v2")), 0);
  assert_value(d, K("k"), K("v1"));
  /* expected present */
  assert_int_equal(mp_dict_cas(d, K("k"), K("v1"), K("v2 longer")), 1);
  assert_value(d, K("k"), K("v2 longer"));
  assert_int_equal(mp_dict_cas(d, K("k"), K("v1"), K("v3")), 0);         /* mismatch */
  assert_int_equal(mp_dict_cas(d, K("k"), K("v2"), K("v3")), 0);         /* a prefix */
  assert_int_equal(mp_dict_cas(d, K("k"), K("v2 longer!"), K("v3")), 0); /* longer */
  assert_value(d, K("k"), K("v2 longer"));
  /* expected given, key absent */
  assert_int_equal(mp_dict_cas(d, K("absent"), K("v1"), K("v3")), 0);
  assert_int_equal(mp_dict_contains(d, K("absent")), 0);
  /* an empty expected value is not "absent" */
  MP_ASSERT_OK(mp_dict_set(d, K("e"), NULL, 0));
  assert_int_equal(mp_dict_cas(d, K("e"), NULL, 0, K("x")), 0);
  assert_int_equal(mp_dict_cas(d, K("e"), "", 0, K("x")), 1);
  assert_value(d, K("e"), K("x"));
  assert_int_equal(mp_dict_cas(d, K("e"), K("x"), NULL, 0), 1);
  assert_value(d, K("e"), "", 0);
  mp_dict_free(d);
}

static void test_dict_cas_enospc(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(1, 16);
  assert_int_equal(mp_dict_cas(d, K("a"), NULL, 0, K("1")), 1);
  assert_int_equal(mp_dict_cas(d, K("b"), NULL, 0, K("2")), MP_ENOSPC);
  assert_int_equal(mp_dict_cas(d, K("a"), K("1"), K("0123456789abcdef")), MP_ENOSPC);
  assert_value(d, K("a"), K("1"));
  mp_dict_free(d);
}

/* The iterator walks a copy: later writes do not show, every item appears
 * once with its value NUL-terminated. (mp_dict_iter_next2, the 0.3 order;
 * the deprecated mp_dict_iter_next keeps its tests above.) */
static void test_dict_iter_is_a_snapshot(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(64, 4096);
  mp_dict_iter_t *it = NULL;
  const void *kp, *vp;
  size_t kl, vl;
  MP_ASSERT_OK(mp_dict_iter_new(&it, d));
  assert_int_equal(mp_dict_iter_next2(&kp, &kl, &vp, &vl, it), 0);
  mp_dict_iter_free(it);
  char key[16], val[32];
  for (int i = 0; i < 10; i++) {
    int kn = snprintf(key, sizeof key, "k%d", i);
    int vn = snprintf(val, sizeof val, "value of %d", i);
    MP_ASSERT_OK(mp_dict_set(d, key, (size_t)kn, val, (size_t)vn));
  }
  MP_ASSERT_OK(mp_dict_iter_new(&it, d));
  MP_ASSERT_OK(mp_dict_set(d, K("k0"), K("changed")));
  MP_ASSERT_OK(mp_dict_delete(d, K("k1")));
  MP_ASSERT_OK(mp_dict_set(d, K("k10"), K("new")));
  MP_ASSERT_OK(mp_dict_clear(d));
  int seen[10] = {0}, items = 0, r;
  while ((r = mp_dict_iter_next2(&kp, &kl, &vp, &vl, it)) == 1) {
    int i = -1;
    assert_true(kl >= 2 && kl < sizeof key);
    memcpy(key, kp, kl);
    key[kl] = '\0';
    assert_int_equal(sscanf(key, "k%d", &i), 1);
    assert_true(i >= 0 && i < 10);
    seen[i]++;
    int vn = snprintf(val, sizeof val, "value of %d", i);
    assert_int_equal(vl, (size_t)vn);
    assert_memory_equal(vp, val, vl);
    assert_int_equal(((const char *)vp)[vl], '\0');
    items++;
  }
  assert_int_equal(r, 0);
  assert_int_equal(items, 10);
  for (int i = 0; i < 10; i++) assert_int_equal(seen[i], 1);
  assert_int_equal(mp_dict_iter_next2(&kp, &kl, &vp, &vl, it), 0); /* stays at the end */
  mp_dict_iter_free(it);
  mp_dict_free(d);
}

/* ------------------------------------------------------------------------
 * Space reuse
 * ---------------------------------------------------------------------- */

/* 200000 overwrites of a few keys with values of varying sizes in a dict
 * whose max_bytes is barely above the live data: freed space is reused. */
static void test_dict_overwrites_reuse_space(void **state) {
  (void)state;
  enum { KEYS = 4, MAX_VALUE = 160, ROUNDS_N = 200000 };
  mp_dict_t *d = new_dict(KEYS, KEYS * (2 + MAX_VALUE) + 16);
  unsigned char val[MAX_VALUE];
  size_t last_len[KEYS] = {0};
  unsigned last_seed[KEYS] = {0};
  unsigned rnd = 1;
  char key[8];
  for (int i = 0; i < ROUNDS_N; i++) {
    int k = i % KEYS;
    size_t vl = 5 + next_rand(&rnd) % (MAX_VALUE - 4);
    unsigned seed = next_rand(&rnd);
    checked_fill(val, vl, seed);
    snprintf(key, sizeof key, "k%d", k);
    int r = mp_dict_set(d, key, 2, val, vl);
    if (r != MP_OK) fail_msg("overwrite %d: %s: %s", i, mp_err_name(r), mp_last_error());
    last_len[k] = vl;
    last_seed[k] = seed;
  }
  for (int k = 0; k < KEYS; k++) {
    snprintf(key, sizeof key, "k%d", k);
    checked_fill(val, last_len[k], last_seed[k]);
    assert_value(d, key, 2, val, last_len[k]);
  }
  assert_int_equal(mp_dict_len(d), KEYS);
  mp_dict_free(d);
}

/* Inserting and deleting ever new keys never runs out of entries (deleted
 * slots are reclaimed) and lookups stay right. */
static void test_dict_delete_churn_reclaims_entries(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(16, 1024);
  char key[24];
  for (int i = 0; i < 100000; i++) {
    int n = snprintf(key, sizeof key, "t%d", i);
    int r = mp_dict_set(d, key, (size_t)n, key, (size_t)n);
    if (r != MP_OK) fail_msg("insert %d: %s: %s", i, mp_err_name(r), mp_last_error());
    if (i >= 8) {
      n = snprintf(key, sizeof key, "t%d", i - 8);
      MP_ASSERT_OK(mp_dict_delete(d, key, (size_t)n));
    }
  }
  assert_int_equal(mp_dict_len(d), 8);
  for (int i = 100000 - 8; i < 100000; i++) {
    int n = snprintf(key, sizeof key, "t%d", i);
    assert_value(d, key, (size_t)n, key, (size_t)n);
  }
  assert_int_equal(mp_dict_contains(d, K("t5")), 0);
  mp_dict_free(d);
}

/* ------------------------------------------------------------------------
 * Across processes
 * ---------------------------------------------------------------------- */

static void test_dict_passes_to_spawned_child(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(4, 64);
  int64_t v;
  MP_ASSERT_OK(mp_dict_incr(&v, d, K("count"), 2));
  assert_int_equal(join_code(start_with_dict("dict_decrement", d, 0, MP_START_SPAWN)), 0);
  assert_int_equal(get_i64(d, "count"), 1);
  mp_dict_free(d);
}

/* The seed: 100 processes each do count -= 1 on a count of 100. */
static void test_dict_counter_100_processes_reaches_zero(void **state) {
  (void)state;
  enum { N = 100 };
  mp_dict_t *d = new_dict(4, 64);
  int64_t v;
  MP_ASSERT_OK(mp_dict_incr(&v, d, K("count"), N));
  mp_process_t *procs[N];
  for (int i = 0; i < N; i++) procs[i] = start_with_dict("dict_decrement", d, i, MP_START_FORK);
  for (int i = 0; i < N; i++) assert_int_equal(join_code(procs[i]), 0);
  assert_int_equal(get_i64(d, "count"), 0);
  mp_dict_free(d);
}

static void test_dict_incr_4_processes_exact_total(void **state) {
  (void)state;
  enum { N = 4, EACH = 10000 };
  mp_dict_t *d = new_dict(4, 64);
  mp_process_t *procs[N];
  for (int i = 0; i < N; i++) procs[i] = start_with_dict("dict_increment", d, EACH, MP_START_FORK);
  for (int i = 0; i < N; i++) assert_int_equal(join_code(procs[i]), 0);
  assert_int_equal(get_i64(d, "total"), N * EACH);
  mp_dict_free(d);
}

/* 4 processes set, read back and delete their own keys at once; afterwards
 * the dict holds exactly what each schedule leaves. */
static void test_dict_concurrent_own_keys(void **state) {
  (void)state;
  enum { N = 4 };
  mp_dict_t *d = new_dict(N * OWN_KEYS, 64 * 1024);
  mp_process_t *procs[N];
  for (int w = 0; w < N; w++) procs[w] = start_with_dict("dict_own_keys", d, w, MP_START_FORK);
  for (int w = 0; w < N; w++) assert_int_equal(join_code(procs[w]), 0);
  int present = 0;
  for (int w = 0; w < N; w++) {
    for (int k = 0; k < OWN_KEYS; k++) {
      int last = k + (OWN_STEPS - 1 - k) / OWN_KEYS * OWN_KEYS; /* last step on key k */
      char key[32], val[128];
      int kl = own_key(key, sizeof key, w, k);
      if (last % 3 == 0) {
        assert_int_equal(mp_dict_contains(d, key, (size_t)kl), 0);
        continue;
      }
      int vl = own_value(val, sizeof val, w, last);
      assert_value(d, key, (size_t)kl, val, (size_t)vl);
      present++;
    }
  }
  assert_int_equal(mp_dict_len(d), present);
  mp_dict_free(d);
}

/* Check everything after the crash rounds: len matches the snapshot, every
 * value is whole, each killed writer's counter is its last recorded value
 * or one more, the survivors' counter is exact. */
static void check_after_crashes(mp_dict_t *d) {
  mp_dict_iter_t *it = NULL;
  const void *kp, *vp;
  size_t kl, vl;
  int items = 0;
  MP_ASSERT_OK(mp_dict_iter_new(&it, d));
  while (mp_dict_iter_next(it, &kp, &kl, &vp, &vl) == 1) {
    const char *k = kp;
    items++;
    assert_int_equal(mp_dict_contains(d, kp, kl), 1);
    if (kl == 3 && memcmp(k, "bad", 3) == 0) fail_msg("%.*s", (int)vl, (const char *)vp);
    if (k[0] == 'h') {
      if (!checked_ok(vp, vl)) fail_msg("torn value under %.*s (%zu bytes)", (int)kl, k, vl);
    } else {
      assert_true(k[0] == 'c' || k[0] == 's' || (kl == 8 && memcmp(k, "survivor", 8) == 0) ||
                  (kl == 6 && memcmp(k, "shared", 6) == 0));
      assert_int_equal(vl, 8);
    }
  }
  mp_dict_iter_free(it);
  assert_int_equal(mp_dict_len(d), items);
  for (int u = 0; u < ROUNDS * HAMMERERS; u++) {
    char ck[16], sk[16];
    snprintf(ck, sizeof ck, "c%d", u);
    snprintf(sk, sizeof sk, "s%d", u);
    int64_t c = get_i64(d, ck), s = get_i64(d, sk);
    if (c != s && c != s + 1)
      fail_msg("writer %d: counter %lld, recorded %lld", u, (long long)c, (long long)s);
  }
  assert_int_equal(get_i64(d, "survivor"), (int64_t)ROUNDS * SURVIVOR_INCRS);
}

/* Writers SIGKILLed while they hammer set/incr/delete/cas, round after
 * round, next to a writer that survives: the dict stays usable and
 * consistent, every write happened entirely or not at all. */
static void test_dict_survives_killed_writers(void **state) {
  (void)state;
  mp_dict_t *d = new_dict(128, 4096);
  unsigned char zero[8] = {0};
  unsigned rnd = (unsigned)getpid();
  for (int u = 0; u < ROUNDS * HAMMERERS; u++) {
    char ck[16], sk[16];
    snprintf(ck, sizeof ck, "c%d", u);
    snprintf(sk, sizeof sk, "s%d", u);
    MP_ASSERT_OK(mp_dict_set(d, ck, strlen(ck), zero, 8));
    MP_ASSERT_OK(mp_dict_set(d, sk, strlen(sk), zero, 8));
  }
  for (int round = 0; round < ROUNDS; round++) {
    mp_process_t *procs[HAMMERERS];
    for (int h = 0; h < HAMMERERS; h++)
      procs[h] = start_with_dict("dict_hammer", d, round * HAMMERERS + h, MP_START_FORK);
    mp_process_t *survivor = start_with_dict("dict_survivor", d, 0, MP_START_FORK);
    sleep_ms(5 + (int)(next_rand(&rnd) % 25));
    for (int h = 0; h < HAMMERERS; h++) MP_ASSERT_OK(mp_process_kill(procs[h]));
    for (int h = 0; h < HAMMERERS; h++) {
      int code = join_code(procs[h]);
      if (code != -SIGKILL) {
        void *msg = NULL;
        size_t n = 0;
        if (mp_dict_get(&msg, &n, d, K("bad")) == MP_OK) fail_msg("%s", (char *)msg);
        fail_msg("hammerer exited with %d", code);
      }
    }
    assert_int_equal(join_code(survivor), 0);
  }
  check_after_crashes(d);
  /* Still fully usable. */
  int64_t v;
  MP_ASSERT_OK(mp_dict_set(d, K("after"), K("works")));
  assert_value(d, K("after"), K("works"));
  MP_ASSERT_OK(mp_dict_incr(&v, d, K("survivor"), 1));
  assert_int_equal(v, (int64_t)ROUNDS * SURVIVOR_INCRS + 1);
  MP_ASSERT_OK(mp_dict_delete(d, K("after")));
  MP_ASSERT_OK(mp_dict_clear(d));
  assert_int_equal(mp_dict_len(d), 0);
  mp_dict_free(d);
}

/* ------------------------------------------------------------------------
 * Resources
 * ---------------------------------------------------------------------- */

static void test_dict_free_releases_descriptors(void **state) {
  (void)state;
  int before = count_open_fds();
  for (int i = 0; i < 50; i++) {
    mp_dict_t *d = new_dict(16, 1024), *e = NULL;
    MP_ASSERT_OK(mp_dict_set(d, K("k"), K("v")));
    MP_ASSERT_OK(mp_dict_from_fd(&e, dup(mp_dict_fileno(d))));
    mp_dict_iter_t *it = NULL;
    MP_ASSERT_OK(mp_dict_iter_new(&it, e));
    mp_dict_iter_free(it);
    mp_dict_free(e);
    mp_dict_free(d);
  }
  ASSERT_NO_FD_LEAK(before);
}

int main(int argc, char **argv) {
  if (mp_register("dict_decrement", t_decrement, NULL) != MP_OK ||
      mp_register("dict_increment", t_increment, NULL) != MP_OK ||
      mp_register("dict_own_keys", t_own_keys, NULL) != MP_OK ||
      mp_register("dict_hammer", t_hammer, NULL) != MP_OK ||
      mp_register("dict_survivor", t_survivor, NULL) != MP_OK) {
    fprintf(stderr, "mp_register: %s\n", mp_last_error());
    return 1;
  }
  if (mp_main(argc, argv) != MP_OK) {
    fprintf(stderr, "mp_main: %s\n", mp_last_error());
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dict_new_rejects_bad_sizes),
      cmocka_unit_test(test_dict_fileno_and_free),
      cmocka_unit_test(test_dict_rejects_bad_arguments),
      cmocka_unit_test(test_dict_from_fd_shares_the_dict),
      cmocka_unit_test(test_dict_from_fd_rejects_garbage),
      cmocka_unit_test(test_dict_from_fd_checks_header),
      cmocka_unit_test(test_dict_set_get_roundtrip),
      cmocka_unit_test(test_dict_missing_key_is_enoent),
      cmocka_unit_test(test_dict_get_into_reports_needed_size),
      cmocka_unit_test(test_dict_binary_keys_and_values),
      cmocka_unit_test(test_dict_large_value_roundtrip),
      cmocka_unit_test(test_dict_delete_removes_key),
      cmocka_unit_test(test_dict_clear_removes_everything),
      cmocka_unit_test(test_dict_enospc_when_entries_run_out),
      cmocka_unit_test(test_dict_enospc_when_bytes_run_out),
      cmocka_unit_test(test_dict_incr_counts_from_zero),
      cmocka_unit_test(test_dict_incr_rejects_non_integer_value),
      cmocka_unit_test(test_dict_cas_sets_only_on_match),
      cmocka_unit_test(test_dict_cas_enospc),
      cmocka_unit_test(test_dict_iter_is_a_snapshot),
      cmocka_unit_test(test_dict_overwrites_reuse_space),
      cmocka_unit_test(test_dict_delete_churn_reclaims_entries),
      cmocka_unit_test(test_dict_passes_to_spawned_child),
      cmocka_unit_test(test_dict_counter_100_processes_reaches_zero),
      cmocka_unit_test(test_dict_incr_4_processes_exact_total),
      cmocka_unit_test(test_dict_concurrent_own_keys),
      cmocka_unit_test(test_dict_survives_killed_writers),
      cmocka_unit_test(test_dict_free_releases_descriptors),
  };
  return MP_RUN_TESTS(tests);
}
