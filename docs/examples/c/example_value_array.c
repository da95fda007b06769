/*
 * example_value_array — a child changes a shared Value and Arrays; the
 * parent sees the changes.
 *
 * Ports the `modify` example of "共享内存" in 004_*.txt
 * (from Python's documentation):
 *
 *     def modify(n, b, s, arr, A):
 *         n.value **= 2
 *         b.value = True
 *         s.value = s.value.upper()
 *         arr[0] = 10
 *         for a in A:
 *             a.x **= 2
 *             a.y **= 2
 *
 *     if __name__ == "__main__":
 *         n = Value('i', 7)
 *         b = Value(c_bool, False, lock=False)
 *         s = Array('c', b'hello world', lock=lock)
 *         arr = Array('i', range(5), lock=True)
 *         A = Array(Point, [(1.875, -6.25), (-5.75, 2.0)], lock=lock)
 *         p = Process(target=modify, args=(n, b, s, arr, A))
 *         p.start()
 *         p.join()
 *         print(n.value)            # 49
 *         print(b.value)            # True
 *         print(s.value)            # b'HELLO WORLD'
 *         print(arr[:])             # [10, 1, 2, 3, 4]
 *
 * The port keeps three of the five: a Value('d', 1.875, lock=True) that
 * the child doubles, an Array('c', b'hello world') that it upper-cases,
 * and an Array('i', range(5)) whose elements it negates. (ctypes
 * structures such as Point have no counterpart: use an mp_shm_t block
 * and a struct of your own.)
 *
 * Each one is an mp_value_t (mp_value_new(type, count, flags)); the child
 * opens it from the descriptor the parent passed. Every element is read
 * and written atomically on its own, but `n.value *= 2` is a read, then a
 * write: another process could write in between. So n has a lock
 * (MP_VALUE_LOCK, Python's lock=True) and the child doubles it under
 * mp_value_acquire/mp_value_release (n.get_lock()). The array is only
 * touched by the child, so no lock is needed there.
 */
#include <multiproc.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN 5
#define TEXT "hello world"
#define TEXT_CAP 32

/* Descriptors passed to the child, in this order. */
#define FD_N 0
#define FD_S 1
#define FD_ARR 2

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

/* The three shared objects. */
typedef struct shared {
  mp_value_t *n;   /* Value('d', 1.875, lock=True) */
  mp_value_t *s;   /* Array('c', b'hello world') */
  mp_value_t *arr; /* Array('i', range(5)) */
} shared_t;

static void shared_close(shared_t *sh) {
  mp_value_free(sh->arr);
  mp_value_free(sh->s);
  mp_value_free(sh->n);
  memset(sh, 0, sizeof *sh);
}

/* n.value *= 2, under n's lock. */
static int double_n(mp_value_t *n) {
  int rc = mp_value_acquire(n, MP_FOREVER); /* with n.get_lock(): */
  if (rc < 0) return fail("mp_value_acquire", rc);
  double v;
  int status = EXIT_SUCCESS;
  rc = mp_value_get_f64(&v, n, 0);
  if (rc < 0) status = fail("mp_value_get_f64", rc);
  if (status == EXIT_SUCCESS) {
    rc = mp_value_set_f64(n, 0, v * 2);
    if (rc < 0) status = fail("mp_value_set_f64", rc);
  }
  rc = mp_value_release(n);
  if (rc < 0 && status == EXIT_SUCCESS) status = fail("mp_value_release", rc);
  return status;
}

