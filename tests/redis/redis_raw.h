/* A raw hiredis client for the tests of the suite `redis`: what another
 * program on the same server would send (garbage into our keys, reads of
 * the bytes we stored). Needs redis_fixture.h's g_srv-like port. */
#pragma once

#include <hiredis/hiredis.h>

/* One command on a fresh connection to 127.0.0.1:port; the reply (free it
 * with freeReplyObject), or NULL when nothing answers. */
static redisReply *raw_cmd(int port, const char *fmt, ...) {
  redisContext *c = redisConnect("127.0.0.1", port);
  if (!c || c->err) {
    if (c) redisFree(c);
    return NULL;
  }
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(c, fmt, ap);
  va_end(ap);
  redisFree(c);
  return r;
}

/* raw_cmd, the reply dropped. */
static void raw_do(int port, const char *fmt, const char *a, const char *b) {
  redisReply *r = raw_cmd(port, fmt, a, b);
  if (r) freeReplyObject(r);
}
