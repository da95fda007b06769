// The descriptor behind a queue or connection end being passed by name
// (to a command, a target process or a pool's workers): the argument
// check all the mp_*_pass_queue/_conn calls share.
#pragma once

#include "capi/guard.hpp"
#include "ipc/conn.hpp"
#include "ipc/queue.hpp"

namespace mp {

// The queue's descriptor, or MP_EINVAL for a bad handle.
inline int passed_queue_fd(mp_queue_t *queue, const char *op) {
  MP_CHECK_ARG(queue && queue->magic == mp_queue::kMagic, op,
               "queue is NULL or not a live mp_queue_t");
  if (queue->remote)
    return fail(MP_ENOTSUP, "%s: a queue on a redis server is not passed: the child opens its "
                "address", op);
  return queue->segment.fd();
}

// The connection end's descriptor, or MP_EINVAL for a bad or closed end.
inline int passed_conn_fd(mp_conn_t *conn, const char *op) {
  MP_CHECK_ARG(conn && conn->magic == mp_conn::kMagic && conn->fd.valid(), op,
               "conn is NULL, closed or not a live mp_conn_t");
  return conn->fd.get();
}

}  // namespace mp
