/*
 * example_traffic_light — cars wait on an Event that a light process sets
 * (green) and clears (red).
 *
 * Ports the traffic light (红绿灯) of "事件（了解）" in 001_*.txt:
 *
 *     def car(e, n):
 *         while True:
 *             if not e.is_set():            # red
 *                 print('红灯亮, car%s等着' % n)       # red light, carN waits
 *                 e.wait()                  # blocks until green
 *                 print('车%s 看见绿灯亮了' % n)       # carN sees green
 *                 time.sleep(random.randint(2, 4))
 *             if not e.is_set():
 *                 continue
 *             print('车开远了,car', n)                 # carN drove off
 *             break
 *
 *     def traffic_lights(e, interval):
 *         while True:
 *             time.sleep(interval)
 *             if e.is_set():
 *                 print('#####', e.is_set())
 *                 e.clear()                 # red
 *             else:
 *                 e.set()                   # green
 *                 print('*****', e.is_set())
 *
 *     if __name__ == '__main__':
 *         e = Event()
 *         for i in range(10):
 *             p = Process(target=car, args=(e, i))
 *             time.sleep(random.random(1, 3))   # cars come one by one
 *             p.start()
 *         t = Process(target=traffic_lights, args=(e, 5))
 *         t.start()
 *
 * The Python's light never stops, its cars come at random times and drive
 * for random times, so no two runs print the same. This port keeps the
 * Event and both kinds of process and makes the run short (under a
 * second) and its output checkable:
 *
 *  - The light (mp_event_t, initially clear) is red. 4 cars arrive, see
 *    red (mp_event_is_set() is 0), say so and wait (mp_event_wait()).
 *    The light process starts changing only once every car has looked:
 *    cars and light meet at an mp_barrier_t first.
 *  - The light changes 5 times, every 150 ms: green (mp_event_set(),
 *    which wakes every waiting car in every process at once), red
 *    (mp_event_clear()), green, red, green; then it is out of service and
 *    stays green, and its process ends.
 *  - 2 more cars arrive after that, see green and drive straight through
 *    without waiting.
 *
 * Cars count themselves in an Array('q', 2) (cars that waited at red,
 * cars that passed) with mp_value_add_i64; the parent prints the totals.
 * The cars' lines and the light's come from different processes at the
 * same time, so those lines are unordered blocks of the expected output.
 */
#define _POSIX_C_SOURCE 200809L
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIRST_CARS 4
#define LATE_CARS 2
#define CHANGES 5 /* green, red, green, red, green */
#define INTERVAL_MS 150
#define WAIT_MS 10000 /* longer means a bug: fail instead of hanging */

/* Elements of the statistics array. */
#define WAITED 0
#define PASSED 1

/* Descriptors passed to every car and to the light, in this order. */
#define FD_LIGHT 0
#define FD_BARRIER 1
#define FD_STATS 2

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

/* What a car or the light works with. */
typedef struct crossing {
  mp_event_t *green; /* set: green, clear: red */
  mp_barrier_t *arrived;
  mp_value_t *stats;
} crossing_t;

static void crossing_close(crossing_t *c) {
  mp_value_free(c->stats);
  mp_barrier_free(c->arrived);
  mp_event_free(c->green);
  memset(c, 0, sizeof *c);
}

/* In a child: open what the parent passed. */
static int crossing_open(crossing_t *c) {
  int fd = mp_child_fd(FD_LIGHT);
  int rc = fd < 0 ? fd : mp_event_from_fd(&c->green, fd);
  if (rc < 0) return fail("open the light", rc);
  fd = mp_child_fd(FD_BARRIER);
  rc = fd < 0 ? fd : mp_barrier_from_fd(&c->arrived, fd);
  if (rc < 0) return fail("open the barrier", rc);
  fd = mp_child_fd(FD_STATS);
  rc = fd < 0 ? fd : mp_value_from_fd(&c->stats, fd);
  if (rc < 0) return fail("open the statistics", rc);
  return EXIT_SUCCESS;
}

/* def car(e, n): the argument is the car's number (an int). */
static int drive(crossing_t *c, int n) {
  int64_t unused;
  int rc = mp_event_is_set(c->green);
  if (rc < 0) return fail("mp_event_is_set", rc);
  if (rc == 1) {
    printf("car%d: green light, drives straight through\n", n);
  } else {
    printf("car%d: red light, waits\n", n);
    fflush(stdout);
    rc = mp_value_add_i64(&unused, c->stats, WAITED, 1);
    if (rc < 0) return fail("mp_value_add_i64", rc);
    rc = mp_barrier_wait(c->arrived, WAIT_MS); /* this car has looked */
    if (rc < 0) return fail("mp_barrier_wait", rc);
    rc = mp_event_wait(c->green, WAIT_MS); /* e.wait() */
    if (rc < 0) return fail("mp_event_wait", rc);
    printf("car%d: green light, drives off\n", n);
  }
  fflush(stdout);
  rc = mp_value_add_i64(&unused, c->stats, PASSED, 1);
  if (rc < 0) return fail("mp_value_add_i64", rc);
  return EXIT_SUCCESS;
}

static int car(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  int n;
  if (arg_len != sizeof n) return 2;
  memcpy(&n, arg, sizeof n);
  crossing_t c = {0};
  int status = crossing_open(&c);
  if (status == EXIT_SUCCESS) status = drive(&c, n);
  crossing_close(&c);
  return status;
}

