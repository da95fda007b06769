// The backend's choice of spawning mechanism (spawn.hpp): Linux's clone +
// pidfd (spawn_linux.cpp) or the portable uv_spawn and fork (spawn_uv.cpp).
#include "core/backend.hpp"
#include "process/child.hpp"
#include "process/spawn.hpp"

namespace mp {

std::vector<char *> c_string_array(const std::vector<std::string> &v) {
  std::vector<char *> out;
  out.reserve(v.size() + 1);
  for (const auto &s : v) out.push_back(const_cast<char *>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

int launch_exec(std::shared_ptr<Child> *out, const ExecPlan &plan, bool group) {
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (!portable_backend())
    return launch_child(out, plan.die_with_parent, group,
                        [&](Spawned &spawned) { return spawn_exec(spawned, plan); });
#endif
  return uv_launch_exec(out, plan, group);
}

int launch_fork(std::shared_ptr<Child> *out, bool die_with_parent,
                const std::function<void(int parent_pid)> &body) {
  return launch_child(out, die_with_parent, false, [&](Spawned &spawned) {
#ifdef MP_HAVE_LINUX_MECHANISMS
    if (!portable_backend()) return fork_run(spawned, die_with_parent, body);
#endif
    return portable_fork_run(spawned, die_with_parent, body);
  });
}

}  // namespace mp
