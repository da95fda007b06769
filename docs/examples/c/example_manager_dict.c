/*
 * example_manager_dict — 100 processes count down a shared dict entry.
 *
 * Ports the Manager example of "数据共享（了解）" in 001_*.txt:
 *
 *     def work(d, lock):
 *         with lock:        # without the lock the data gets corrupted
 *             d['count'] -= 1
 *
 *     if __name__ == '__main__':
 *         lock = Lock()
 *         with Manager() as m:
 *             dic = m.dict({'count': 100})
 *             p_l = []
 *             for i in range(100):
 *                 p = Process(target=work, args=(dic, lock))
 *                 p_l.append(p)
 *                 p.start()
 *             for p in p_l:
 *                 p.join()
 *             print(dic)    # {'count': 0}
 *
 * Manager().dict() is a server process: every d['count'] -= 1 is two
 * round trips to it (a get, then a set), so two workers can both read 5
 * and both write 4, which is why the Python needs the Lock around it.
 *
 * mp_dict_t lives in shared memory instead (no server process), and
 * mp_dict_incr(&new, d, key, len, -1) is one atomic operation: no lock,
 * and the count ends at exactly 0 every time. An integer in a dict is 8
 * bytes, little-endian two's complement; le64() writes one.
 *
 * The rest of the port shows the dict's other operations, as Python
 * would write them: d[k] = v (mp_dict_set), d[k] (mp_dict_get), k in d
 * (mp_dict_contains), len(d) (mp_dict_len), del d[k] (mp_dict_delete),
 * a missing key (MP_ENOENT, Python's KeyError), items() (an iterator
 * over a snapshot, mp_dict_iter_*; the order is unspecified, so this
 * port sorts), and a compare-and-set (mp_dict_cas) that changes a value
 * only if nobody else changed it first.
 */
#include <multiproc.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKERS 100
#define MAX_ENTRIES 16
#define MAX_BYTES 4096
#define MAX_ITEMS 16
#define ITEM_MAX 64

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

/* The dict's integer format: 8 bytes, little-endian. */
static void le64(unsigned char out[8], int64_t v) {
  uint64_t u = (uint64_t)v;
  for (int i = 0; i < 8; i++) out[i] = (unsigned char)(u >> (8 * i));
}

static int64_t from_le64(const unsigned char in[8]) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u |= (uint64_t)in[i] << (8 * i);
  return (int64_t)u;
}

/* def work(d): d['count'] -= 1, atomically, without a lock. */
static int work(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  mp_dict_t *d = NULL;
  int fd = mp_child_fd(0);
  if (fd < 0) return fail("mp_child_fd", fd);
  int rc = mp_dict_from_fd(&d, fd);
  if (rc < 0) return fail("mp_dict_from_fd", rc);
  int64_t now;
  rc = mp_dict_incr(&now, d, "count", 5, -1);
  mp_dict_free(d);
  if (rc < 0) return fail("mp_dict_incr", rc);
  return EXIT_SUCCESS;
}

/* One item of a snapshot, copied out of the iterator. */
typedef struct item {
  char key[ITEM_MAX];
  char value[ITEM_MAX]; /* printed form */
} item_t;

static int cmp_item(const void *a, const void *b) {
  return strcmp(((const item_t *)a)->key, ((const item_t *)b)->key);
}

/* print(dict(d.items())), keys sorted. The value of "count" is an
 * integer; every other value is text. */
static int print_dict(mp_dict_t *d) {
  mp_dict_iter_t *it = NULL;
  item_t items[MAX_ITEMS];
  int n = 0, rc = mp_dict_iter_new(&it, d);
  if (rc < 0) return fail("mp_dict_iter_new", rc);
  for (;;) {
    const void *key, *value;
    size_t key_len, value_len;
    rc = mp_dict_iter_next2(&key, &key_len, &value, &value_len, it);
    if (rc < 0) {
      mp_dict_iter_free(it);
      return fail("mp_dict_iter_next2", rc);
    }
    if (rc == 0) break; /* the end of the snapshot */
    if (n == MAX_ITEMS || key_len >= ITEM_MAX || value_len >= ITEM_MAX) {
      mp_dict_iter_free(it);
      fprintf(stderr, "unexpected item in the dict\n");
      return EXIT_FAILURE;
    }
    snprintf(items[n].key, ITEM_MAX, "%.*s", (int)key_len, (const char *)key);
    if (strcmp(items[n].key, "count") == 0 && value_len == 8)
      snprintf(items[n].value, ITEM_MAX, "%lld", (long long)from_le64(value));
    else
      snprintf(items[n].value, ITEM_MAX, "'%.*s'", (int)value_len, (const char *)value);
    n++;
  }
  mp_dict_iter_free(it);
  qsort(items, (size_t)n, sizeof items[0], cmp_item);
  printf("{");
  for (int i = 0; i < n; i++)
    printf("%s'%s': %s", i ? ", " : "", items[i].key, items[i].value);
  printf("}\n");
  return EXIT_SUCCESS;
}

