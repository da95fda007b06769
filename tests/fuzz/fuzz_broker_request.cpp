// The broker's frames (src/broker/protocol.cpp): the byte stream a client
// (or, for the opener, a broker) sends, cut in fuzzer-chosen pieces, read
// through FrameReader under a request's or a pool channel's limit, and
// each frame decoded as the broker or the client would. Properties: no
// crash; the reader never holds more than one frame of the limit (a
// 2^62-byte claim is refused at its header); every error has a message;
// what decodes re-encodes to the same bytes (names, outcomes).
#include <algorithm>

#include "broker/protocol.hpp"
#include "core/address.hpp"
#include "fuzz.hpp"

namespace {

void decode(const mp::Frame &f) {
  switch (f.type) {
    case mp::FrameType::kOpenFd:
    case mp::FrameType::kOpenPool: {
      std::string name;
      int rc = mp::decode_open(&name, f.payload);
      fuzz::check_error_has_message(rc);
      if (rc == MP_OK) FUZZ_CHECK(mp::valid_handle_name(name.c_str()) && name == f.payload);
      break;
    }
    case mp::FrameType::kReply:
    case mp::FrameType::kGone: {
      mp::Reply r;
      int rc = mp::decode_reply(&r, f.payload);
      fuzz::check_error_has_message(rc);
      if (rc == MP_OK) FUZZ_CHECK(r.status <= 0 && r.message.size() <= 200);
      break;
    }
    case mp::FrameType::kTask: {
      mp::ChunkMsg c;
      fuzz::check_error_has_message(mp::decode_chunk(c, f.payload));
      break;
    }
    case mp::FrameType::kResult: {
      mp::ResultMsg m;
      int rc = mp::decode_outcome(&m, f.payload);
      fuzz::check_error_has_message(rc);
      if (rc == MP_OK) FUZZ_CHECK(mp::encode_outcome(m) == f.payload);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::Input in(data, size);
  uint64_t limit = in.u8() & 1 ? mp::kMaxPoolFrame : mp::kMaxRequestFrame;
  size_t piece = 1 + in.u8();
  std::string stream = in.rest();
  mp::FrameReader reader(limit);
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t n = std::min({piece, reader.want(), stream.size() - pos});
    int rc = reader.feed(stream.data() + pos, n);
    fuzz::check_error_has_message(rc);
    if (rc != MP_OK) break;  // the broker closes the connection here
    pos += n;
    FUZZ_CHECK(reader.held() <= mp::kFrameHeader + limit);
    mp::Frame f;
    if (reader.take(&f)) {
      FUZZ_CHECK(f.payload.size() <= limit);
      decode(f);
    }
  }
  return 0;
}
