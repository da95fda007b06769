// Registered targets, this process's own identity, and mp_main(): the
// child side of MP_START_SPAWN and MP_START_FORKSERVER.
#include "process/target.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

#include "core/error.hpp"
#include "process/child.hpp"
#include "process/forkserver.hpp"
#include "process/parent_watch.hpp"

namespace mp {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, Target> targets;
};

Registry &registry() {
  static Registry *r = new Registry();  // never destroyed: used at exit
  return *r;
}

// A forked child must find the registry unlocked: hold its lock across fork.
void lock_registry_for_fork() { registry().mu.lock(); }
void unlock_registry_after_fork() { registry().mu.unlock(); }
const int g_registry_atfork = pthread_atfork(
    lock_registry_for_fork, unlock_registry_after_fork, unlock_registry_after_fork);

struct SpawnImage {
  bool known = false;
  std::string path;
  std::vector<std::string> argv;
};

SpawnImage &spawn_image() {
  static SpawnImage *s = new SpawnImage();
  return *s;
}

[[noreturn]] void child_abort(const char *what) {
  fprintf(stderr, "multiproc child %d: %s\n", int(getpid()), what);
  fflush(stderr);
  _exit(1);
}

// Read the whole bootstrap from fd (the parent closes its end when done).
int read_all(std::string &out, int fd) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, size_t(n));
    } else if (n == 0) {
      return MP_OK;
    } else if (errno != EINTR) {
      return fail_errno("bootstrap: read", "", errno);
    }
  }
}

// Run the target a spawned or forkserver child was started for.
[[noreturn]] void run_job(const Bootstrap &b) {
  Target t;
  if (!lookup_target(b.target, &t)) {
    std::string msg = "target '" + b.target +
                      "' is not registered (call mp_register before mp_main)";
    child_abort(msg.c_str());
  }
  run_target_and_exit(t, b.arg);
}

[[noreturn]] void run_bootstrap(int fd) {
  watch_parent_pipe_from_env();  // a daemon of the portable backend
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  unsetenv(kBootstrapEnv);  // never reaches a grandchild
  std::string wire;
  Bootstrap b;
  if (read_all(wire, fd) != MP_OK || decode_bootstrap(b, wire) != MP_OK)
    child_abort(last_error_message());
  close(fd);
  SelfInfo &self = self_info();
  self.is_child = true;
  self.name = b.name;
  self.parent_pid = int(b.parent_pid);
  self.parent_name = b.parent_name;
  int passed = kBootstrapFd + 1;
  for (uint32_t i = 0; i < b.nfds; ++i, ++passed) {
    fcntl(passed, F_SETFD, FD_CLOEXEC);
    self.fds.push_back(passed);
  }
  for (const NamedSlot &slot : b.named) {
    fcntl(passed, F_SETFD, FD_CLOEXEC);
    self.named.push_back(NamedFd{slot.name, slot.kind, passed++});
  }
  run_job(b);
}

}  // namespace

int register_target(const char *name, mp_target_fn fn, void *payload) {
  std::lock_guard<std::mutex> lock(registry().mu);
  auto [it, inserted] = registry().targets.emplace(name, Target{fn, payload});
  if (!inserted)
    return fail(MP_EEXIST, "register: target '%s' is already registered", name);
  return MP_OK;
}

bool lookup_target(const std::string &name, Target *out) {
  std::lock_guard<std::mutex> lock(registry().mu);
  auto it = registry().targets.find(name);
  if (it == registry().targets.end()) return false;
  *out = it->second;
  return true;
}

SelfInfo &self_info() {
  static SelfInfo *s = new SelfInfo();
  return *s;
}

[[noreturn]] void run_target_and_exit(const Target &t,
                                      const std::string &arg) {
  int rc = t.fn(arg.empty() ? nullptr : arg.data(), arg.size(), t.payload);
  finish_children();
  fflush(nullptr);
  _exit(rc & 0xff);
}

int main_entry(int argc, char **argv) {
  // Recorded in spawned children too: a target may spawn children itself.
  SpawnImage &img = spawn_image();
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  img.path = n > 0 ? std::string(exe, size_t(n)) : std::string(argv[0]);
  img.argv.assign(argv, argv + argc);
  img.known = true;
  if (const Bootstrap *job = forkserver_job()) run_job(*job);
  const char *bootstrap = getenv(kBootstrapEnv);
  if (bootstrap) {
    char *end;
    long fd = strtol(bootstrap, &end, 10);
    if (*bootstrap < '0' || *bootstrap > '9' || *end || fd < 0 || fd > 1 << 20)
      child_abort("bad " "MULTIPROC_BOOTSTRAP_FD");
    run_bootstrap(int(fd));
  }
  return MP_OK;
}

bool spawn_image_known() { return spawn_image().known; }
const std::string &spawn_image_path() { return spawn_image().path; }
const std::vector<std::string> &spawn_image_argv() { return spawn_image().argv; }

}  // namespace mp
