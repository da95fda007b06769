// Shared by the fuzz harnesses: a reader that takes typed values from the
// fuzzer's bytes (zeros once they run out, so every input is usable), and
// the checks every harness makes on a library result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "multiproc.h"

// A failed property: report it the way a sanitizer would, so libFuzzer
// saves the input as a crash.
#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s (last error: %s)\n", __FILE__,     \
              __LINE__, #cond, mp_last_error());                                     \
      abort();                                                                        \
    }                                                                                 \
  } while (0)

namespace fuzz {

class Input {
 public:
  Input(const uint8_t *data, size_t size) : p_(data), n_(size) {}

  size_t left() const { return n_; }
  bool empty() const { return n_ == 0; }

  uint8_t u8() { return uint8_t(take_int(1)); }
  uint16_t u16() { return uint16_t(take_int(2)); }
  uint32_t u32() { return uint32_t(take_int(4)); }
  uint64_t u64() { return take_int(8); }

  // Up to n bytes (fewer at the end of the input).
  std::string bytes(size_t n) {
    if (n > n_) n = n_;
    std::string s(reinterpret_cast<const char *>(p_), n);
    p_ += n;
    n_ -= n;
    return s;
  }
  std::string rest() { return bytes(n_); }

 private:
  uint64_t take_int(size_t width) {  // little-endian; missing bytes are zero
    uint64_t v = 0;
    for (size_t i = 0; i < width && n_; ++i, ++p_, --n_) v |= uint64_t(*p_) << (8 * i);
    return v;
  }

  const uint8_t *p_;
  size_t n_;
};

// Every result of a public call is MP_OK (or a documented positive value)
// or one of the MP_E* codes, and an error comes with a message.
inline void check_code(int rc) {
  if (rc >= 0) return;
  FUZZ_CHECK(rc > MP__ERRNO_LAST);
  FUZZ_CHECK(strcmp(mp_err_name(rc), "UNKNOWN") != 0);
}

inline void check_error_has_message(int rc) {
  check_code(rc);
  if (rc < 0) FUZZ_CHECK(mp_last_error()[0] != '\0');
}

}  // namespace fuzz

// A corrupted length may ask for any amount of memory. Under ASan an
// allocation above 256 MiB fails (as on a small machine) and the library
// must return MP_ENOMEM; a huge allocation would only make the run slow.
extern "C" __attribute__((used, visibility("default"))) const char *__asan_default_options() {
  return "allocator_may_return_null=1:max_allocation_size_mb=256";
}
