/*
 * example_value_points — the whole `modify` example of "共享内存" in
 * 004_*.txt: a Value, a bool, a byte string, an int array and an array of
 * Point structures, two of them guarded by one shared lock.
 *
 *     lock = Lock()
 *     class Point(Structure):
 *         _fields_ = [('x', c_double), ('y', c_double)]
 *     def modify(n, b, s, arr, A):
 *         n.value **= 2
 *         b.value = True
 *         s.value = s.value.upper()
 *         arr[0] = 10
 *         for a in A:
 *             a.x **= 2
 *             a.y **= 2
 *     n = Value('i', 7)
 *     b = Value(c_bool, False, lock=False)
 *     s = Array('c', b'hello world', lock=lock)
 *     arr = Array('i', range(5), lock=True)
 *     A = Array(Point, [(1.875, -6.25), (-5.75, 2.0)], lock=lock)
 *     p = Process(target=modify, args=(n, b, s, arr, A)); p.start(); p.join()
 *     print(n.value); print(b.value); print(s.value); print(arr[:])
 *     print([(a.x, a.y) for a in A])
 *
 * Point is the record "dd" (mp_value_new_record): its fields lie as in
 * `struct point { double x, y; }`, so mp_value_get_record() and
 * mp_value_set_record() copy whole points. s and A share one lock
 * (mp_value_new_with_lock, mp_value_new_record_with_lock; Python's
 * lock=lock): the child opens the lock too and binds its handles on s and
 * A to it (mp_value_bind_lock), as a condition is opened over its lock.
 * Objects reach the child by name (mp_process_pass_fd2, mp_fd_inherit).
 */
#include <multiproc.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct point {
  double x, y;
};

typedef struct shared {
  mp_lock_t *lock;
  mp_value_t *n, *b, *s, *arr, *A;
} shared_t;

static const char *const k_names[] = {"n", "b", "s", "arr", "A"};

static int fail(const char *what, int rc) {
  fprintf(stderr, "%s: %s (%s)\n", what, mp_strerror(rc), mp_last_error());
  return EXIT_FAILURE;
}

static mp_value_t **slot(shared_t *sh, int k) {
  mp_value_t **slots[] = {&sh->n, &sh->b, &sh->s, &sh->arr, &sh->A};
  return slots[k];
}

static void shared_close(shared_t *sh) {
  for (int k = 0; k < 5; k++) mp_value_free(*slot(sh, k));
  mp_lock_free(sh->lock);
  memset(sh, 0, sizeof *sh);
}

/* Open the objects passed by name; s and A get this process's lock. */
static int open_shared(shared_t *sh) {
  int fd;
  int rc = mp_fd_inherit(&fd, "lock");
  if (rc == 0) rc = mp_lock_from_fd(&sh->lock, fd);
  for (int k = 0; rc == 0 && k < 5; k++) {
    rc = mp_fd_inherit(&fd, k_names[k]);
    if (rc == 0) rc = mp_value_from_fd(slot(sh, k), fd);
  }
  if (rc == 0) rc = mp_value_bind_lock(sh->s, sh->lock);
  if (rc == 0) rc = mp_value_bind_lock(sh->A, sh->lock);
  return rc;
}

/* n.value **= 2 (n's own lock: a read, then a write) */
static int square_n(mp_value_t *n) {
  int rc = mp_value_acquire(n, MP_FOREVER);
  if (rc < 0) return rc;
  int64_t v;
  rc = mp_value_get_i64(&v, n, 0);
  if (rc == 0) rc = mp_value_set_i64(n, 0, v * v);
  int r2 = mp_value_release(n);
  return rc < 0 ? rc : r2;
}

