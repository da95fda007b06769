// Public entry points: mp_pipe, mp_conn_*.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "capi/guard.hpp"
#include "ipc/conn.hpp"

using namespace mp;

namespace {

bool valid(const mp_conn *c) { return c && c->magic == mp_conn::kMagic; }

// Common checks of an operation on an open end in one direction.
int usable(mp_conn *c, bool want_read, const char *op) {
  if (!valid(c)) return fail(MP_EINVAL, "%s: connection is NULL or not a live mp_conn_t", op);
  if (!c->fd.valid()) return fail(MP_ECLOSED, "%s: the connection was closed", op);
  if (want_read && !c->readable)
    return fail(MP_EINVAL, "%s: this end of the connection is send-only", op);
  if (!want_read && !c->writable)
    return fail(MP_EINVAL, "%s: this end of the connection is receive-only", op);
  if (c->broken)
    return fail(MP_ESTATE, "%s: the connection is unusable after an interrupted "
                "or oversized message", op);
  return MP_OK;
}

mp_conn *new_end(int fd, bool readable, bool writable, bool is_socket) {
  auto *c = new mp_conn();
  c->fd.reset(fd);
  c->readable = readable;
  c->writable = writable;
  c->is_socket = is_socket;
  return c;
}

}  // namespace

extern "C" {

MP_EXTERN int mp_pipe(mp_conn_t **a_out, mp_conn_t **b_out, int duplex) {
  const char *op = "mp_pipe";
  MP_CHECK_ARG(a_out && b_out, op, "an out parameter is NULL");
  *a_out = *b_out = nullptr;
  MP_CHECK_ARG(duplex == 0 || duplex == 1, op, "duplex must be 0 or 1");
  return guarded(op, [&]() -> int {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      return fail_errno(op, "socketpair", errno);
    Fd a(fds[0]), b(fds[1]);
    if (!duplex) {  // a receives, b sends
      shutdown(a.get(), SHUT_WR);
      shutdown(b.get(), SHUT_RD);
    }
    std::unique_ptr<mp_conn> ca(new_end(a.release(), true, duplex == 1, true));
    std::unique_ptr<mp_conn> cb(new_end(b.release(), duplex == 1, true, true));
    *a_out = ca.release();
    *b_out = cb.release();
    return MP_OK;
  });
}

MP_EXTERN int mp_conn_from_fd(mp_conn_t **out, int fd, int flags) {
  const char *op = "mp_conn_from_fd";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(fd >= 0, op, "fd is negative");
  MP_CHECK_ARG(flags > 0 && (flags & ~(MP_CONN_READABLE | MP_CONN_WRITABLE)) == 0, op,
               "flags must be MP_CONN_READABLE, MP_CONN_WRITABLE or both");
  struct stat st;
  if (fstat(fd, &st) != 0) return fail(MP_EINVAL, "%s: descriptor %d is not open", op, fd);
  return guarded(op, [&]() -> int {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    *out = new_end(fd, flags & MP_CONN_READABLE, flags & MP_CONN_WRITABLE,
                   S_ISSOCK(st.st_mode));
    return MP_OK;
  });
}

MP_EXTERN int mp_conn_send(mp_conn_t *conn, const void *buf, size_t len, int64_t timeout_ms) {
  const char *op = "mp_conn_send";
  MP_CHECK_ARG(buf || len == 0, op, "buf is NULL");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int {
    int r = usable(conn, false, op);
    if (r != MP_OK) return r;
    std::lock_guard<std::mutex> lock(conn->send_mu);
    return conn_send(*conn, buf, len, Deadline(timeout_ms));
  });
}

MP_EXTERN int mp_conn_recv(void **out, size_t *out_len, mp_conn_t *conn, int64_t timeout_ms) {
  const char *op = "mp_conn_recv";
  MP_CHECK_ARG(out && out_len, op, "out or out_len is NULL");
  *out = nullptr;
  *out_len = 0;
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int {
    int r = usable(conn, true, op);
    if (r != MP_OK) return r;
    std::lock_guard<std::mutex> lock(conn->recv_mu);
    r = conn_recv_frame(*conn, Deadline(timeout_ms));
    if (r != MP_OK) return r;
    char *p = static_cast<char *>(malloc(conn->body.size() + 1));
    if (!p) return fail(MP_ENOMEM, "%s: out of memory for %zu bytes", op, conn->body.size());
    memcpy(p, conn->body.data(), conn->body.size());
    p[conn->body.size()] = '\0';
    *out = p;
    *out_len = conn->body.size();
    conn->body.clear();
    return MP_OK;
  });
}

MP_EXTERN int mp_conn_recv_into(size_t *out_len, mp_conn_t *conn, void *buf, size_t cap,
                                int64_t timeout_ms) {
  const char *op = "mp_conn_recv_into";
  MP_CHECK_ARG(out_len, op, "out_len is NULL");
  *out_len = 0;
  MP_CHECK_ARG(buf || cap == 0, op, "buf is NULL");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int {
    int r = usable(conn, true, op);
    if (r != MP_OK) return r;
    std::lock_guard<std::mutex> lock(conn->recv_mu);
    Deadline deadline(timeout_ms);
    r = conn_recv_header(*conn, deadline);
    if (r != MP_OK) return r;
    if (conn->length > cap) {
      *out_len = size_t(conn->length);
      return fail(MP_ENOSPC, "%s: the message has %zu bytes, the buffer %zu", op,
                  size_t(conn->length), cap);
    }
    r = conn_recv_frame(*conn, deadline);
    if (r != MP_OK) return r;
    if (!conn->body.empty()) memcpy(buf, conn->body.data(), conn->body.size());
    *out_len = conn->body.size();
    conn->body.clear();
    return MP_OK;
  });
}

MP_EXTERN int mp_conn_poll(mp_conn_t *conn, int64_t timeout_ms) {
  const char *op = "mp_conn_poll";
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  int r = usable(conn, true, op);
  if (r != MP_OK) return r;
  return report_cancel(op, conn_poll(*conn, Deadline(timeout_ms)));
}

MP_EXTERN int mp_conn_set_max_message(mp_conn_t *conn, size_t max) {
  const char *op = "mp_conn_set_max_message";
  MP_CHECK_ARG(valid(conn), op, "connection is NULL or not a live mp_conn_t");
  MP_CHECK_ARG(max > 0, op, "max must be > 0");
  std::lock_guard<std::mutex> lock(conn->recv_mu);
  conn->max_message = max;
  return MP_OK;
}

MP_EXTERN int mp_conn_fileno(mp_conn_t *conn) {
  const char *op = "mp_conn_fileno";
  MP_CHECK_ARG(valid(conn), op, "connection is NULL or not a live mp_conn_t");
  if (!conn->fd.valid()) return fail(MP_ECLOSED, "%s: the connection was closed", op);
  return conn->fd.get();
}

MP_EXTERN int mp_conn_close(mp_conn_t *conn) {
  MP_CHECK_ARG(valid(conn), "mp_conn_close", "connection is NULL or not a live mp_conn_t");
  std::lock_guard<std::mutex> send_lock(conn->send_mu);
  std::lock_guard<std::mutex> recv_lock(conn->recv_mu);
  conn->fd.reset();
  return MP_OK;
}

MP_EXTERN void mp_conn_free(mp_conn_t *conn) {
  if (!valid(conn)) return;
  conn->magic = 0;
  delete conn;
}

}  // extern "C"
