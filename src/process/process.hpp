// mp_process_t: the user's handle on a child, a command (mp_process_spawn)
// or a target (mp_process_new + mp_process_start).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "multiproc.h"
#include "process/child.hpp"
#include "process/named.hpp"

struct mp_process {
  static constexpr uint32_t kMagic = 0x4d505052;  // "MPPR"
  uint32_t magic = kMagic;
  enum class Kind { Command, Target } kind;
  std::string name;
  std::shared_ptr<mp::Child> child;  // null until started
  std::mutex mu;                     // guards start

  // Target processes, before start.
  std::string target;
  std::string arg;
  bool daemon = false;
  mp_start_method_t method = MP_START_FORK;
  bool method_chosen = false;  // else the process-wide default at start
  std::vector<mp::Fd> pass_fds;
  std::vector<mp::NamedPass> named;

  // Parent ends of the pipes of a command (invalid when not a pipe).
  mp::Fd stdio[3];
  std::mutex stdio_mu[3];
  bool stdio_piped[3] = {false, false, false};
};

namespace mp {

// Spawn a command (mp_process_spawn).
int spawn_command(mp_process **out, const mp_cmd &cmd);

// Create / start a target process.
int new_target_process(mp_process **out, const char *target, const void *arg,
                       size_t arg_len);
int start_target_process(mp_process &proc);
// Give a not yet started target process a duplicate of fd under name, as
// kind ("queue", "conn", "fd"); proc.mu held by the caller.
int pass_named(mp_process &proc, const char *name, const char *kind, int fd, const char *op);

// The process-wide default start method (mp_set_start_method), and the
// one a process or pool that did not choose its own uses: the first such
// use fixes the default, as Python's first Process does.
int set_default_start_method(mp_start_method_t method, bool force);
inline bool valid_start_method(int m) {
  return m == MP_START_FORK || m == MP_START_SPAWN || m == MP_START_FORKSERVER;
}
mp_start_method_t default_start_method();
mp_start_method_t use_default_start_method();

// Stdio of a running command.
int process_write(mp_process &proc, const void *buf, size_t len,
                  const Deadline &deadline);
// Close the parent's end of a pipe (stream: MP_STDIN/STDOUT/STDERR).
int process_close_stream(mp_process &proc, int stream);
int process_read(size_t *out_len, mp_process &proc, int stream, void *buf,
                 size_t cap, const Deadline &deadline);

struct Captured {
  void *out = nullptr;
  size_t out_len = 0;
  void *err = nullptr;
  size_t err_len = 0;
};
int process_communicate(Captured &cap, mp_process &proc, const void *input,
                        size_t input_len, const Deadline &deadline);

}  // namespace mp
