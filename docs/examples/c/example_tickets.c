/*
 * example_tickets — ticket grabbing with and without a lock.
 *
 * Ports the 抢票 (ticket grabbing) examples of "进程同步（锁）" in 001_*.txt. The
 * Python keeps the ticket count in a file `db` ({"count":1}); every buyer
 * looks at it, then reads it, waits (network delay), and writes it back
 * one lower:
 *
 *     def search():
 *         dic = json.load(open('db'))
 *         print('剩余票数%s' % dic['count'])      # tickets left
 *
 *     def get():
 *         dic = json.load(open('db'))
 *         time.sleep(0.1)           # everybody has read {"count": 1} now
 *         if dic['count'] > 0:
 *             dic['count'] -= 1
 *             time.sleep(0.2)
 *             json.dump(dic, open('db', 'w'))
 *             print('购票成功')                   # bought a ticket
 *         else:
 *             print('sorry, 没票了亲!')            # sorry, sold out
 *
 *     def task(lock):
 *         search()
 *         lock.acquire()            # the second version only
 *         get()
 *         lock.release()
 *
 *     if __name__ == '__main__':
 *         lock = Lock()
 *         for i in range(3):
 *             p = Process(target=task, args=(lock,))
 *             p.start()
 *
 * Without the lock every buyer "bought" the last ticket; with it, one did
 * and the others were told it was sold out.
 *
 * Here the count is an mp_value_t (Value('q')) instead of a file: 3
 * tickets, 10 buyers. The Python relies on time.sleep(0.1) to make every
 * buyer read before anybody writes, which is likely but not certain. To
 * make the output the same on every run, the port replaces that sleep
 * with an mp_barrier_t of all the buyers: in the first round each buyer
 * reads the count, waits at the barrier until all 10 have read it, and
 * only then writes back what it read minus one. So all 10 read 3, all 10
 * "buy", and the count ends at 2: 10 tickets sold for 3 seats, and 8 sales
 * lost from the count (the read-modify-write race, forced every time).
 *
 * In the second round each buyer takes an mp_lock_t around get(), as in
 * the Python. The barrier now sits after search() only (everybody has
 * looked at the count before anyone buys, which is what the Python's
 * output shows); inside the lock no buyer waits for the others. Exactly
 * 3 buyers get a ticket, 7 are told sold out, and the count ends at 0.
 * Which buyers are lucky changes from run to run, so the lines do not
 * name them.
 *
 * Sales and refusals are counted in a second value, an Array('q', 2),
 * with mp_value_add_i64 (atomic, no lock needed), so the parent can print
 * the totals after joining the buyers.
 */
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICKETS 3
#define BUYERS 10
#define BARRIER_TIMEOUT_MS 10000 /* a buyer that never comes is an error */

/* Elements of the stats array. */
#define SOLD 0
#define REFUSED 1

/* Descriptors passed to each buyer, in this order. */
#define FD_TICKETS 0
#define FD_STATS 1
#define FD_BARRIER 2
#define FD_LOCK 3 /* the locked round only */

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

/* What a buyer works with. */
typedef struct shop {
  mp_value_t *tickets; /* Value('q', TICKETS): the db file */
  mp_value_t *stats;   /* Array('q', 2): sold, refused */
  mp_barrier_t *everybody;
  mp_lock_t *lock; /* NULL in the round without a lock */
} shop_t;

static void shop_close(shop_t *s) {
  mp_lock_free(s->lock);
  mp_barrier_free(s->everybody);
  mp_value_free(s->stats);
  mp_value_free(s->tickets);
  memset(s, 0, sizeof *s);
}

/* In a buyer: open what the parent passed. */
static int shop_open(shop_t *s, int with_lock) {
  int fd = mp_child_fd(FD_TICKETS);
  if (fd < 0) return fail("mp_child_fd", fd);
  int rc = mp_value_from_fd(&s->tickets, fd);
  if (rc < 0) return fail("mp_value_from_fd", rc);
  fd = mp_child_fd(FD_STATS);
  if (fd < 0) return fail("mp_child_fd", fd);
  rc = mp_value_from_fd(&s->stats, fd);
  if (rc < 0) return fail("mp_value_from_fd", rc);
  fd = mp_child_fd(FD_BARRIER);
  if (fd < 0) return fail("mp_child_fd", fd);
  rc = mp_barrier_from_fd(&s->everybody, fd);
  if (rc < 0) return fail("mp_barrier_from_fd", rc);
  if (with_lock) {
    fd = mp_child_fd(FD_LOCK);
    if (fd < 0) return fail("mp_child_fd", fd);
    rc = mp_lock_from_fd(&s->lock, fd);
    if (rc < 0) return fail("mp_lock_from_fd", rc);
  }
  return EXIT_SUCCESS;
}

