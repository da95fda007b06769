/* Byte patterns for the message tests (test_queue, test_queue_crash,
 * test_conn): a message of pattern bytes can be checked byte by byte on
 * arrival, so a torn, shifted or mixed-up message is found and its first
 * wrong byte named. The seed makes messages of one test differ (the 29
 * keeps 256 seeds apart); the i >> 12 term makes 4 KiB pieces of one
 * message differ, so a piece delivered twice or out of place shows. */
#ifndef MP_PATTERN_H
#define MP_PATTERN_H

#include <stddef.h>
#include <stdlib.h>

static inline unsigned char pattern_byte(size_t i, unsigned seed) {
  return (unsigned char)((i * 131u + (i >> 12) + seed * 29u) & 0xff);
}

static inline void pattern_fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = pattern_byte(i, seed);
}

/* A new buffer of n pattern bytes (at least 1 byte allocated); free()
 * it. NULL if out of memory. */
static inline unsigned char *pattern_alloc(size_t n, unsigned seed) {
  unsigned char *p = malloc(n ? n : 1);
  if (p) pattern_fill(p, n, seed);
  return p;
}

/* Index of the first byte that differs from the pattern, or n. */
static inline size_t pattern_check(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != pattern_byte(i, seed)) return i;
  return n;
}

#endif
