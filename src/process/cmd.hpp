// mp_cmd_t: what to run. A plain value object; spawning reads it and never
// changes it, so one command can be spawned many times.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/address.hpp"
#include "multiproc.h"

namespace mp {

// How one standard stream of the child is set up.
struct StdioSpec {
  enum class Kind { Mode, File, Fd };
  Kind kind = Kind::Mode;
  mp_stdio_t mode = MP_STDIO_INHERIT;
  std::string path;  // Kind::File
  int file_flags = MP_FILE_TRUNCATE;
  int fd = -1;  // Kind::Fd (borrowed)
};

// A queue or connection end handed to the child under a name.
struct PassedHandle {
  std::string name;
  const char *kind;  // "queue" or "conn"
  int fd;            // borrowed until spawn
};

// Resolve the program and build argv/envp exactly as the child will see them.
struct ExecImage {
  std::string path;  // what execve() gets
  std::vector<std::string> argv;
  std::vector<std::string> envp;
};

}  // namespace mp

struct mp_cmd {
  std::string program;
  std::optional<std::string> arg0;
  std::vector<std::string> args;
  bool env_clear = false;
  // Sets (value) and unsets (nullopt) in the order they were made.
  std::vector<std::pair<std::string, std::optional<std::string>>> env_changes;
  std::string cwd;
  mp::StdioSpec stdio[3];
  // mp_cmd_pass_fd_at(): (child descriptor, borrowed parent descriptor),
  // one entry per child descriptor.
  std::vector<std::pair<int, int>> fds_at;
  bool new_group = false;
  bool new_session = false;
  bool daemon = false;
  bool allow_relative_path = false;  // relative/empty PATH entries searched
  bool check = false;                // mp_run: non-zero exit is an error
  std::vector<mp::PassedHandle> handles;
};

namespace mp {

// The environment the child gets: the parent's (unless cleared) with the
// command's changes applied in order.
std::vector<std::string> child_environment(const mp_cmd &cmd);

// Find the program (PATH search for names without '/') and build the image.
// MP_ENOENT / MP_EACCES with the message set when no executable is found.
int resolve_exec_image(ExecImage &out, const mp_cmd &cmd);

bool valid_env_name(const char *name);

// The environment variable that names a passed handle in the child.
constexpr const char *kHandleEnvPrefix = "MULTIPROC_HANDLE_";

// Whether an environment entry ("NAME=value") is a handle passed by name
// (kHandleEnvPrefix): never inherited by a child of the program given it.
bool is_handle_env(const char *entry);

}  // namespace mp
