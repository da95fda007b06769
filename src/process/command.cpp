// Spawning commands (subprocess.Popen): stdio set-up in the parent, the
// backend's spawn (spawn.hpp), the exit watch.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>

#include "core/error.hpp"
#include "process/cmd.hpp"
#include "process/process.hpp"
#include "process/spawn.hpp"

namespace mp {
namespace {

constexpr int kStdioCount = 3;

int open_file_source(Fd &child_end, const StdioSpec &spec, int stream) {
  int flags = O_CLOEXEC;
  if (stream == MP_STDIN)
    flags |= O_RDONLY;
  else
    flags |= O_WRONLY | O_CREAT |
             (spec.file_flags == MP_FILE_APPEND ? O_APPEND : O_TRUNC);
  int fd = open(spec.path.c_str(), flags, 0644);
  if (fd < 0) return fail_errno("spawn: open", spec.path.c_str(), errno);
  Fd opened(fd);
  return dup_cloexec(child_end, opened.get(), kStdioCount, "spawn: stdio file");
}

// Prepare one standard stream: the descriptor the child gets (child_end, or
// a kSource* marker in *source) and the parent's end of a pipe.
int prepare_stream(int *source, Fd &child_end, Fd &parent_end,
                   const StdioSpec &spec, int stream) {
  *source = kSourceInherit;
  if (spec.kind == StdioSpec::Kind::File) {
    int r = open_file_source(child_end, spec, stream);
    if (r == MP_OK) *source = child_end.get();
    return r;
  }
  if (spec.kind == StdioSpec::Kind::Fd) {
    int r = dup_cloexec(child_end, spec.fd, kStdioCount, "spawn: stdio fd");
    if (r == MP_OK) *source = child_end.get();
    return r;
  }
  switch (spec.mode) {
    case MP_STDIO_INHERIT:
      return MP_OK;
    case MP_STDIO_STDOUT:
      *source = kSourceChildStdout;
      return MP_OK;
    case MP_STDIO_NULL: {
      Fd null_fd(open("/dev/null", (stream == MP_STDIN ? O_RDONLY : O_WRONLY) |
                                       O_CLOEXEC));
      if (!null_fd.valid()) return fail_errno("spawn: open", "/dev/null", errno);
      int r = dup_cloexec(child_end, null_fd.get(), kStdioCount, "spawn: /dev/null");
      if (r == MP_OK) *source = child_end.get();
      return r;
    }
    case MP_STDIO_PIPE: {
      Fd r_end, w_end;
      int r = make_pipe(r_end, w_end);
      if (r != MP_OK) return r;
      Fd &mine = stream == MP_STDIN ? r_end : w_end;
      r = dup_cloexec(child_end, mine.get(), kStdioCount, "spawn: pipe");
      if (r != MP_OK) return r;
      parent_end = std::move(stream == MP_STDIN ? w_end : r_end);
      *source = child_end.get();
      return set_nonblocking(parent_end.get(), true);
    }
  }
  return fail(MP_EINVAL, "spawn: unknown stdio mode %d", int(spec.mode));
}

// The child's descriptor count once the mp_cmd_pass_fd_at() descriptors and
// the handles are placed: sources are duplicated at or above it.
int descriptor_count(const mp_cmd &cmd) {
  int top = kStdioCount;
  for (const auto &at : cmd.fds_at) top = std::max(top, at.first + 1);
  return top + int(cmd.handles.size());
}

// mp_cmd_pass_fd_at() descriptors take their numbers; the numbers between
// them that nobody names are closed in the child.
int place_fds_at(ExecPlan &plan, std::vector<Fd> &sources, const mp_cmd &cmd) {
  int first_free = descriptor_count(cmd);
  for (const auto &[child_fd, fd] : cmd.fds_at) {
    if (int(plan.fd_sources.size()) <= child_fd)
      plan.fd_sources.resize(size_t(child_fd) + 1, kSourceClosed);
    sources.emplace_back();
    int r = dup_cloexec(sources.back(), fd, first_free, "spawn: descriptor");
    if (r != MP_OK) return r;
    plan.fd_sources[size_t(child_fd)] = sources.back().get();
  }
  return MP_OK;
}

// Passed handles become the child's next descriptors (3, 4, … without
// mp_cmd_pass_fd_at()) and an environment variable per name:
// MULTIPROC_HANDLE_<name>=<kind>:<fd>.
int place_handles(ExecPlan &plan, std::vector<Fd> &sources, const mp_cmd &cmd) {
  int first_free = descriptor_count(cmd);
  for (const auto &h : cmd.handles) {
    int child_fd = int(plan.fd_sources.size());
    sources.emplace_back();
    int r = dup_cloexec(sources.back(), h.fd, first_free, "spawn: passed handle");
    if (r != MP_OK) return r;
    plan.fd_sources.push_back(sources.back().get());
    std::string var = std::string(kHandleEnvPrefix) + h.name + "=";
    plan.envp.erase(std::remove_if(plan.envp.begin(), plan.envp.end(),
                                   [&](const std::string &e) {
                                     return e.compare(0, var.size(), var) == 0;
                                   }),
                    plan.envp.end());
    plan.envp.push_back(var + h.kind + ":" + std::to_string(child_fd));
  }
  return MP_OK;
}

}  // namespace

int spawn_command(mp_process **out, const mp_cmd &cmd) {
  ExecImage image;
  int r = resolve_exec_image(image, cmd);
  if (r != MP_OK) return r;

  std::unique_ptr<mp_process> proc(new mp_process());
  proc->kind = mp_process::Kind::Command;
  proc->name = cmd.program;
  ExecPlan plan;
  plan.path = std::move(image.path);
  plan.argv = std::move(image.argv);
  plan.envp = std::move(image.envp);
  plan.cwd = cmd.cwd;
  plan.new_group = cmd.new_group;
  plan.new_session = cmd.new_session;
  plan.die_with_parent = cmd.daemon;
  plan.fd_sources.resize(kStdioCount);
  Fd child_ends[kStdioCount];
  std::vector<Fd> passed_sources;
  for (int i = 0; i < kStdioCount; ++i) {
    r = prepare_stream(&plan.fd_sources[i], child_ends[i], proc->stdio[i],
                       cmd.stdio[i], i);
    if (r != MP_OK) return r;
    proc->stdio_piped[i] = proc->stdio[i].valid();
  }
  r = place_fds_at(plan, passed_sources, cmd);
  if (r != MP_OK) return r;
  r = place_handles(plan, passed_sources, cmd);
  if (r != MP_OK) return r;

  r = launch_exec(&proc->child, plan, cmd.new_group || cmd.new_session);
  if (r != MP_OK) return r;
  *out = proc.release();
  return MP_OK;
}

}  // namespace mp