/* s.value = s.value.upper(), under the shared lock */
static int upper_s(mp_value_t *s) {
  char buf[32];
  size_t len;
  int rc = mp_value_acquire(s, MP_FOREVER);
  if (rc < 0) return rc;
  rc = mp_value_get_bytes(&len, s, buf, sizeof buf);
  for (size_t i = 0; rc == 0 && i < len; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
  if (rc == 0) rc = mp_value_set_bytes(s, buf, len);
  int r2 = mp_value_release(s);
  return rc < 0 ? rc : r2;
}

/* for a in A: a.x **= 2; a.y **= 2 (the shared lock: whole points) */
static int square_points(mp_value_t *A) {
  size_t count;
  int rc = mp_value_count2(&count, A);
  if (rc == 0) rc = mp_value_acquire(A, MP_FOREVER);
  if (rc < 0) return rc;
  for (size_t i = 0; rc == 0 && i < count; i++) {
    struct point a;
    rc = mp_value_get_record(&a, sizeof a, A, i);
    a.x *= a.x;
    a.y *= a.y;
    if (rc == 0) rc = mp_value_set_record(A, i, &a, sizeof a);
  }
  int r2 = mp_value_release(A);
  return rc < 0 ? rc : r2;
}

static int modify(const void *arg, size_t arg_len, void *payload) {
  (void)arg, (void)arg_len, (void)payload;
  shared_t sh = {0};
  int rc = open_shared(&sh);
  if (rc == 0) rc = square_n(sh.n);
  if (rc == 0) rc = mp_value_set_bool(sh.b, 0, 1); /* b.value = True */
  if (rc == 0) rc = upper_s(sh.s);
  if (rc == 0) rc = mp_value_set_i64(sh.arr, 0, 10); /* arr[0] = 10 */
  if (rc == 0) rc = square_points(sh.A);
  shared_close(&sh);
  return rc < 0 ? fail("modify", rc) : EXIT_SUCCESS;
}

static int create_shared(shared_t *sh) {
  static const struct point start[] = {{1.875, -6.25}, {-5.75, 2.0}};
  int rc = mp_lock_new(&sh->lock, 0);
  if (rc == 0) rc = mp_value_new(&sh->n, MP_TYPE_INT32, 1, MP_VALUE_LOCK);
  if (rc == 0) rc = mp_value_set_i64(sh->n, 0, 7);
  if (rc == 0) rc = mp_value_new(&sh->b, MP_TYPE_BOOL, 1, 0);
  if (rc == 0) rc = mp_value_new_with_lock(&sh->s, MP_TYPE_BYTES, 32, sh->lock);
  if (rc == 0) rc = mp_value_set_bytes(sh->s, "hello world", 11);
  if (rc == 0) rc = mp_value_new(&sh->arr, MP_TYPE_INT32, 5, MP_VALUE_LOCK);
  for (int i = 0; rc == 0 && i < 5; i++) rc = mp_value_set_i64(sh->arr, (size_t)i, i);
  if (rc == 0) rc = mp_value_new_record_with_lock(&sh->A, "dd", 2, sh->lock);
  for (size_t i = 0; rc == 0 && i < 2; i++)
    rc = mp_value_set_record(sh->A, i, &start[i], sizeof start[i]);
  return rc;
}

/* Python's repr of these doubles: the shortest form, at least one decimal. */
static void print_double(double d) {
  char buf[32];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
  printf("%s%s", buf, strpbrk(buf, ".e") ? "" : ".0");
}

static int print_all(const shared_t *sh) {
  int64_t n, v;
  int b;
  char s[32];
  size_t len;
  int rc = mp_value_get_i64(&n, sh->n, 0);
  if (rc == 0) rc = mp_value_get_bool(&b, sh->b, 0);
  if (rc == 0) rc = mp_value_get_bytes(&len, sh->s, s, sizeof s);
  if (rc < 0) return rc;
  printf("%lld\n%s\nb'%.*s'\n[", (long long)n, b ? "True" : "False", (int)len, s);
  for (size_t i = 0; rc == 0 && i < 5; i++) {
    rc = mp_value_get_i64(&v, sh->arr, i);
    printf("%s%lld", i ? ", " : "", (long long)v);
  }
  printf("]\n[");
  for (size_t i = 0; rc == 0 && i < 2; i++) {
    struct point a;
    rc = mp_value_get_record(&a, sizeof a, sh->A, i);
    printf("%s(", i ? ", " : "");
    print_double(a.x);
    printf(", ");
    print_double(a.y);
    printf(")");
  }
  printf("]\n");
  return rc;
}

/* p = Process(target=modify, args=(n, b, s, arr, A)) with the lock too,
 * each by name; start, join. */
static int run_child(shared_t *sh) {
  mp_process_t *p = NULL;
  int rc = mp_process_new(&p, "modify", NULL, 0);
  if (rc == 0) rc = mp_process_pass_fd2(p, "lock", mp_lock_fileno(sh->lock));
  for (int k = 0; rc == 0 && k < 5; k++)
    rc = mp_process_pass_fd2(p, k_names[k], mp_value_fileno(*slot(sh, k)));
  if (rc == 0) rc = mp_process_start(p);
  if (rc == 0) rc = mp_process_join(p, MP_FOREVER);
  int code = -1;
  if (rc == 0) rc = mp_process_exitcode(&code, p);
  mp_process_free(p);
  if (rc == 0 && code != 0) {
    fprintf(stderr, "modify() exited with %d\n", code);
    return MP_ETASKFAILED;
  }
  return rc;
}

int main(int argc, char **argv) {
  int rc = mp_register("modify", modify, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);
  shared_t sh = {0};
  rc = create_shared(&sh);
  if (rc < 0) {
    fail("create the shared values", rc);
  } else {
    fflush(stdout);
    rc = run_child(&sh);
    if (rc < 0) fail("run modify()", rc);
  }
  if (rc == 0) rc = print_all(&sh);
  shared_close(&sh);
  return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
