// Creating child processes. spawn_exec and fork_run create the child in the
// calling thread; launch_child picks the thread: the caller's (fastest), or
// for a child that must die with the parent the runtime thread, because
// PR_SET_PDEATHSIG fires when the *thread* that created the child exits.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/fd.hpp"

namespace mp {

// Descriptor source meaning "the same as the child's descriptor 1".
constexpr int kSourceChildStdout = -2;
// Descriptor source meaning "leave the inherited descriptor alone".
constexpr int kSourceInherit = -1;
// Descriptor source meaning "close it in the child" (a gap below an
// mp_cmd_pass_fd_at() descriptor).
constexpr int kSourceClosed = -3;

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
  bool new_session = false;  // setsid(): also a new group
  bool die_with_parent = false;
};

struct Spawned {
  int pid = -1;
  Fd pidfd;  // -1 where pidfds are unavailable
};

// clone(CLONE_VM|CLONE_VFORK) + execve: the cost does not grow with the
// parent's memory, and exec failures come back here synchronously.
int spawn_exec(Spawned &out, const ExecPlan &plan);

// fork() and run body in the child with the parent's pid (read once, in
// the parent: one getpid per start); body must not return (it ends the
// process). The child starts with an empty signal mask.
int fork_run(Spawned &out, bool die_with_parent,
             const std::function<void(int parent_pid)> &body);

class Child;

// The plan of re-executing this program (recorded by mp_main()) with
// env_var=3 and sources as its descriptors 3, 4, …: MP_START_SPAWN's child
// and the forkserver. Each source must be numbered above them all.
ExecPlan self_exec_plan(const char *env_var, bool die_with_parent,
                        const std::vector<int> &sources);

// Create a child with create() on the right thread (see above) and start
// the runtime's exit watch on it. *out is set once the child exists.
int launch_child(std::shared_ptr<Child> *out, bool die_with_parent, bool group,
                 const std::function<int(Spawned &)> &create);

}  // namespace mp
