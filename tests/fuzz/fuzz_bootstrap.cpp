// The spawn bootstrap message (src/process/bootstrap.cpp): what a spawned
// child reads from the descriptor named by MULTIPROC_BOOTSTRAP_FD before it
// runs anything. Any bytes give MP_OK or MP_EINVAL with a message, a
// message the decoder accepts is exactly what the encoder writes for it,
// and its handles passed by name have valid names and kinds, within the
// limit of descriptors.
#include "fuzz.hpp"
#include "process/target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string wire(reinterpret_cast<const char *>(data), size);
  mp::Bootstrap b;
  int rc = mp::decode_bootstrap(b, wire);
  fuzz::check_error_has_message(rc);
  if (rc != MP_OK) {
    FUZZ_CHECK(rc == MP_EINVAL);
    return 0;
  }
  FUZZ_CHECK(b.target.size() <= 255 && b.name.size() <= 255);
  FUZZ_CHECK(b.nfds <= 64 && b.daemon <= 1);
  FUZZ_CHECK(b.nfds + b.named.size() <= 64);
  for (const mp::NamedSlot &n : b.named)
    FUZZ_CHECK(!n.name.empty() && n.name.size() <= 64 && mp::valid_handle_kind(n.kind));
  FUZZ_CHECK(mp::encode_bootstrap(b) == wire);
  return 0;
}
