// The pool's messages (src/pool/protocol.cpp): task chunks a worker reads,
// results the parent reads from a worker that may have died mid-write or
// written garbage, and a worker's start-up configuration. The first byte
// picks the decoder. Any bytes give MP_OK or MP_EINVAL with a message, and
// what decodes re-encodes to the same message.
#include "fuzz.hpp"
#include "pool/protocol.hpp"

namespace {

void chunk(const std::string &wire) {
  mp::ChunkMsg m;
  int rc = mp::decode_chunk(m, wire);
  fuzz::check_error_has_message(rc);
  if (rc != MP_OK) {
    FUZZ_CHECK(rc == MP_EINVAL);
    return;
  }
  FUZZ_CHECK(m.indexes.size() == m.args.size());
  FUZZ_CHECK(mp::encode_chunk(m) == wire);
}

void result(const std::string &wire) {
  mp::ResultMsg m;
  int rc = mp::decode_result(m, wire);
  fuzz::check_error_has_message(rc);
  if (rc != MP_OK) {
    FUZZ_CHECK(rc == MP_EINVAL);
    return;
  }
  for (const auto &item : m.items) FUZZ_CHECK(item.status == MP_OK || item.status == MP_ETASKFAILED);
  // Any non-zero "failed" word means failed: compare after one round trip.
  mp::ResultMsg again;
  std::string canonical = mp::encode_result(m);
  FUZZ_CHECK(canonical.size() == wire.size());
  FUZZ_CHECK(mp::decode_result(again, canonical) == MP_OK);
  FUZZ_CHECK(mp::encode_result(again) == canonical);
}

void config(const std::string &wire) {
  mp::WorkerConfig c;
  int rc = mp::decode_config(c, wire);
  fuzz::check_error_has_message(rc);
  if (rc != MP_OK) {
    FUZZ_CHECK(rc == MP_EINVAL);
    return;
  }
  FUZZ_CHECK(mp::encode_config(c) == wire);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::Input in(data, size);
  uint8_t which = in.u8();
  std::string wire = in.rest();
  switch (which % 3) {
    case 0: chunk(wire); break;
    case 1: result(wire); break;
    default: config(wire); break;
  }
  return 0;
}
