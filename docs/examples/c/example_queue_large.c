/*
 * example_queue_large — one message much larger than the queue itself.
 *
 * The tutorials' Queue section ("Queue" in 000_*.txt, "队列" in 001_*.txt)
 * puts Python objects of any size: the Queue pickles them and a feeder
 * thread writes the bytes into a pipe while the reader takes them out.
 *
 *     def producer(q):
 *         data = make_data(16 * 1024 * 1024)
 *         print('put %d bytes, checksum %x' % (len(data), checksum(data)))
 *         q.put(data)
 *         q.put('end')
 *
 *     if __name__ == '__main__':
 *         q = Queue()
 *         p = Process(target=producer, args=(q,))
 *         p.start()
 *         data = q.get()
 *         print('got %d bytes, checksum %x' % (len(data), checksum(data)))
 *         print(q.get())
 *         p.join()
 *
 * A multiproc queue is a ring of max_bytes bytes in shared memory; here
 * only 64 KiB. A message larger than half of the ring is streamed through
 * it in pieces while a consumer reads them, so a 16 MiB message goes
 * through a 64 KiB queue whole, and memory stays bounded by the ring. The
 * put returns once the last piece is in the ring; without a consumer it
 * would wait (and, with a timeout, withdraw the partial message).
 *
 * Both sides compute a 64-bit FNV-1a checksum of the bytes and print it
 * with the length; the small message after the large one shows that
 * order is kept. Before taking the big message, the parent asks for it
 * with a buffer that is too small: mp_queue_get_into() says MP_ENOSPC and
 * the size needed, and leaves the message queued.
 */
#include <multiproc.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_BYTES ((size_t)64 * 1024)
#define MESSAGE_BYTES ((size_t)16 * 1024 * 1024)

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

/* Deterministic, not compressible-looking test data (a 32-bit LCG). */
static void make_data(unsigned char *buf, size_t len) {
  uint32_t x = 12345u;
  for (size_t i = 0; i < len; i++) {
    x = x * 1664525u + 1013904223u;
    buf[i] = (unsigned char)(x >> 24);
  }
}

static uint64_t fnv1a64(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* def producer(q) */
static int producer(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  int fd = mp_child_fd(0);
  if (fd < 0) return fail("mp_child_fd", fd);
  mp_queue_t *q = NULL;
  int rc = mp_queue_from_fd(&q, fd);
  if (rc < 0) return fail("mp_queue_from_fd", rc);
  int status = EXIT_SUCCESS;
  unsigned char *data = malloc(MESSAGE_BYTES);
  if (data == NULL) {
    fprintf(stderr, "producer: out of memory\n");
    status = EXIT_FAILURE;
    goto out;
  }
  make_data(data, MESSAGE_BYTES);
  printf("child: put %zu bytes, checksum %016" PRIx64 "\n", MESSAGE_BYTES,
         fnv1a64(data, MESSAGE_BYTES));
  fflush(stdout);
  rc = mp_queue_put(q, data, MESSAGE_BYTES, MP_FOREVER);
  if (rc < 0) {
    status = fail("mp_queue_put", rc);
    goto out;
  }
  rc = mp_queue_put(q, "end", 3, MP_FOREVER);
  if (rc < 0) status = fail("mp_queue_put", rc);
out:
  free(data);
  mp_queue_free(q);
  return status;
}

int main(int argc, char **argv) {
  int rc = mp_register("producer", producer, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  mp_queue_t *q = NULL;
  mp_process_t *p = NULL;
  void *data = NULL, *end = NULL;
  size_t len = 0;
  int status = EXIT_SUCCESS;

  rc = mp_queue_new(&q, 0, RING_BYTES, 0); /* a 64 KiB ring */
  if (rc < 0) return fail("mp_queue_new", rc);
  printf("main: queue of %zu bytes\n", RING_BYTES);
  fflush(stdout);

  rc = mp_process_new(&p, "producer", NULL, 0);
  if (rc < 0) {
    status = fail("mp_process_new", rc);
    goto out;
  }
  rc = mp_process_pass_fd(p, mp_queue_fileno(q));
  if (rc < 0) {
    status = fail("mp_process_pass_fd", rc);
    goto out;
  }
  rc = mp_process_start(p);
  if (rc < 0) {
    status = fail("mp_process_start", rc);
    goto out;
  }

  /* Too small a buffer: the message stays queued, the size comes back. */
  char small[4096];
  rc = mp_queue_get_into(&len, q, small, sizeof small, MP_FOREVER);
  printf("main: get_into a %zu-byte buffer -> %s, needs %zu bytes\n",
         sizeof small, mp_err_name(rc), len);
  if (rc != MP_ENOSPC) {
    if (rc < 0) fail("mp_queue_get_into", rc);
    status = EXIT_FAILURE;
    goto out;
  }

  rc = mp_queue_get(&data, &len, q, MP_FOREVER);
  if (rc < 0) {
    status = fail("mp_queue_get", rc);
    goto out;
  }
  printf("main: got %zu bytes, checksum %016" PRIx64 "\n", len,
         fnv1a64(data, len));
  size_t end_len = 0;
  rc = mp_queue_get(&end, &end_len, q, MP_FOREVER);
  if (rc < 0) {
    status = fail("mp_queue_get", rc);
    goto out;
  }
  printf("main: then got \"%.*s\"\n", (int)end_len, (const char *)end);

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
  printf("main: %s exited with %d\n", mp_process_name(p), code);
  if (code != 0) status = EXIT_FAILURE;

out:
  /* On a failure, closing makes a producer blocked in put return, so that
   * the exit-time join of the child cannot hang. */
  if (status != EXIT_SUCCESS && q != NULL) mp_queue_close(q);
  mp_free(end);
  mp_free(data);
  mp_process_free(p);
  mp_queue_free(q);
  return status;
}
