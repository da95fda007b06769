/*
 * example_process_class — the "Process subclass" pattern.
 *
 * Ports "转换为类" of 000_*.txt and "进程的创建第二种方法（继承）" of
 * 001_*.txt:
 *
 *     class ClockProcess(multiprocessing.Process):
 *         def __init__(self, person, interval):
 *             multiprocessing.Process.__init__(self)
 *             self.person = person
 *             self.interval = interval
 *             self.ticks = 0
 *
 *         def run(self):
 *             for n in range(3):
 *                 time.sleep(self.interval)
 *                 self.ticks += 1
 *                 print('%s: tick %d' % (self.person, self.ticks))
 *
 *     if __name__ == '__main__':
 *         p1 = ClockProcess('Jedan', 0.05)
 *         p2 = ClockProcess('Taibai', 0.05)
 *         p1.start(); p2.start()     # start() calls run() in the child
 *         p1.join(); p2.join()
 *         print(p1.ticks)            # 0: the child changed its own copy
 *
 * C has no subclasses; the mapping is:
 *   class attributes        -> a plain struct (struct clock_process)
 *   __init__                -> filling the struct in the parent
 *   run()                   -> a registered target that receives the
 *                              struct as its argument bytes (a copy)
 *   the class itself        -> the registration payload, shared by all
 *                              "instances" (here the class name)
 *   p.start() / p.join()    -> mp_process_new(struct bytes) + start/join
 * The struct is copied into the child, so, as in Python, the parent's
 * object is untouched by run(). The child reports back through its exit
 * code (ticks), which the parent reads after join().
 *
 * Memcpy of a struct is fine here because parent and child run the same
 * binary (MP_START_FORK and MP_START_SPAWN alike); keep such structs free
 * of pointers, which would mean nothing in another process.
 */
#define _POSIX_C_SOURCE 200809L
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NPROC 2

/* The "instance attributes" of ClockProcess. */
struct clock_process {
  char person[32];
  int interval_ms;
  int rounds;
  int ticks;
};

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

/* ClockProcess.__init__ */
static void clock_process_init(struct clock_process *self, const char *person,
                               int interval_ms) {
  memset(self, 0, sizeof *self);
  snprintf(self->person, sizeof self->person, "%s", person);
  self->interval_ms = interval_ms;
  self->rounds = 3;
}

/* ClockProcess.run: `arg` is the instance, `payload` the class name. */
static int clock_process_run(const void *arg, size_t arg_len, void *payload) {
  const char *class_name = payload;
  struct clock_process self;
  if (arg_len != sizeof self) return 255;
  memcpy(&self, arg, sizeof self); /* arg is borrowed and const: copy it */
  for (int n = 0; n < self.rounds; n++) {
    sleep_ms(self.interval_ms);
    self.ticks++;
    printf("%s(%s) in %s: tick %d\n", class_name, self.person,
           mp_current_name(), self.ticks);
    fflush(stdout);
  }
  return self.ticks; /* the exit code carries a small result home */
}

int main(int argc, char **argv) {
  static char class_name[] = "ClockProcess";
  int rc = mp_register("ClockProcess.run", clock_process_run, class_name);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  static const char *const people[NPROC] = {"Jedan", "Taibai"};
  struct clock_process obj[NPROC];
  mp_process_t *proc[NPROC] = {NULL};
  int status = EXIT_SUCCESS;

  fflush(stdout);
  for (int i = 0; i < NPROC; i++) {
    clock_process_init(&obj[i], people[i], 50);
    rc = mp_process_new(&proc[i], "ClockProcess.run", &obj[i], sizeof obj[i]);
    if (rc < 0) {
      status = fail("mp_process_new", rc);
      goto out;
    }
    rc = mp_process_set_name(proc[i], people[i]);
    if (rc < 0) {
      status = fail("mp_process_set_name", rc);
      goto out;
    }
    rc = mp_process_start(proc[i]);
    if (rc < 0) {
      status = fail("mp_process_start", rc);
      goto out;
    }
  }

  /* Join them all before reporting: a child still running could print
   * between the report lines. */
  for (int i = 0; i < NPROC; i++) {
    rc = mp_process_join(proc[i], MP_FOREVER);
    if (rc < 0) {
      status = fail("mp_process_join", rc);
      goto out;
    }
  }
  for (int i = 0; i < NPROC; i++) {
    int code;
    rc = mp_process_exitcode(&code, proc[i]);
    if (rc < 0) {
      status = fail("mp_process_exitcode", rc);
      goto out;
    }
    printf("%s: child counted %d ticks, parent's copy still has %d\n",
           mp_process_name(proc[i]), code, obj[i].ticks);
    if (code != obj[i].rounds) status = EXIT_FAILURE;
  }

out:
  for (int i = 0; i < NPROC; i++) mp_process_free(proc[i]);
  return status;
}
