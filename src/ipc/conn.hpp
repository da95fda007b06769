// mp_conn_t: one end of a connection (Python's multiprocessing.Pipe),
// carrying framed byte messages in CPython's wire format so that a Python
// Connection on the same descriptor is a peer.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/deadline.hpp"
#include "core/fd.hpp"

struct mp_conn {
  static constexpr uint32_t kMagic = 0x4d50434e;  // "MPCN"
  uint32_t magic = kMagic;
  mp::Fd fd;
  bool readable = false;
  bool writable = false;
  bool is_socket = false;
  bool broken = false;  // a send stopped in the middle of a frame
  // A send canceled in the middle of a frame: the message (the caller's
  // buffer) and the bytes of the frame already written, so that sending
  // the same buffer again finishes it (paused_buf nullptr: none).
  const void *paused_buf = nullptr;
  size_t paused_len = 0;
  size_t paused_sent = 0;
  size_t max_message = size_t(1) << 30;
  std::mutex send_mu;
  std::mutex recv_mu;
  // Bytes received but not yet consumed (read-ahead: one recv() usually
  // brings a whole small message, header and body).
  std::unique_ptr<char[]> inbuf;  // kReadAhead bytes once allocated
  size_t inpos = 0;               // first unread byte
  size_t inlen = 0;               // end of the bytes read
  // A frame being received across calls (after a timeout or MP_ENOSPC).
  bool have_length = false;
  uint64_t length = 0;
  std::string body;  // bytes of the body received so far
};

namespace mp {

// Frame header for a body of n bytes: 4-byte big-endian length, or -1 and
// an 8-byte big-endian length above 0x7fffffff (CPython's framing).
std::string frame_header(uint64_t n);

// Parse a frame header. Returns bytes consumed (4 or 12), 0 if more bytes
// are needed, or -1 for a malformed header (a negative length other than -1).
int parse_frame_header(const char *p, size_t len, uint64_t *length_out);

int conn_send(mp_conn &c, const void *buf, size_t len, const Deadline &deadline);
// Send several messages with one write (each framed as by conn_send).
int conn_send_many(mp_conn &c, const std::vector<std::string> &msgs, const Deadline &deadline);
// Receive a frame header (c.have_length, c.length); MP_EMSGSIZE above the
// maximum.
int conn_recv_header(mp_conn &c, const Deadline &deadline);
// Receive one whole message into c.body (moved out by the caller).
int conn_recv_frame(mp_conn &c, const Deadline &deadline);
// 1 when a message (or EOF) is ready to read, 0 when not by the deadline.
int conn_poll(mp_conn &c, const Deadline &deadline);

}  // namespace mp
