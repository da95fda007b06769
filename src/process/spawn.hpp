// Creating child processes. Both entry points must run on the runtime
// thread (rt::call), so that a daemon child's PR_SET_PDEATHSIG is tied to a
// thread that lives as long as the process.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/fd.hpp"

namespace mp {

// Descriptor source meaning "the same as the child's descriptor 1".
constexpr int kSourceChildStdout = -2;
// Descriptor source meaning "leave the inherited descriptor alone".
constexpr int kSourceInherit = -1;

// Everything the child does between clone and execve, prepared in the parent
// so that the child needs no allocation.
struct ExecPlan {
  std::string path;
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::string cwd;  // empty: the parent's
  // fd_sources[i] becomes the child's descriptor i (or kSource* above).
  // Every other descriptor is closed in the child. Sources are parent
  // descriptors numbered >= fd_sources.size(), so no dup2 clobbers a source.
  std::vector<int> fd_sources;
  bool new_group = false;
  bool die_with_parent = false;
};

struct Spawned {
  int pid = -1;
  Fd pidfd;  // -1 where pidfds are unavailable
};

// clone(CLONE_VM|CLONE_VFORK) + execve: the cost does not grow with the
// parent's memory, and exec failures come back here synchronously.
int spawn_exec(Spawned &out, const ExecPlan &plan);

// fork() and run body in the child; body must not return (it ends the
// process). The child starts with an empty signal mask.
int fork_run(Spawned &out, bool die_with_parent,
             const std::function<void()> &body);

}  // namespace mp
