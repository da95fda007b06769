#include "ipc/conn.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <climits>

#include "core/error.hpp"

namespace mp {
namespace {

constexpr size_t kReadAhead = 64 * 1024;
constexpr size_t kBodyStep = 1024 * 1024;

void put_be(std::string &s, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) s.push_back(char((v >> (8 * i)) & 0xff));
}

uint64_t get_be(const char *p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | uint8_t(p[i]);
  return v;
}

// One non-blocking write of what is left; -1 with errno on failure.
// Sockets get MSG_DONTWAIT|MSG_NOSIGNAL so the shared file description is
// never switched to O_NONBLOCK under a peer (a Python Connection) using it.
long write_some(mp_conn &c, const struct iovec *iov, int iovcnt) {
  if (c.is_socket) {
    struct msghdr msg = {};
    msg.msg_iov = const_cast<struct iovec *>(iov);
    msg.msg_iovlen = size_t(iovcnt);
    long n;
    do {
      n = sendmsg(c.fd.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }
  // A pipe: poll() said writable, so at least PIPE_BUF bytes fit.
  size_t cap = iov[0].iov_len ? iov[0].iov_len : 0;
  if (cap > PIPE_BUF) cap = PIPE_BUF;
  return write_no_sigpipe(c.fd.get(), iov[0].iov_base, cap);
}

// One read of up to cap bytes. With no deadline the descriptor's own
// blocking read is the cheapest wait (one system call); with a deadline,
// poll() first. Returns >0 bytes, MP_ECLOSED at EOF, MP_ETIMEDOUT, or an error.
long read_some(mp_conn &c, char *buf, size_t cap, const Deadline &deadline) {
  for (;;) {
    bool block = deadline.forever() && !deadline.cancel();  // a token needs poll()
    if (!block) {
      int r = wait_ready(c.fd.get(), POLLIN, deadline);
      if (r != MP_OK) return r;
    }
    long n;
    if (c.is_socket)
      n = recv(c.fd.get(), buf, cap, block ? 0 : MSG_DONTWAIT);
    else
      n = read(c.fd.get(), buf, cap);
    if (n > 0) return n;
    if (n == 0 || errno == ECONNRESET) return MP_ECLOSED;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return fail_errno("recv", "", errno);
    // EAGAIN with no deadline: the descriptor is non-blocking after all.
    int r = wait_ready(c.fd.get(), POLLIN, deadline);
    if (r != MP_OK) return r;
  }
}

size_t buffered(const mp_conn &c) { return c.inlen - c.inpos; }

// Make at least n bytes (n <= kReadAhead) available in the read-ahead buffer.
int fill(mp_conn &c, size_t n, const Deadline &deadline) {
  if (!c.inbuf) c.inbuf.reset(new char[kReadAhead]);  // not zero-filled: no memset per read
  if (c.inpos == c.inlen) c.inpos = c.inlen = 0;
  while (buffered(c) < n) {
    if (c.inpos + n > kReadAhead) {  // keep the unread bytes at the front
      memmove(c.inbuf.get(), c.inbuf.get() + c.inpos, buffered(c));
      c.inlen -= c.inpos;
      c.inpos = 0;
    }
    long r = read_some(c, c.inbuf.get() + c.inlen, kReadAhead - c.inlen, deadline);
    if (r < 0) return int(r);
    c.inlen += size_t(r);
  }
  return MP_OK;
}

// How many bytes the body may grow by for the next read: at most what it
// already holds (and at least kBodyStep), so the memory a receive commits
// (resize zero-fills, the string doubles its capacity) follows the bytes
// that arrived, not the length a peer announced.
size_t body_step(size_t have, size_t want) {
  size_t step = have > kBodyStep ? have : kBodyStep;
  return want < step ? want : step;
}

// Move up to n buffered bytes to out.
size_t take(mp_conn &c, std::string &out, size_t n) {
  size_t k = buffered(c) < n ? buffered(c) : n;
  out.append(c.inbuf.get() + c.inpos, k);
  c.inpos += k;
  return k;
}

}  // namespace

std::string frame_header(uint64_t n) {
  std::string h;
  if (n > 0x7fffffff) {
    put_be(h, 0xffffffffu, 4);
    put_be(h, n, 8);
  } else {
    put_be(h, n, 4);
  }
  return h;
}

int parse_frame_header(const char *p, size_t len, uint64_t *length_out) {
  if (len < 4) return 0;
  int32_t first = int32_t(uint32_t(get_be(p, 4)));
  if (first >= 0) {
    *length_out = uint64_t(first);
    return 4;
  }
  if (first != -1) return -1;
  if (len < 12) return 0;
  *length_out = get_be(p + 4, 8);
  return 12;
}

// Drop the first n bytes of two buffers.
void skip_iov(struct iovec iov[2], size_t n) {
  for (int i = 0; i < 2 && n > 0; ++i) {
    size_t step = n < iov[i].iov_len ? n : iov[i].iov_len;
    iov[i].iov_base = static_cast<char *>(iov[i].iov_base) + step;
    iov[i].iov_len -= step;
    n -= step;
  }
}

// Write two buffers (a frame header and its payload, or several whole
// frames and nothing) completely, with one system call when they fit.
// *sent counts the bytes written, also when it fails half-way.
int send_iov(mp_conn &c, struct iovec iov[2], const Deadline &deadline, size_t *sent) {
  int idx = 0;
  size_t &sent_total = *sent;
  size_t total = iov[0].iov_len + iov[1].iov_len;
  while (sent_total < total) {
    while (iov[idx].iov_len == 0) ++idx;
    // A pipe is a blocking descriptor: write only once poll() says it fits.
    long n = -1;
    errno = EAGAIN;
    if (c.is_socket || wait_ready(c.fd.get(), POLLOUT, Deadline(0)) == MP_OK)
      n = write_some(c, &iov[idx], 2 - idx);
    if (n >= 0) {
      sent_total += size_t(n);
      for (size_t left = size_t(n); left > 0;) {
        size_t step = left < iov[idx].iov_len ? left : iov[idx].iov_len;
        iov[idx].iov_base = static_cast<char *>(iov[idx].iov_base) + step;
        iov[idx].iov_len -= step;
        left -= step;
        if (iov[idx].iov_len == 0 && idx < 1) ++idx;
      }
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET) {
      c.broken = sent_total > 0;
      return fail(MP_EPIPE, "send: the peer closed the connection");
    }
    if (errno != EAGAIN) return fail_errno("send", "", errno);
    int r = wait_ready(c.fd.get(), POLLOUT, deadline);
    if (r != MP_OK) return r;
  }
  return MP_OK;
}

// A timeout half-way leaves a torn frame: nothing can follow it.
int timed_out(mp_conn &c, size_t sent) {
  c.broken = sent > 0;
  return fail(MP_ETIMEDOUT, sent ? "send: timed out in the middle of a message; the "
                                   "connection is now unusable"
                                 : "send: timed out");
}

// The bytes of this message's frame a canceled send already wrote, if buf
// is that message; MP_ESTATE (and the end unusable) for another message.
int resume_paused(mp_conn &c, const void *buf, size_t len, size_t *done) {
  bool same = c.paused_buf == buf && c.paused_len == len;
  *done = c.paused_sent;
  c.paused_buf = nullptr;
  if (same) return MP_OK;
  c.broken = true;
  return fail(MP_ESTATE, "send: a message canceled half-way was not sent again to finish "
                         "it; the connection is now unusable");
}

int conn_send(mp_conn &c, const void *buf, size_t len, const Deadline &deadline) {
  size_t done = 0;
  if (c.paused_buf) {
    int r = resume_paused(c, buf, len, &done);
    if (r != MP_OK) return r;
  }
  std::string header = frame_header(len);
  struct iovec iov[2] = {{&header[0], header.size()}, {const_cast<void *>(buf), len}};
  skip_iov(iov, done);
  size_t sent = 0;
  int r = send_iov(c, iov, deadline, &sent);
  if (r != MP_ETIMEDOUT) return r;
  if (deadline.canceled() && done + sent > 0) {  // the same buffer sent again goes on
    c.paused_buf = buf;
    c.paused_len = len;
    c.paused_sent = done + sent;
    return fail(MP_ETIMEDOUT, "send: canceled in the middle of a message");
  }
  return timed_out(c, done + sent);
}

int conn_send_many(mp_conn &c, const std::vector<std::string> &msgs, const Deadline &deadline) {
  if (c.paused_buf) {
    size_t unused;
    return resume_paused(c, nullptr, 0, &unused);
  }
  std::string frames;
  for (const auto &m : msgs) {
    frames += frame_header(m.size());
    frames += m;
  }
  struct iovec iov[2] = {{&frames[0], frames.size()}, {nullptr, 0}};
  size_t sent = 0;
  int r = send_iov(c, iov, deadline, &sent);
  return r == MP_ETIMEDOUT ? timed_out(c, sent) : r;
}

int conn_recv_header(mp_conn &c, const Deadline &deadline) {
  if (c.have_length) return MP_OK;
  for (size_t need = 4;;) {
    int r = fill(c, need, deadline);
    if (r == MP_ECLOSED)
      return fail(MP_ECLOSED, buffered(c) ? "recv: the peer closed in the middle of a message"
                                          : "recv: the peer closed the connection");
    if (r == MP_ETIMEDOUT) return fail(MP_ETIMEDOUT, "recv: timed out");
    if (r != MP_OK) return r;
    uint64_t length;
    int used = parse_frame_header(c.inbuf.get() + c.inpos, buffered(c), &length);
    if (used < 0) {
      c.broken = true;
      return fail(MP_EINVAL, "recv: malformed frame header");
    }
    if (used == 0) {
      need = 12;
      continue;
    }
    c.inpos += size_t(used);
    c.have_length = true;
    c.length = length;
    c.body.clear();
    break;
  }
  if (c.length > c.max_message) {
    c.broken = true;  // the rest of the stream cannot be framed any more
    return fail(MP_EMSGSIZE, "recv: the peer announced %llu bytes, above the maximum %zu",
                (unsigned long long)c.length, c.max_message);
  }
  return MP_OK;
}

int conn_recv_frame(mp_conn &c, const Deadline &deadline) {
  int r = conn_recv_header(c, deadline);
  if (r != MP_OK) return r;
  // Not the whole announced length: malloc may touch what it hands out
  // (MALLOC_PERTURB_), and a peer that announces 1 GiB must not cost it.
  size_t first = c.length < kBodyStep ? size_t(c.length) : kBodyStep;
  if (c.body.capacity() < first) c.body.reserve(first);
  take(c, c.body, size_t(c.length) - c.body.size());
  while (c.body.size() < c.length) {
    size_t want = size_t(c.length) - c.body.size();
    if (want < kReadAhead) {  // small rest: through the read-ahead buffer
      r = fill(c, want, deadline);
      if (r == MP_OK) take(c, c.body, want);
    } else {  // large rest: straight into the body, no second copy
      size_t old = c.body.size();
      size_t step = body_step(old, want);
      c.body.resize(old + step);
      long n = read_some(c, &c.body[old], step, deadline);
      c.body.resize(old + (n > 0 ? size_t(n) : 0));
      r = n > 0 ? MP_OK : int(n);
    }
    if (r == MP_ECLOSED)
      return fail(MP_ECLOSED, "recv: the peer closed in the middle of a message");
    if (r == MP_ETIMEDOUT) return fail(MP_ETIMEDOUT, "recv: timed out");
    if (r != MP_OK) return r;
  }
  c.have_length = false;
  return MP_OK;
}

int conn_poll(mp_conn &c, const Deadline &deadline) {
  if (buffered(c)) return 1;  // read ahead already (may be part of a message)
  int r = wait_ready(c.fd.get(), POLLIN, deadline);
  if (r == MP_ETIMEDOUT) return 0;
  return r == MP_OK ? 1 : r;
}

}  // namespace mp
