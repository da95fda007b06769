/*
 * example_pool_map — Pool.map (every result, in argument order) and
 * Pool.imap_unordered (each result as soon as it is ready).
 *
 * Ports the map examples of "进程池和multiprocess.Pool" in 001_*.txt
 * ("map is asynchronous and comes with close and join") and of the
 * process pool in 004_*.txt, and the last example of 001_*.txt, which
 * squares range(10) and collects the results in the main process:
 *
 *     def work(n):
 *         return n**2
 *
 *     if __name__ == '__main__':
 *         p = Pool(2)
 *         print(p.map(work, range(1, 11)))        # in argument order
 *         print(sum(p.imap_unordered(work, range(1, 11))))
 *
 * mp_pool_map() takes n argument buffers (here each an int64_t) and
 * returns an mp_result_t with n items, in argument order whatever order
 * the workers finished in; mp_result_item(i) gives item i's bytes and
 * status. It returns MP_OK only if every item succeeded (Python's map
 * raises the first exception). chunksize 0 is automatic, as in Python:
 * n / (4 * workers) rounded up, here 10 / 8 -> 2 arguments per message to
 * a worker, which saves a round trip per argument.
 *
 * mp_pool_imap(..., MP_IMAP_UNORDERED) returns an iterator;
 * mp_pool_iter_next() gives the next result to finish, with its argument's
 * index, until MP_ECLOSED (StopIteration). The order changes from run to
 * run, so the program prints the sum, and checks that every index came
 * exactly once.
 */
#include <multiproc.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NWORKERS 2
#define N 10 /* range(1, 11) */

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

/* def work(n): return n**2 (an int64_t in, an int64_t out). */
static int work(void **out, size_t *out_len, const void *arg, size_t arg_len,
                void *payload) {
  (void)payload;
  int64_t n;
  if (arg_len != sizeof n) return 1;
  memcpy(&n, arg, sizeof n);
  int64_t *sq = malloc(sizeof *sq); /* freed by the library */
  if (sq == NULL) return 1;
  *sq = n * n;
  *out = sq;
  *out_len = sizeof *sq;
  return 0;
}

/* Read an int64_t result (the bytes need not be aligned). */
static int read_i64(int64_t *v, const void *data, size_t len) {
  if (len != sizeof *v) {
    fprintf(stderr, "result of %zu bytes, expected %zu\n", len, sizeof *v);
    return EXIT_FAILURE;
  }
  memcpy(v, data, sizeof *v);
  return EXIT_SUCCESS;
}

/* print(p.map(work, range(1, 11))) */
static int run_map(mp_pool_t *pool, const void *const *args,
                   const size_t *lens) {
  mp_result_t *res = NULL;
  int rc = mp_pool_map(&res, pool, "work", args, lens, N, 0 /* auto */);
  if (rc < 0) {
    mp_result_free(res); /* set even on failure */
    return fail("mp_pool_map", rc);
  }
  int status = EXIT_SUCCESS;
  int count = mp_result_count(res);
  if (count != N) {
    fprintf(stderr, "map: %d items, expected %d\n", count, N);
    status = EXIT_FAILURE;
    goto out;
  }
  printf("map: [");
  for (int i = 0; i < count; i++) {
    const void *data = NULL;
    size_t len = 0;
    int64_t v;
    rc = mp_result_item(&data, &len, res, (size_t)i);
    if (rc < 0) {
      printf("\n");
      status = fail("mp_result_item", rc);
      goto out;
    }
    status = read_i64(&v, data, len);
    if (status != EXIT_SUCCESS) goto out;
    printf("%s%lld", i > 0 ? ", " : "", (long long)v);
  }
  printf("]\n");

out:
  mp_result_free(res);
  return status;
}

/* print(sum(p.imap_unordered(work, range(1, 11)))) */
static int run_imap_unordered(mp_pool_t *pool, const void *const *args,
                              const size_t *lens) {
  mp_pool_iter_t *it = NULL;
  int rc = mp_pool_imap(&it, pool, "work", args, lens, N, 0,
                        MP_IMAP_UNORDERED);
  if (rc < 0) return fail("mp_pool_imap", rc);
  int status = EXIT_SUCCESS;
  int seen[N] = {0};
  int count = 0;
  int64_t sum = 0;
  for (;;) {
    size_t index = 0;
    const void *data = NULL;
    size_t len = 0;
    rc = mp_pool_iter_next(&index, &data, &len, it, MP_FOREVER);
    if (rc == 0) break; /* StopIteration */
    if (rc < 0) {
      status = fail("mp_pool_iter_next", rc);
      goto out;
    }
    int64_t v;
    status = read_i64(&v, data, len);
    if (status != EXIT_SUCCESS) goto out;
    if (index >= N) {
      fprintf(stderr, "imap: index %zu out of range\n", index);
      status = EXIT_FAILURE;
      goto out;
    }
    seen[index]++;
    count++;
    sum += v;
  }
  int once = count == N;
  for (int i = 0; i < N; i++) once = once && seen[i] == 1;
  printf("imap_unordered: %d results, sum %lld\n", count, (long long)sum);
  printf("imap_unordered: every argument's result came once: %s\n",
         once ? "yes" : "no");
  if (!once) status = EXIT_FAILURE;

out:
  mp_pool_iter_free(it);
  return status;
}

int main(int argc, char **argv) {
  int rc = mp_register_task("work", work, NULL);
  if (rc < 0) return fail("mp_register_task", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  /* range(1, 11): N int64_t arguments, each its own buffer. */
  int64_t values[N];
  const void *args[N];
  size_t lens[N];
  for (int i = 0; i < N; i++) {
    values[i] = i + 1;
    args[i] = &values[i];
    lens[i] = sizeof values[i];
  }

  mp_pool_opts_t *opts = NULL;
  mp_pool_t *pool = NULL;
  int status = EXIT_SUCCESS;
  rc = mp_pool_opts_new(&opts);
  if (rc < 0) return fail("mp_pool_opts_new", rc);
  rc = mp_pool_opts_set_workers(opts, NWORKERS); /* Pool(2) */
  if (rc < 0) {
    status = fail("mp_pool_opts_set_workers", rc);
    goto out;
  }
  rc = mp_pool_new(&pool, opts);
  if (rc < 0) {
    status = fail("mp_pool_new", rc);
    goto out;
  }

  status = run_map(pool, args, lens);
  if (status == EXIT_SUCCESS) status = run_imap_unordered(pool, args, lens);
  if (status != EXIT_SUCCESS) goto out;

  rc = mp_pool_close(pool);
  if (rc < 0) {
    status = fail("mp_pool_close", rc);
    goto out;
  }
  rc = mp_pool_join(pool, MP_FOREVER);
  if (rc < 0) {
    status = fail("mp_pool_join", rc);
    goto out;
  }
  printf("main: pool closed and joined\n");

out:
  mp_pool_free(pool);
  mp_pool_opts_free(opts);
  return status;
}