/* def traffic_lights(e, interval), CHANGES times, then green for good. */
static int change_lights(crossing_t *c) {
  int rc = mp_barrier_wait(c->arrived, WAIT_MS); /* every car has looked */
  if (rc < 0) return fail("mp_barrier_wait", rc);
  for (int i = 1; i <= CHANGES; i++) {
    sleep_ms(INTERVAL_MS);
    rc = mp_event_is_set(c->green);
    if (rc < 0) return fail("mp_event_is_set", rc);
    if (rc == 1) {
      rc = mp_event_clear(c->green); /* e.clear() */
      if (rc < 0) return fail("mp_event_clear", rc);
      printf("light: red\n");
    } else {
      rc = mp_event_set(c->green); /* e.set() */
      if (rc < 0) return fail("mp_event_set", rc);
      printf(i == CHANGES ? "light: green, out of service, stays green\n"
                          : "light: green\n");
    }
    fflush(stdout);
  }
  return EXIT_SUCCESS;
}

static int traffic_lights(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  crossing_t c = {0};
  int status = crossing_open(&c);
  if (status == EXIT_SUCCESS) status = change_lights(&c);
  crossing_close(&c);
  return status;
}

/* Create and start one child of target with the crossing's descriptors. */
static int start(mp_process_t **p, const crossing_t *c, const char *target,
                 const void *arg, size_t arg_len) {
  int rc = mp_process_new(p, target, arg, arg_len);
  if (rc < 0) return fail("mp_process_new", rc);
  int fds[3] = {mp_event_fileno(c->green), mp_barrier_fileno(c->arrived),
                mp_value_fileno(c->stats)};
  for (int k = 0; k < 3; k++) {
    rc = mp_process_pass_fd(*p, fds[k]); /* index k */
    if (rc < 0) return fail("mp_process_pass_fd", rc);
  }
  rc = mp_process_start(*p);
  if (rc < 0) return fail("mp_process_start", rc);
  return EXIT_SUCCESS;
}

/* Join a child and require exit code 0. */
static int join_ok(mp_process_t *p) {
  int rc = mp_process_join(p, MP_FOREVER);
  if (rc < 0) return fail("mp_process_join", rc);
  int code;
  rc = mp_process_exitcode(&code, p);
  if (rc < 0) return fail("mp_process_exitcode", rc);
  if (code != 0) {
    fprintf(stderr, "%s exited with %d\n", mp_process_name(p), code);
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
  int rc = mp_register("car", car, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_register("traffic_lights", traffic_lights, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  crossing_t c = {0};
  mp_process_t *cars[FIRST_CARS + LATE_CARS] = {NULL};
  mp_process_t *light = NULL;
  int status = EXIT_SUCCESS;

  rc = mp_event_new(&c.green); /* e = Event(): clear, red */
  if (rc < 0) return fail("mp_event_new", rc);
  rc = mp_barrier_new(&c.arrived, FIRST_CARS + 1); /* the cars and the light */
  if (rc < 0) {
    status = fail("mp_barrier_new", rc);
    goto out;
  }
  rc = mp_value_new(&c.stats, MP_TYPE_INT64, 2, 0);
  if (rc < 0) {
    status = fail("mp_value_new", rc);
    goto out;
  }

  printf("main: the light is red, %d cars arrive\n", FIRST_CARS);
  fflush(stdout);
  for (int i = 0; i < FIRST_CARS && status == EXIT_SUCCESS; i++) {
    int n = i + 1;
    status = start(&cars[i], &c, "car", &n, sizeof n);
  }
  if (status == EXIT_SUCCESS) status = start(&light, &c, "traffic_lights", NULL, 0);
  if (status != EXIT_SUCCESS) goto out;
  for (int i = 0; i < FIRST_CARS && status == EXIT_SUCCESS; i++)
    status = join_ok(cars[i]);
  if (status == EXIT_SUCCESS) status = join_ok(light);
  if (status != EXIT_SUCCESS) goto out;

  rc = mp_event_is_set(c.green);
  if (rc < 0) {
    status = fail("mp_event_is_set", rc);
    goto out;
  }
  printf("main: the light process ended; the light is %s\n", rc ? "green" : "red");
  printf("main: %d more cars arrive\n", LATE_CARS);
  fflush(stdout);
  for (int i = FIRST_CARS; i < FIRST_CARS + LATE_CARS && status == EXIT_SUCCESS; i++) {
    int n = i + 1;
    status = start(&cars[i], &c, "car", &n, sizeof n);
  }
  for (int i = FIRST_CARS; i < FIRST_CARS + LATE_CARS && status == EXIT_SUCCESS; i++)
    status = join_ok(cars[i]);
  if (status != EXIT_SUCCESS) goto out;

  int64_t waited, passed;
  rc = mp_value_get_i64(&waited, c.stats, WAITED);
  if (rc < 0) {
    status = fail("mp_value_get_i64", rc);
    goto out;
  }
  rc = mp_value_get_i64(&passed, c.stats, PASSED);
  if (rc < 0) {
    status = fail("mp_value_get_i64", rc);
    goto out;
  }
  printf("main: %lld cars passed, %lld of them after waiting at red\n",
         (long long)passed, (long long)waited);
  if (passed != FIRST_CARS + LATE_CARS || waited != FIRST_CARS) status = EXIT_FAILURE;

out:
  /* After a failure, children still running end through their timeouts
   * and are joined at exit (mp_set_exit_join's default). */
  mp_process_free(light);
  for (int i = 0; i < FIRST_CARS + LATE_CARS; i++) mp_process_free(cars[i]);
  crossing_close(&c);
  return status;
}
