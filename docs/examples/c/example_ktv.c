/*
 * example_ktv — a semaphore lets at most 3 guests into the KTV rooms.
 *
 * Ports the Semaphore example of "信号量（了解）" in 001_*.txt: a KTV (karaoke)
 * with a few rooms; every guest takes a room (acquire), sings for a while
 * and gives the room back (release); whoever comes when all rooms are
 * taken waits outside.
 *
 *     def go_ktv(sem, user):
 *         sem.acquire()
 *         print('%s 占到一间ktv小屋' % user)    # got a KTV room
 *         time.sleep(random.randint(0, 3))     # each guest stays a while
 *         sem.release()
 *
 *     if __name__ == '__main__':
 *         sem = Semaphore(4)
 *         p_l = []
 *         for i in range(13):
 *             p = Process(target=go_ktv, args=(sem, 'user%s' % i,))
 *             p.start()
 *             p_l.append(p)
 *         for i in p_l:
 *             i.join()
 *         print('=====》')
 *
 * This port has 3 rooms (mp_sem_new(&sem, 3, 0), Semaphore(3)) and 10
 * guests, and shows what the Python only claims: at no time are more
 * than 3 guests inside. Every guest counts itself in and out of an
 * Array('q', 2) with mp_value_add_i64 (atomic: no lock), and keeps the
 * highest count seen in the second element with a compare-and-swap loop
 * (mp_value_compare_exchange_i64). The parent prints that maximum after joining.
 *
 * Random stays would make the maximum depend on timing (3 nearly always,
 * but not on every run of a loaded machine). So that it is exactly 3
 * every time, a guest stays in its room at least until the house has
 * been full once: the guest that makes the count reach 3 sets an
 * mp_event_t, and every guest waits for it before leaving. Nobody leaves
 * before that, so the first three guests are certain to be inside
 * together; after that the event stays set and guests come and go.
 * Which guests get the first rooms changes from run to run, so the room
 * lines are an unordered block of the expected output.
 */
#define _POSIX_C_SOURCE 200809L
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROOMS 3
#define GUESTS 10
#define WAIT_MS 10000 /* longer means a bug: fail instead of hanging */

/* Elements of the room counter array. */
#define INSIDE 0
#define MAX_INSIDE 1

/* Descriptors passed to each guest, in this order. */
#define FD_SEM 0
#define FD_ROOM 1
#define FD_FULL 2

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* Raise room[MAX_INSIDE] to at least n. */
static int raise_max(mp_value_t *room, int64_t n) {
  int64_t seen;
  int rc = mp_value_get_i64(&seen, room, MAX_INSIDE);
  if (rc < 0) return fail("mp_value_get_i64", rc);
  while (seen < n) {
    rc = mp_value_compare_exchange_i64(&seen, room, MAX_INSIDE, seen, n);
    if (rc < 0) return fail("mp_value_compare_exchange_i64", rc);
    if (rc == 1) break; /* replaced; else seen is the newer value: retry */
  }
  return EXIT_SUCCESS;
}

/* The time in the room, once the house has been full. */
static int sing(mp_value_t *room, mp_event_t *full, int guest) {
  int64_t inside;
  int rc = mp_value_add_i64(&inside, room, INSIDE, 1);
  if (rc < 0) return fail("mp_value_add_i64", rc);
  if (raise_max(room, inside) != EXIT_SUCCESS) return EXIT_FAILURE;
  if (inside == ROOMS) {
    rc = mp_event_set(full);
    if (rc < 0) return fail("mp_event_set", rc);
  }
  printf("user%d got a KTV room\n", guest);
  fflush(stdout);
  rc = mp_event_wait(full, WAIT_MS);
  if (rc < 0) return fail("mp_event_wait", rc);
  sleep_ms(10 + 10 * (guest % 3)); /* guests stay for different times */
  rc = mp_value_add_i64(&inside, room, INSIDE, -1);
  if (rc < 0) return fail("mp_value_add_i64", rc);
  return EXIT_SUCCESS;
}

