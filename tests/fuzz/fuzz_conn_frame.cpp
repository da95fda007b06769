// Connection framing (src/ipc/conn.cpp): the bytes a peer (another
// process, possibly a Python Connection, possibly dying mid-write) sends
// over a pipe or socket. CPython's format: a 4-byte big-endian length, or
// -1 and an 8-byte length; the receiver's maximum message size; the
// read-ahead buffer; a message that arrives in two parts around a timeout.
//
// Input: flags byte (bit 0: socketpair or pipe; bits 1..: max message
// size), the byte where the stream is split, a byte choosing the calls,
// then the stream. The received messages and the final error are compared
// with a reference decoder of the format written here from CPython's
// description.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "fuzz.hpp"

namespace {

struct Expected {
  std::vector<std::string> messages;
  int end;  // the error after the last message
};

uint64_t be(const std::string &s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | uint8_t(s[at + size_t(i)]);
  return v;
}

Expected reference(const std::string &s, size_t max) {
  Expected e;
  size_t pos = 0;
  for (;;) {
    size_t left = s.size() - pos;
    if (left < 4) return e.end = MP_ECLOSED, e;
    int32_t first = int32_t(uint32_t(be(s, pos, 4)));
    uint64_t len;
    size_t header = 4;
    if (first >= 0) {
      len = uint64_t(first);
    } else if (first == -1) {
      if (left < 12) return e.end = MP_ECLOSED, e;
      len = be(s, pos + 4, 8);
      header = 12;
    } else {
      return e.end = MP_EINVAL, e;
    }
    if (len > max) return e.end = MP_EMSGSIZE, e;
    if (left - header < len) return e.end = MP_ECLOSED, e;
    e.messages.push_back(s.substr(pos + header, size_t(len)));
    pos += header + size_t(len);
  }
}

void write_all(int fd, const std::string &s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    FUZZ_CHECK(n > 0);
    done += size_t(n);
  }
}

// Receive one message with the call the mode bits pick. MP_OK with *msg,
// or the error.
int receive(mp_conn_t *c, uint8_t mode, std::string *msg) {
  if (mode & 1) {
    char buf[64];
    size_t n = 0;
    int rc = mp_conn_recv_into(&n, c, buf, (mode >> 1) % sizeof buf, 0);
    fuzz::check_error_has_message(rc);
    if (rc == MP_OK) {
      msg->assign(buf, n);
      return rc;
    }
    if (rc != MP_ENOSPC) return rc;
    FUZZ_CHECK(n > (mode >> 1) % sizeof buf);  // the size it needs
  }
  if (mode & 2) {
    int ready = mp_conn_poll(c, 0);
    fuzz::check_code(ready);
  }
  void *p = nullptr;
  size_t n = 0;
  int rc = mp_conn_recv(&p, &n, c, 0);
  fuzz::check_error_has_message(rc);
  if (rc == MP_OK) {
    FUZZ_CHECK(p && static_cast<char *>(p)[n] == '\0');
    msg->assign(static_cast<char *>(p), n);
  } else {
    FUZZ_CHECK(!p);
  }
  mp_free(p);
  return rc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::Input in(data, size);
  uint8_t flags = in.u8();
  uint8_t split_at = in.u8();
  uint8_t mode = in.u8();
  std::string stream = in.rest();
  bool socket = flags & 1;
  size_t max = size_t(1) << ((flags >> 1) % 21);
  size_t split = stream.empty() ? 0 : split_at % (stream.size() + 1);

  int fds[2];
  if (socket)
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  else
    FUZZ_CHECK(pipe2(fds, O_CLOEXEC) == 0);
  mp_conn_t *c = nullptr;
  FUZZ_CHECK(mp_conn_from_fd(&c, fds[0], MP_CONN_READABLE) == MP_OK);
  FUZZ_CHECK(mp_conn_set_max_message(c, max) == MP_OK);

  Expected want = reference(stream, max);
  std::vector<std::string> got;
  // The first part: receive until nothing more is ready. A timeout in the
  // middle of a message keeps what arrived for the next call.
  write_all(fds[1], stream.substr(0, split));
  int rc;
  for (;;) {
    std::string msg;
    rc = receive(c, mode, &msg);
    mode = uint8_t(mode * 37 + 11);  // vary the calls
    if (rc != MP_OK) break;
    got.push_back(msg);
  }
  // The rest, then the peer closes: receive until the end.
  write_all(fds[1], stream.substr(split));
  close(fds[1]);
  if (rc == MP_ETIMEDOUT) {
    for (;;) {
      std::string msg;
      rc = receive(c, mode, &msg);
      mode = uint8_t(mode * 37 + 11);
      if (rc != MP_OK) break;
      got.push_back(msg);
    }
  }
  FUZZ_CHECK(rc != MP_ETIMEDOUT);  // every byte is there and the peer closed
  FUZZ_CHECK(got == want.messages);
  FUZZ_CHECK(rc == want.end);
  // After a framing error the end refuses to go on; after EOF it says so again.
  std::string msg;
  int again = receive(c, mode, &msg);
  FUZZ_CHECK(again == (rc == MP_ECLOSED ? MP_ECLOSED : MP_ESTATE));
  mp_conn_free(c);
  return 0;
}