/* def search(): print the tickets left. */
static int search(shop_t *s) {
  int64_t count;
  int rc = mp_value_get_i64(&count, s->tickets, 0);
  if (rc < 0) return fail("mp_value_get_i64", rc);
  printf("tickets left: %lld\n", (long long)count);
  fflush(stdout);
  return EXIT_SUCCESS;
}

/* All buyers meet here (the Python's time.sleep(0.1)). */
static int wait_for_everybody(shop_t *s) {
  int rc = mp_barrier_wait(s->everybody, BARRIER_TIMEOUT_MS);
  if (rc < 0) return fail("mp_barrier_wait", rc);
  return EXIT_SUCCESS;
}

/* def get(): read the count, (delay), write it back one lower. With
 * race set, the delay is the barrier: every buyer reads before anyone
 * writes. */
static int get(shop_t *s, int race) {
  int64_t count, unused;
  int rc = mp_value_get_i64(&count, s->tickets, 0);
  if (rc < 0) return fail("mp_value_get_i64", rc);
  if (race && wait_for_everybody(s) != EXIT_SUCCESS) return EXIT_FAILURE;
  if (count > 0) {
    rc = mp_value_set_i64(s->tickets, 0, count - 1); /* json.dump */
    if (rc < 0) return fail("mp_value_set_i64", rc);
    rc = mp_value_add_i64(&unused, s->stats, SOLD, 1);
    if (rc < 0) return fail("mp_value_add_i64", rc);
    printf("bought a ticket\n");
  } else {
    rc = mp_value_add_i64(&unused, s->stats, REFUSED, 1);
    if (rc < 0) return fail("mp_value_add_i64", rc);
    printf("sorry, sold out\n");
  }
  fflush(stdout);
  return EXIT_SUCCESS;
}

/* def task(lock): the argument is one byte, '0' (no lock) or '1'. */
static int task(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  if (arg_len != 1) return 2;
  int with_lock = ((const char *)arg)[0] == '1';
  shop_t s = {0};
  int status = shop_open(&s, with_lock);
  if (status == EXIT_SUCCESS) status = search(&s);
  if (status == EXIT_SUCCESS && !with_lock) {
    status = get(&s, 1);
  } else if (status == EXIT_SUCCESS) {
    status = wait_for_everybody(&s); /* everybody has looked */
    if (status == EXIT_SUCCESS) {
      int rc = mp_lock_acquire(s.lock, MP_FOREVER); /* lock.acquire() */
      if (rc < 0) { /* MP_EOWNERDEAD too: no buyer here dies holding it */
        status = fail("mp_lock_acquire", rc);
      } else {
        status = get(&s, 0);
        rc = mp_lock_release(s.lock); /* lock.release() */
        if (rc < 0 && status == EXIT_SUCCESS) status = fail("mp_lock_release", rc);
      }
    }
  }
  shop_close(&s);
  return status;
}

/* Start BUYERS buyers of one round, join them all, require exit code 0. */
static int run_round(const shop_t *s, int with_lock) {
  mp_process_t *buyers[BUYERS] = {NULL};
  const char arg = with_lock ? '1' : '0';
  int status = EXIT_SUCCESS, rc;
  fflush(stdout);
  for (int i = 0; i < BUYERS; i++) {
    rc = mp_process_new(&buyers[i], "task", &arg, 1);
    if (rc < 0) {
      status = fail("mp_process_new", rc);
      break;
    }
    int fds[4] = {mp_value_fileno(s->tickets), mp_value_fileno(s->stats),
                  mp_barrier_fileno(s->everybody),
                  with_lock ? mp_lock_fileno(s->lock) : -1};
    for (int k = 0; k < (with_lock ? 4 : 3) && status == EXIT_SUCCESS; k++) {
      rc = mp_process_pass_fd(buyers[i], fds[k]); /* index k */
      if (rc < 0) status = fail("mp_process_pass_fd", rc);
    }
    if (status != EXIT_SUCCESS) break;
    rc = mp_process_start(buyers[i]);
    if (rc < 0) {
      status = fail("mp_process_start", rc);
      break;
    }
  }
  /* Join whatever was started, also after a failure (a buyer waiting at
   * the barrier for one that never came times out and exits). */
  for (int i = 0; i < BUYERS; i++) {
    if (buyers[i] == NULL || mp_process_pid(buyers[i]) < 0) continue;
    rc = mp_process_join(buyers[i], MP_FOREVER);
    if (rc < 0) {
      if (status == EXIT_SUCCESS) status = fail("mp_process_join", rc);
      continue;
    }
    int code;
    rc = mp_process_exitcode(&code, buyers[i]);
    if (rc < 0) {
      if (status == EXIT_SUCCESS) status = fail("mp_process_exitcode", rc);
    } else if (code != 0) {
      fprintf(stderr, "%s exited with %d\n", mp_process_name(buyers[i]), code);
      status = EXIT_FAILURE;
    }
  }
  for (int i = 0; i < BUYERS; i++) mp_process_free(buyers[i]);
  return status;
}