/* d[key] = text */
static int set_text(mp_dict_t *d, const char *key, const char *text) {
  int rc = mp_dict_set(d, key, strlen(key), text, strlen(text));
  if (rc < 0) return fail("mp_dict_set", rc);
  return EXIT_SUCCESS;
}

/* Start the 100 workers, join them all; require exit code 0. */
static int count_down(mp_dict_t *d) {
  mp_process_t *p_l[WORKERS] = {NULL};
  int status = EXIT_SUCCESS, rc;
  fflush(stdout);
  for (int i = 0; i < WORKERS; i++) {
    rc = mp_process_new(&p_l[i], "work", NULL, 0);
    if (rc < 0) {
      status = fail("mp_process_new", rc);
      break;
    }
    rc = mp_process_pass_fd(p_l[i], mp_dict_fileno(d));
    if (rc < 0) {
      status = fail("mp_process_pass_fd", rc);
      break;
    }
    rc = mp_process_start(p_l[i]);
    if (rc < 0) {
      status = fail("mp_process_start", rc);
      break;
    }
  }
  for (int i = 0; i < WORKERS; i++) {
    if (p_l[i] == NULL || mp_process_pid(p_l[i]) < 0) continue; /* not started */
    rc = mp_process_join(p_l[i], MP_FOREVER);
    int code = -1;
    if (rc == 0) rc = mp_process_exitcode(&code, p_l[i]);
    if (rc < 0) {
      if (status == EXIT_SUCCESS) status = fail("join a worker", rc);
    } else if (code != 0) {
      fprintf(stderr, "%s exited with %d\n", mp_process_name(p_l[i]), code);
      status = EXIT_FAILURE;
    }
  }
  for (int i = 0; i < WORKERS; i++) mp_process_free(p_l[i]);
  return status;
}

/* The other operations of a dict. */
static int tour(mp_dict_t *d) {
  if (set_text(d, "name", "tickets") != EXIT_SUCCESS) return EXIT_FAILURE;
  if (set_text(d, "city", "Beijing") != EXIT_SUCCESS) return EXIT_FAILURE;
  int rc = mp_dict_len(d);
  if (rc < 0) return fail("mp_dict_len", rc);
  printf("len(d) = %d\n", rc);

  void *value = NULL;
  size_t len = 0;
  rc = mp_dict_get(&value, &len, d, "name", 4);
  if (rc < 0) return fail("mp_dict_get", rc);
  printf("d['name'] = '%s'\n", (const char *)value); /* NUL-terminated */
  mp_free(value);

  rc = mp_dict_contains(d, "city", 4);
  if (rc < 0) return fail("mp_dict_contains", rc);
  printf("'city' in d: %s\n", rc ? "True" : "False");
  rc = mp_dict_delete(d, "city", 4);
  if (rc < 0) return fail("mp_dict_delete", rc);
  printf("del d['city']\n");
  rc = mp_dict_contains(d, "city", 4);
  if (rc < 0) return fail("mp_dict_contains", rc);
  printf("'city' in d: %s\n", rc ? "True" : "False");
  rc = mp_dict_get(&value, &len, d, "city", 4);
  printf("d['city'] -> %s (KeyError)\n", mp_err_name(rc));
  if (rc != MP_ENOENT) {
    if (rc == MP_OK) mp_free(value);
    fprintf(stderr, "get of a deleted key: expected ENOENT\n");
    return EXIT_FAILURE;
  }

  /* Compare-and-set: the first succeeds, the second finds the value
   * changed and leaves it alone. */
  for (int i = 0; i < 2; i++) {
    rc = mp_dict_cas(d, "name", 4, "tickets", 7, "sold out", 8);
    if (rc < 0) return fail("mp_dict_cas", rc);
    printf("cas d['name'] 'tickets' -> 'sold out': %s\n",
           rc ? "swapped" : "not swapped (the value had changed)");
  }
  return print_dict(d);
}

int main(int argc, char **argv) {
  int rc = mp_register("work", work, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  mp_dict_t *d = NULL;
  int status = EXIT_SUCCESS;

  /* dic = m.dict({'count': 100}) */
  rc = mp_dict_new(&d, MAX_ENTRIES, MAX_BYTES);
  if (rc < 0) return fail("mp_dict_new", rc);
  unsigned char hundred[8];
  le64(hundred, 100);
  rc = mp_dict_set(d, "count", 5, hundred, sizeof hundred);
  if (rc < 0) {
    status = fail("mp_dict_set", rc);
    goto out;
  }
  status = print_dict(d);
  if (status != EXIT_SUCCESS) goto out;

  status = count_down(d);
  if (status != EXIT_SUCCESS) goto out;
  printf("%d processes did d['count'] -= 1:\n", WORKERS);
  status = print_dict(d); /* print(dic) */
  if (status != EXIT_SUCCESS) goto out;

  int64_t count;
  rc = mp_dict_incr(&count, d, "count", 5, 0); /* read it as a number */
  if (rc < 0) {
    status = fail("mp_dict_incr", rc);
    goto out;
  }
  if (count != 0) {
    fprintf(stderr, "count is %lld, expected 0\n", (long long)count);
    status = EXIT_FAILURE;
    goto out;
  }
  status = tour(d);

out:
  mp_dict_free(d);
  return status;
}
