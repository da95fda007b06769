// Handle names and tokens passed to commands (src/capi/queue_api.cpp,
// src/process/cmd.cpp): a command started with mp_cmd_pass_queue/_conn
// finds MULTIPROC_HANDLE_<name>=<kind>:<fd> in its environment, which any
// parent could have set to anything, and mp_queue_inherit/mp_conn_inherit
// parse it. Input: the name, a NUL byte, then the variable's value.
//
// Descriptors 100 (a queue's segment), 101 (a pipe's read end) and 102
// (/dev/null) are open, so "queue:100" and "conn:101" reach the attach
// code; seeds name them. Other numbers are whatever libFuzzer has open or
// nothing: inherit only duplicates and inspects a descriptor, never closes
// or reads the original.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "fuzz.hpp"

namespace {

mp_queue_t *g_queue;  // open until exit, behind descriptor 100

void setup() {
  static bool done = false;
  if (done) return;
  done = true;
  FUZZ_CHECK(mp_queue_new(&g_queue, 0, 4096, 0) == MP_OK);
  FUZZ_CHECK(dup2(mp_queue_fileno(g_queue), 100) == 100);
  int p[2];
  FUZZ_CHECK(pipe(p) == 0);
  FUZZ_CHECK(dup2(p[0], 101) == 101);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  FUZZ_CHECK(null >= 0 && dup2(null, 102) == 102);
}

bool valid_name(const std::string &name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  std::string input(reinterpret_cast<const char *>(data), size);
  size_t nul = input.find('\0');
  std::string name = input.substr(0, nul);
  std::string value = nul == std::string::npos ? "" : input.substr(nul + 1);
  value = value.substr(0, value.find('\0'));  // an environment value ends at NUL
  std::string var = "MULTIPROC_HANDLE_" + name;
  bool named = valid_name(name);
  if (named) FUZZ_CHECK(setenv(var.c_str(), value.c_str(), 1) == 0);

  mp_queue_t *q = nullptr;
  int rq = mp_queue_inherit(&q, name.c_str());
  fuzz::check_error_has_message(rq);
  FUZZ_CHECK((rq == MP_OK) == (q != nullptr));
  if (!named) FUZZ_CHECK(rq == MP_EINVAL);
  if (q) {
    // Only the seeded queue descriptor can pass attach's checks.
    FUZZ_CHECK(mp_queue_qsize(q) >= 0);
    mp_queue_free(q);
  }
  mp_conn_t *c = nullptr;
  int rc = mp_conn_inherit(&c, name.c_str(), MP_CONN_READABLE);
  fuzz::check_error_has_message(rc);
  FUZZ_CHECK((rc == MP_OK) == (c != nullptr));
  if (!named) FUZZ_CHECK(rc == MP_EINVAL);
  if (c) {
    int ready = mp_conn_poll(c, 0);  // a duplicate: polling touches nothing
    fuzz::check_code(ready);
    mp_conn_free(c);
  }
  // Accepted only as "<kind>:<decimal digits>".
  if (rq == MP_OK || rc == MP_OK) {
    size_t colon = value.find(':');
    FUZZ_CHECK(colon != std::string::npos && colon + 1 < value.size());
    FUZZ_CHECK(value.find_first_not_of("0123456789", colon + 1) == std::string::npos);
  }
  // A value accepted as a queue is never accepted as a connection.
  FUZZ_CHECK(!(rq == MP_OK && rc == MP_OK));
  if (named) unsetenv(var.c_str());
  return 0;
}