/* Put the tickets back on sale and zero the statistics. */
static int reset(shop_t *s) {
  int rc = mp_value_set_i64(s->tickets, 0, TICKETS);
  if (rc < 0) return fail("mp_value_set_i64", rc);
  for (size_t i = 0; i < 2; i++) {
    rc = mp_value_set_i64(s->stats, i, 0);
    if (rc < 0) return fail("mp_value_set_i64", rc);
  }
  return EXIT_SUCCESS;
}

/* Read the count and the statistics after a round. */
static int totals(const shop_t *s, int64_t *left, int64_t *sold, int64_t *refused) {
  int rc = mp_value_get_i64(left, s->tickets, 0);
  if (rc < 0) return fail("mp_value_get_i64", rc);
  rc = mp_value_get_i64(sold, s->stats, SOLD);
  if (rc < 0) return fail("mp_value_get_i64", rc);
  rc = mp_value_get_i64(refused, s->stats, REFUSED);
  if (rc < 0) return fail("mp_value_get_i64", rc);
  return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
  int rc = mp_register("task", task, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  shop_t s = {0};
  int status = EXIT_SUCCESS;
  int64_t left, sold, refused;

  rc = mp_value_new(&s.tickets, MP_TYPE_INT64, 1, 0);
  if (rc < 0) return fail("mp_value_new", rc);
  rc = mp_value_new(&s.stats, MP_TYPE_INT64, 2, 0);
  if (rc < 0) {
    status = fail("mp_value_new", rc);
    goto out;
  }
  rc = mp_barrier_new(&s.everybody, BUYERS);
  if (rc < 0) {
    status = fail("mp_barrier_new", rc);
    goto out;
  }
  rc = mp_lock_new(&s.lock, 0); /* lock = Lock() */
  if (rc < 0) {
    status = fail("mp_lock_new", rc);
    goto out;
  }

  printf("== %d buyers, %d tickets, no lock ==\n", BUYERS, TICKETS);
  status = reset(&s);
  if (status == EXIT_SUCCESS) status = run_round(&s, 0);
  if (status == EXIT_SUCCESS) status = totals(&s, &left, &sold, &refused);
  if (status != EXIT_SUCCESS) goto out;
  printf("no lock: %lld sold, %lld refused, the count says %lld left: "
         "oversold by %lld\n", (long long)sold, (long long)refused,
         (long long)left, (long long)(sold - TICKETS));
  if (sold != BUYERS || left != TICKETS - 1) {
    fprintf(stderr, "the race did not happen as forced\n");
    status = EXIT_FAILURE;
    goto out;
  }

  printf("== %d buyers, %d tickets, with a lock ==\n", BUYERS, TICKETS);
  status = reset(&s);
  if (status == EXIT_SUCCESS) status = run_round(&s, 1);
  if (status == EXIT_SUCCESS) status = totals(&s, &left, &sold, &refused);
  if (status != EXIT_SUCCESS) goto out;
  printf("with a lock: %lld sold, %lld refused, %lld left\n", (long long)sold,
         (long long)refused, (long long)left);
  if (sold != TICKETS || refused != BUYERS - TICKETS || left != 0) {
    fprintf(stderr, "the lock did not serialise the buyers\n");
    status = EXIT_FAILURE;
  }

out:
  shop_close(&s);
  return status;
}
