// Registered targets, the state of this process as a child, and the
// bootstrap message a spawned child reads in mp_main().
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "process/named.hpp"
#include "multiproc.h"

namespace mp {

int register_target(const char *name, mp_target_fn fn, void *payload);

// What this process knows about itself.
struct SelfInfo {
  bool is_child = false;
  std::string name = "MainProcess";
  int parent_pid = 0;
  // What getppid() is while the parent lives (mp_parent_alive): its pid,
  // or for a forkserver child the server's, which dies with the parent.
  int alive_ppid = 0;  // 0: parent_pid
  std::string parent_name;  // the parent's name when it started this one
  std::vector<int> fds;  // mp_child_fd()
  // Passed by name, filled before the target runs. Consulted before the
  // environment; a child this one starts gets only its own table.
  std::vector<NamedFd> named;
};
SelfInfo &self_info();

// mp_main(): record argv, or run the bootstrap and never return.
int main_entry(int argc, char **argv);

// The program to re-execute and its arguments, recorded by mp_main().
bool spawn_image_known();
const std::string &spawn_image_path();
const std::vector<std::string> &spawn_image_argv();

struct Target {
  mp_target_fn fn = nullptr;
  void *payload = nullptr;
};
// Find a registered target. False when there is none of that name.
bool lookup_target(const std::string &name, Target *out);

// Run a target in this (child) process and end the process with its result.
[[noreturn]] void run_target_and_exit(const Target &target,
                                      const std::string &arg);

// The environment variable naming the bootstrap descriptor of a spawned child.
constexpr const char *kBootstrapEnv = "MULTIPROC_BOOTSTRAP_FD";
constexpr int kBootstrapFd = 3;

// Bootstrap wire format (version 3), all integers little-endian u32 with
// length-prefixed strings:  "MPB3" | target | name | arg | parent_pid |
// daemon | nfds | parent_name | nnamed | (name | kind) * nnamed. The
// descriptors passed by index sit at kBootstrapFd + 1 + i, those passed
// by name after them, in the order of the list.
struct NamedSlot {
  std::string name;
  std::string kind;
};
struct Bootstrap {
  std::string target;
  std::string name;
  std::string arg;
  uint32_t parent_pid = 0;
  uint32_t daemon = 0;
  uint32_t nfds = 0;
  std::string parent_name;
  std::vector<NamedSlot> named;
};
std::string encode_bootstrap(const Bootstrap &b);
// Send a bootstrap; a peer gone (EPIPE) is no error: its exit code tells.
int send_bootstrap(int sock, const std::string &wire);
// MP_OK, or MP_EINVAL for a truncated or malformed message.
int decode_bootstrap(Bootstrap &out, const std::string &wire);

}  // namespace mp