/* s.value = s.value.upper() */
static int upper_s(mp_value_t *s) {
  char buf[TEXT_CAP];
  size_t len;
  int rc = mp_value_get_bytes(&len, s, buf, sizeof buf);
  if (rc < 0) return fail("mp_value_get_bytes", rc);
  for (size_t i = 0; i < len; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
  rc = mp_value_set_bytes(s, buf, len);
  if (rc < 0) return fail("mp_value_set_bytes", rc);
  return EXIT_SUCCESS;
}

/* for i in range(len(arr)): arr[i] = -arr[i] */
static int negate_arr(mp_value_t *arr) {
  size_t count;
  int rc = mp_value_count2(&count, arr);
  if (rc < 0) return fail("mp_value_count2", rc);
  for (size_t i = 0; i < count; i++) {
    int64_t v;
    rc = mp_value_get_i64(&v, arr, i);
    if (rc < 0) return fail("mp_value_get_i64", rc);
    rc = mp_value_set_i64(arr, i, -v);
    if (rc < 0) return fail("mp_value_set_i64", rc);
  }
  return EXIT_SUCCESS;
}

/* def modify(n, s, arr): the objects arrive as descriptors 0, 1, 2. */
static int modify(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  shared_t sh = {0};
  mp_value_t **slots[3] = {&sh.n, &sh.s, &sh.arr};
  int status = EXIT_SUCCESS;
  for (size_t k = 0; k < 3 && status == EXIT_SUCCESS; k++) {
    int fd = mp_child_fd(k);
    int rc = fd < 0 ? fd : mp_value_from_fd(slots[k], fd);
    if (rc < 0) status = fail("open a shared value", rc);
  }
  if (status == EXIT_SUCCESS) status = double_n(sh.n);
  if (status == EXIT_SUCCESS) status = upper_s(sh.s);
  if (status == EXIT_SUCCESS) status = negate_arr(sh.arr);
  shared_close(&sh);
  return status;
}

/* print(n.value); print(s.value); print(arr[:]) */
static int print_all(const char *when, const shared_t *sh) {
  double n;
  int rc = mp_value_get_f64(&n, sh->n, 0);
  if (rc < 0) return fail("mp_value_get_f64", rc);
  char s[TEXT_CAP];
  size_t len;
  rc = mp_value_get_bytes(&len, sh->s, s, sizeof s);
  if (rc < 0) return fail("mp_value_get_bytes", rc);
  printf("%s:\n", when);
  printf("  n.value = %g\n", n);
  printf("  s.value = b'%.*s'\n", (int)len, s);
  size_t count;
  rc = mp_value_count2(&count, sh->arr);
  if (rc < 0) return fail("mp_value_count2", rc);
  printf("  arr[:] = [");
  for (size_t i = 0; i < count; i++) {
    int64_t v;
    rc = mp_value_get_i64(&v, sh->arr, i);
    if (rc < 0) return fail("mp_value_get_i64", rc);
    printf("%s%lld", i ? ", " : "", (long long)v);
  }
  printf("]\n");
  return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
  int rc = mp_register("modify", modify, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  shared_t sh = {0};
  mp_process_t *p = NULL;
  int status = EXIT_SUCCESS;

  /* n = Value('d', 1.875, lock=True) */
  rc = mp_value_new(&sh.n, MP_TYPE_DOUBLE, 1, MP_VALUE_LOCK);
  if (rc == 0) rc = mp_value_set_f64(sh.n, 0, 1.875);
  /* s = Array('c', b'hello world'): capacity TEXT_CAP bytes */
  if (rc == 0) rc = mp_value_new(&sh.s, MP_TYPE_BYTES, TEXT_CAP, 0);
  if (rc == 0) rc = mp_value_set_bytes(sh.s, TEXT, strlen(TEXT));
  /* arr = Array('i', range(5)) */
  if (rc == 0) rc = mp_value_new(&sh.arr, MP_TYPE_INT32, ARRAY_LEN, 0);
  for (int i = 0; rc == 0 && i < ARRAY_LEN; i++) rc = mp_value_set_i64(sh.arr, (size_t)i, i);
  if (rc < 0) {
    status = fail("create the shared values", rc);
    goto out;
  }
  status = print_all("before", &sh);
  if (status != EXIT_SUCCESS) goto out;

  /* p = Process(target=modify, args=(n, s, arr)); p.start(); p.join() */
  rc = mp_process_new(&p, "modify", NULL, 0);
  if (rc < 0) {
    status = fail("mp_process_new", rc);
    goto out;
  }
  mp_value_t *in_order[3] = {sh.n, sh.s, sh.arr}; /* indexes FD_N, FD_S, FD_ARR */
  for (int k = 0; k < 3; k++) {
    rc = mp_process_pass_fd(p, mp_value_fileno(in_order[k]));
    if (rc < 0) {
      status = fail("mp_process_pass_fd", rc);
      goto out;
    }
  }
  fflush(stdout);
  rc = mp_process_start(p);
  if (rc < 0) {
    status = fail("mp_process_start", rc);
    goto out;
  }
  rc = mp_process_join(p, MP_FOREVER);
  if (rc < 0) {
    status = fail("mp_process_join", rc);
    goto out;
  }
  int code;
  rc = mp_process_exitcode(&code, p);
  if (rc < 0) {
    status = fail("mp_process_exitcode", rc);
    goto out;
  }
  printf("modify() exited with %d\n", code);
  if (code != 0) {
    status = EXIT_FAILURE;
    goto out;
  }
  status = print_all("after", &sh);

out:
  mp_process_free(p);
  shared_close(&sh);
  return status;
}
