// The broker's wire protocol: length-prefixed frames on a unix stream
// socket. Every frame starts with a versioned header (magic "MPBK",
// version, type, payload length); a reader checks the header before it
// keeps any payload byte, so a length above the limit of the connection's
// state (a 2^62-byte claim included) is a protocol error at once, and the
// bytes held for one connection never exceed one frame of that limit.
//
//   client -> broker   kOpenFd / kOpenPool   the object's name
//   broker -> client   kReply                status, owner's worker count,
//                                            message; an fd rides along
//                                            (SCM_RIGHTS) with kOpenFd
//   client -> owner    kTask                 a pool chunk (encode_chunk)
//   owner  -> client   kResult               a chunk's item outcomes
//   owner  -> client   kGone                 the pool was withdrawn
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pool/protocol.hpp"

namespace mp {

constexpr uint32_t kFrameMagic = 0x4b42504d;  // "MPBK" in memory
constexpr uint16_t kFrameVersion = 1;
constexpr size_t kFrameHeader = 16;
// A request before the reply: a name and a little framing.
constexpr uint64_t kMaxRequestFrame = 256;
// One pool chunk or result over the socket.
constexpr uint64_t kMaxPoolFrame = uint64_t(64) << 20;

enum class FrameType : uint16_t {
  kOpenFd = 1,
  kOpenPool = 2,
  kReply = 3,
  kTask = 4,
  kResult = 5,
  kGone = 6,
};

struct Frame {
  FrameType type = FrameType::kReply;
  std::string payload;
};

std::string encode_frame(FrameType type, const std::string &payload);

// Collects a byte stream into frames, one at a time, never holding more
// than one frame of at most max_payload bytes.
class FrameReader {
 public:
  explicit FrameReader(uint64_t max_payload) : max_(max_payload) {}
  void set_limit(uint64_t max_payload) { max_ = max_payload; }
  // How many bytes the reader wants next (at least 1): read no more than
  // that, so that what follows a frame stays in the socket.
  size_t want() const;
  // Take n bytes (n <= want()). MP_OK, or MP_EINVAL (bad magic, version,
  // type or a length over the limit) with a message; the stream is then
  // unusable.
  int feed(const char *data, size_t n);
  // A complete frame, if one is in: moved out, and the reader starts anew.
  bool take(Frame *out);
  size_t held() const { return buf_.size(); }

 private:
  uint64_t max_;
  std::string buf_;
  uint64_t need_ = kFrameHeader;  // bytes of the current frame in total
  bool header_ok_ = false;
};

// A request's payload: the object's name (valid_handle_name).
int decode_open(std::string *name, const std::string &payload);

// The broker's answer to a request.
struct Reply {
  int32_t status = MP_OK;  // MP_OK or an MP_E* code
  uint32_t workers = 0;    // kOpenPool: the owner's pool size
  std::string message;     // why, when status is not MP_OK (<= 200 bytes)
};
std::string encode_reply(const Reply &r);
int decode_reply(Reply *out, const std::string &payload);

// A pool chunk's outcomes as the owner's pool gave them (the real
// status: MP_OK, MP_ETASKFAILED, MP_EWORKERDIED, MP_ECANCELED, MP_ENOENT).
std::string encode_outcome(const ResultMsg &m);
int decode_outcome(ResultMsg *out, const std::string &payload);

}  // namespace mp