/* def go_ktv(sem, user): the argument is the guest's number (an int). */
static int go_ktv(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  int guest;
  if (arg_len != sizeof guest) return 2;
  memcpy(&guest, arg, sizeof guest);

  mp_sem_t *sem = NULL;
  mp_value_t *room = NULL;
  mp_event_t *full = NULL;
  int status = EXIT_SUCCESS;
  int fd = mp_child_fd(FD_SEM), rc;
  if (fd < 0) return fail("mp_child_fd", fd);
  rc = mp_sem_from_fd(&sem, fd);
  if (rc < 0) return fail("mp_sem_from_fd", rc);
  fd = mp_child_fd(FD_ROOM);
  rc = fd < 0 ? fd : mp_value_from_fd(&room, fd);
  if (rc < 0) {
    status = fail("open the room counter", rc);
    goto out;
  }
  fd = mp_child_fd(FD_FULL);
  rc = fd < 0 ? fd : mp_event_from_fd(&full, fd);
  if (rc < 0) {
    status = fail("open the event", rc);
    goto out;
  }

  rc = mp_sem_acquire(sem, WAIT_MS); /* sem.acquire() */
  if (rc < 0) {
    status = fail("mp_sem_acquire", rc);
    goto out;
  }
  status = sing(room, full, guest);
  rc = mp_sem_release(sem); /* sem.release() */
  if (rc < 0 && status == EXIT_SUCCESS) status = fail("mp_sem_release", rc);

out:
  mp_event_free(full);
  mp_value_free(room);
  mp_sem_free(sem);
  return status;
}

int main(int argc, char **argv) {
  int rc = mp_register("go_ktv", go_ktv, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  mp_sem_t *sem = NULL;
  mp_value_t *room = NULL;
  mp_event_t *full = NULL;
  mp_process_t *guests[GUESTS] = {NULL};
  int status = EXIT_SUCCESS;

  rc = mp_sem_new(&sem, ROOMS, 0); /* sem = Semaphore(3) */
  if (rc < 0) return fail("mp_sem_new", rc);
  rc = mp_value_new(&room, MP_TYPE_INT64, 2, 0);
  if (rc < 0) {
    status = fail("mp_value_new", rc);
    goto out;
  }
  rc = mp_event_new(&full);
  if (rc < 0) {
    status = fail("mp_event_new", rc);
    goto out;
  }

  fflush(stdout);
  for (int i = 0; i < GUESTS; i++) {
    rc = mp_process_new(&guests[i], "go_ktv", &i, sizeof i);
    if (rc < 0) {
      status = fail("mp_process_new", rc);
      goto out;
    }
    int fds[3] = {mp_sem_fileno(sem), mp_value_fileno(room), mp_event_fileno(full)};
    for (int k = 0; k < 3; k++) {
      rc = mp_process_pass_fd(guests[i], fds[k]); /* index k */
      if (rc < 0) {
        status = fail("mp_process_pass_fd", rc);
        goto out;
      }
    }
    rc = mp_process_start(guests[i]);
    if (rc < 0) {
      status = fail("mp_process_start", rc);
      goto out;
    }
  }

  for (int i = 0; i < GUESTS; i++) {
    int code;
    rc = mp_process_join(guests[i], MP_FOREVER);
    if (rc < 0) {
      status = fail("mp_process_join", rc);
      goto out;
    }
    rc = mp_process_exitcode(&code, guests[i]);
    if (rc < 0) {
      status = fail("mp_process_exitcode", rc);
      goto out;
    }
    if (code != 0) {
      fprintf(stderr, "user%d exited with %d\n", i, code);
      status = EXIT_FAILURE;
    }
  }
  if (status != EXIT_SUCCESS) goto out;

  int64_t max_inside, inside;
  rc = mp_value_get_i64(&max_inside, room, MAX_INSIDE);
  if (rc < 0) {
    status = fail("mp_value_get_i64", rc);
    goto out;
  }
  rc = mp_value_get_i64(&inside, room, INSIDE);
  if (rc < 0) {
    status = fail("mp_value_get_i64", rc);
    goto out;
  }
  int free_rooms = mp_sem_value(sem);
  if (free_rooms < 0) {
    status = fail("mp_sem_value", free_rooms);
    goto out;
  }
  printf("max inside: %lld\n", (long long)max_inside);
  printf("inside now: %lld, rooms free: %d\n", (long long)inside, free_rooms);
  printf("=====>\n");
  if (max_inside != ROOMS || inside != 0 || free_rooms != ROOMS) status = EXIT_FAILURE;

out:
  /* After a failure, guests still running end through their timeouts and
   * are joined at exit (mp_set_exit_join's default). */
  for (int i = 0; i < GUESTS; i++) mp_process_free(guests[i]);
  mp_event_free(full);
  mp_value_free(room);
  mp_sem_free(sem);
  return status;
}
