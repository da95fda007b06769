// The broker's frames and payloads (see protocol.hpp). Nothing here trusts
// a length: the header is checked before any payload byte is kept, and
// every payload field is read through core/wire.hpp's bounded Reader.
#include "broker/protocol.hpp"

#include <cstring>

#include "core/address.hpp"
#include "core/error.hpp"
#include "core/wire.hpp"

namespace mp {
namespace {

constexpr size_t kMaxReplyMessage = 200;

bool known_type(uint16_t t) { return t >= uint16_t(FrameType::kOpenFd) && t <= uint16_t(FrameType::kGone); }

// The statuses an item of a remote pool may carry.
bool known_item_status(int32_t s) {
  return s == MP_OK || s == MP_ETASKFAILED || s == MP_EWORKERDIED || s == MP_ECANCELED ||
         s == MP_ENOENT || s == MP_ECLOSED;
}

}  // namespace

std::string encode_frame(FrameType type, const std::string &payload) {
  std::string s;
  s.reserve(kFrameHeader + payload.size());
  put_u32(s, kFrameMagic);
  uint32_t version_type = uint32_t(kFrameVersion) | uint32_t(type) << 16;
  put_u32(s, version_type);
  put_u64(s, payload.size());
  return s + payload;
}

size_t FrameReader::want() const { return size_t(need_ - buf_.size()); }

int FrameReader::feed(const char *data, size_t n) {
  if (n > want()) return fail(MP_EINVAL, "broker protocol: more bytes than the frame");
  buf_.append(data, n);
  if (header_ok_ || buf_.size() < kFrameHeader) return MP_OK;
  uint32_t magic, version_type;
  uint64_t len;
  memcpy(&magic, buf_.data(), 4);
  memcpy(&version_type, buf_.data() + 4, 4);
  memcpy(&len, buf_.data() + 8, 8);
  if (magic != kFrameMagic) return fail(MP_EINVAL, "broker protocol: not a multiproc broker frame");
  if ((version_type & 0xffff) != kFrameVersion)
    return fail(MP_EINVAL, "broker protocol: version %u, this library speaks %u",
                unsigned(version_type & 0xffff), unsigned(kFrameVersion));
  if (!known_type(uint16_t(version_type >> 16)))
    return fail(MP_EINVAL, "broker protocol: unknown frame type %u", unsigned(version_type >> 16));
  if (len > max_)
    return fail(MP_EINVAL, "broker protocol: a frame of %llu bytes (at most %llu here)",
                (unsigned long long)len, (unsigned long long)max_);
  header_ok_ = true;
  need_ = kFrameHeader + len;
  return MP_OK;
}

bool FrameReader::take(Frame *out) {
  if (!header_ok_ || buf_.size() < need_) return false;
  uint32_t version_type;
  memcpy(&version_type, buf_.data() + 4, 4);
  out->type = FrameType(version_type >> 16);
  out->payload.assign(buf_, kFrameHeader, std::string::npos);
  buf_.clear();
  need_ = kFrameHeader;
  header_ok_ = false;
  return true;
}

int decode_open(std::string *name, const std::string &payload) {
  if (payload.size() > kMaxObjectName || !valid_handle_name(payload.c_str()) ||
      strlen(payload.c_str()) != payload.size())
    return fail(MP_EINVAL, "broker protocol: a request with a malformed name");
  *name = payload;
  return MP_OK;
}

std::string encode_reply(const Reply &r) {
  std::string s;
  put_u32(s, uint32_t(r.status));
  put_u32(s, r.workers);
  s += r.message.substr(0, kMaxReplyMessage);
  return s;
}

int decode_reply(Reply *out, const std::string &payload) {
  Reader r(payload);
  uint32_t status;
  if (!r.u32(&status) || !r.u32(&out->workers) || r.left() > kMaxReplyMessage)
    return fail(MP_EINVAL, "broker protocol: a malformed reply");
  out->status = int32_t(status);
  if (out->status > 0 || out->status < -100) return fail(MP_EINVAL, "broker protocol: a reply with a bad status");
  out->message.assign(payload, 8, std::string::npos);
  for (char &c : out->message)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';  // a message, not a terminal command
  return MP_OK;
}

std::string encode_outcome(const ResultMsg &m) {
  std::string s = "MPO1";
  put_u64(s, m.id);
  put_u32(s, uint32_t(m.items.size()));
  for (const auto &item : m.items) {
    put_u64(s, item.index);
    put_u32(s, uint32_t(item.status));
    put_bytes(s, item.data);
  }
  return s;
}

int decode_outcome(ResultMsg *out, const std::string &payload) {
  Reader r(payload);
  uint32_t n;
  if (!r.magic("MPO1") || !r.u64(&out->id) || !r.u32(&n) || n > r.left() / 20)
    return fail(MP_EINVAL, "broker protocol: a malformed pool result");
  out->items.resize(n);
  for (auto &item : out->items) {
    uint32_t status;
    if (!r.u64(&item.index) || !r.u32(&status) || !r.bytes(&item.data))
      return fail(MP_EINVAL, "broker protocol: a truncated pool result");
    item.status = int32_t(status);
    if (!known_item_status(item.status))
      return fail(MP_EINVAL, "broker protocol: a pool result with status %d", item.status);
  }
  return r.done() ? MP_OK : fail(MP_EINVAL, "broker protocol: trailing bytes in a pool result");
}

}  // namespace mp
