// Starting a process that runs a registered target: fork (a copy of this
// process), spawn (a re-execution of the program that mp_main() catches)
// or forkserver (forked by a server, forkserver.hpp).
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <new>

#include "core/address.hpp"
#include "core/backend.hpp"
#include "core/error.hpp"
#include "process/cmd.hpp"
#include "process/forkserver.hpp"
#include "process/parent_watch.hpp"
#include "process/process.hpp"
#include "process/spawn.hpp"
#include "process/target.hpp"

extern char **environ;

namespace mp {
namespace {

std::atomic<int> g_process_counter{0};

// The process-wide default start method; fixed once set or first used.
struct DefaultMethod {
  std::mutex mu;
  mp_start_method_t method = MP_START_FORK;
  const char *fixed_by = nullptr;  // why it may no longer change
};

DefaultMethod &default_method() {
  static DefaultMethod *d = new DefaultMethod();  // used until exit
  return *d;
}

const char *method_name(mp_start_method_t m) {
  return m == MP_START_SPAWN ? "spawn" : m == MP_START_FORKSERVER ? "forkserver" : "fork";
}

// Runs in the forked child: become the target's process, never return.
[[noreturn]] void become_forked_child(const mp_process &proc,
                                      const Target &target, int parent_pid) {
  SelfInfo &self = self_info();
  self.is_child = true;
  self.parent_name = self.name;  // still the parent's: this is its copy
  self.name = proc.name;
  self.parent_pid = parent_pid;
  self.fds.clear();
  for (const Fd &fd : proc.pass_fds) self.fds.push_back(fd.get());
  self.named.clear();  // the parent's own names stay with the parent
  for (const NamedPass &p : proc.named) self.named.push_back(NamedFd{p.name, p.kind, p.fd.get()});
  run_target_and_exit(target, proc.arg);
}

int start_forked(mp_process &proc, const Target &target) {
  fflush(nullptr);  // buffered output must not be written twice
  return launch_fork(&proc.child, proc.daemon, [&](int parent_pid) {
    become_forked_child(proc, target, parent_pid);
  });
}

Bootstrap bootstrap_of(const mp_process &proc);

int start_spawned(mp_process &proc) {
  if (!spawn_image_known())
    return fail(MP_ESTATE, "start: MP_START_SPAWN needs mp_main() at the top of main()");
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return fail_errno("start: socketpair", "", errno);
  Fd mine(pair[0]), theirs(pair[1]);
  // Sources for the child's descriptors 3, 4, …, numbered above them all:
  // the bootstrap, those passed by index, then those passed by name.
  size_t npassed = proc.pass_fds.size() + proc.named.size();
  // The portable backend's daemon gets the read end of our pipe last
  // (parent_watch.hpp), named by an environment variable.
  bool watch_pipe = proc.daemon && portable_backend();
  int first_free = kBootstrapFd + 1 + int(npassed) + (watch_pipe ? 1 : 0);
  std::vector<Fd> sources(1 + npassed);
  int r = dup_cloexec(sources[0], theirs.get(), first_free, "start: bootstrap");
  for (size_t i = 0; r == MP_OK && i < proc.pass_fds.size(); ++i)
    r = dup_cloexec(sources[1 + i], proc.pass_fds[i].get(), first_free, "start: pass fd");
  for (size_t i = 0; r == MP_OK && i < proc.named.size(); ++i)
    r = dup_cloexec(sources[1 + proc.pass_fds.size() + i], proc.named[i].fd.get(), first_free,
                    "start: pass by name");
  if (r == MP_OK && watch_pipe) {
    int pipe_fd = parent_pipe_read_end();
    sources.emplace_back();
    r = pipe_fd < 0 ? pipe_fd : dup_cloexec(sources.back(), pipe_fd, first_free, "start: parent pipe");
  }
  if (r != MP_OK) return r;
  std::vector<int> fd_sources;
  for (const Fd &fd : sources) fd_sources.push_back(fd.get());
  ExecPlan plan = self_exec_plan(kBootstrapEnv, proc.daemon, fd_sources);
  if (watch_pipe) {
    plan.envp.push_back(std::string(kParentPipeEnv) + "=" +
                        std::to_string(kBootstrapFd + 1 + int(npassed)));
    plan.dies_by_itself = true;
  }
  r = launch_exec(&proc.child, plan, false);
  if (r != MP_OK) return r;
  theirs.reset();
  sources.clear();
  return send_bootstrap(mine.get(), encode_bootstrap(bootstrap_of(proc)));
}

Bootstrap bootstrap_of(const mp_process &proc) {
  Bootstrap b;
  b.target = proc.target;
  b.name = proc.name;
  b.arg = proc.arg;
  b.parent_pid = uint32_t(getpid());
  b.parent_name = self_info().name;
  b.daemon = proc.daemon ? 1 : 0;
  b.nfds = uint32_t(proc.pass_fds.size());
  for (const NamedPass &p : proc.named) b.named.push_back(NamedSlot{p.name, p.kind});
  return b;
}

int start_forkserved(mp_process &proc) {
  std::vector<int> fds;
  for (const Fd &fd : proc.pass_fds) fds.push_back(fd.get());
  for (const NamedPass &p : proc.named) fds.push_back(p.fd.get());
  return forkserver_start(&proc.child, bootstrap_of(proc), proc.daemon, fds);
}

}  // namespace

ExecPlan self_exec_plan(const char *env_var, bool die_with_parent,
                        const std::vector<int> &sources) {
  ExecPlan plan;
  plan.path = spawn_image_path();
  plan.argv = spawn_image_argv();
  std::string bootstrap_var = std::string(kBootstrapEnv) + "=";
  std::string server_var = std::string(kForkserverEnv) + "=";
  std::string pipe_var = std::string(kParentPipeEnv) + "=";
  for (char **e = environ; e && *e; ++e) {
    std::string var(*e);
    if (var.compare(0, bootstrap_var.size(), bootstrap_var) != 0 &&
        var.compare(0, server_var.size(), server_var) != 0 &&
        var.compare(0, pipe_var.size(), pipe_var) != 0 && !is_handle_env(*e))
      plan.envp.push_back(std::move(var));
  }
  plan.envp.push_back(std::string(env_var) + "=" + std::to_string(kBootstrapFd));
  plan.die_with_parent = die_with_parent;
  plan.fd_sources = {kSourceInherit, kSourceInherit, kSourceInherit};
  plan.fd_sources.insert(plan.fd_sources.end(), sources.begin(), sources.end());
  return plan;
}

int send_bootstrap(int sock, const std::string &wire) {
  size_t off = 0;
  while (off < wire.size()) {
    ssize_t n = send(sock, wire.data() + off, wire.size() - off, MSG_NOSIGNAL);
    if (n >= 0) {
      off += size_t(n);
    } else if (errno == EPIPE || errno == ECONNRESET) {
      return MP_OK;
    } else if (errno != EINTR) {
      return fail_errno("start: send bootstrap", "", errno);
    }
  }
  return MP_OK;
}

int new_target_process(mp_process **out, const char *target, const void *arg,
                       size_t arg_len) {
  Target t;
  if (!lookup_target(target, &t))
    return fail(MP_ENOENT, "process: no target registered as '%s'", target);
  std::unique_ptr<mp_process> proc(new mp_process());
  proc->kind = mp_process::Kind::Target;
  proc->target = target;
  if (arg_len) proc->arg.assign(static_cast<const char *>(arg), arg_len);
  proc->name = "Process-" + std::to_string(++g_process_counter);
  *out = proc.release();
  return MP_OK;
}

int set_default_start_method(mp_start_method_t method, bool force) {
  DefaultMethod &d = default_method();
  std::lock_guard<std::mutex> lock(d.mu);
  if (d.fixed_by && !force)
    return fail(MP_ESTATE,
                "mp_set_start_method: the start method is already fixed (%s, %s); "
                "pass force=1 to change it",
                method_name(d.method), d.fixed_by);
  d.method = method;
  d.fixed_by = "set by mp_set_start_method";
  return MP_OK;
}

mp_start_method_t default_start_method() {
  DefaultMethod &d = default_method();
  std::lock_guard<std::mutex> lock(d.mu);
  return d.method;
}

mp_start_method_t use_default_start_method() {
  DefaultMethod &d = default_method();
  std::lock_guard<std::mutex> lock(d.mu);
  if (!d.fixed_by) d.fixed_by = "used by an earlier process or pool";
  return d.method;
}

int pass_named(mp_process &proc, const char *name, const char *kind, int fd, const char *op) {
  if (!valid_handle_name(name))
    return fail(MP_EINVAL, "%s: name must be 1-64 characters of [A-Za-z0-9_]", op);
  if (proc.kind != mp_process::Kind::Target || proc.child)
    return fail(MP_ESTATE, "%s: only a target process not yet started takes handles", op);
  for (const NamedPass &p : proc.named)
    if (p.name == name) return fail(MP_EEXIST, "%s: '%s' is already passed", op, name);
  if (proc.pass_fds.size() + proc.named.size() >= kMaxPassFds)
    return fail(MP_ENOSPC, "%s: at most %zu descriptors", op, kMaxPassFds);
  Fd copy;
  int r = dup_cloexec(copy, fd, 3, op);
  if (r != MP_OK) return r;
  proc.named.push_back(NamedPass{name, kind, std::move(copy)});
  return MP_OK;
}

int start_target_process(mp_process &proc) {
  std::lock_guard<std::mutex> lock(proc.mu);
  if (proc.child) return fail(MP_ESTATE, "start: the process was already started");
  Target t;
  if (!lookup_target(proc.target, &t))
    return fail(MP_ENOENT, "start: no target registered as '%s'", proc.target.c_str());
  if (!proc.method_chosen) proc.method = use_default_start_method();
  int r = proc.method == MP_START_SPAWN        ? start_spawned(proc)
          : proc.method == MP_START_FORKSERVER ? start_forkserved(proc)
                                               : start_forked(proc, t);
  if (proc.child) {
    track_for_exit(proc.child);
    proc.pass_fds.clear();  // the child has its copies
    proc.named.clear();
  }
  return r;
}

}  // namespace mp
