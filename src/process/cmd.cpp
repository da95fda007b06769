#include "process/cmd.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

extern char **environ;

namespace mp {
namespace {

const char kDefaultPath[] = "/usr/local/bin:/usr/bin:/bin";

// "NAME=value" -> "NAME".
std::string env_key(const std::string &entry) {
  return entry.substr(0, entry.find('='));
}

void env_remove(std::vector<std::string> &env, const std::string &name) {
  std::vector<std::string> kept;
  kept.reserve(env.size());
  for (auto &entry : env)
    if (env_key(entry) != name) kept.push_back(std::move(entry));
  env.swap(kept);
}

std::string env_lookup(const std::vector<std::string> &env, const char *name) {
  for (const auto &entry : env)
    if (env_key(entry) == name) return entry.substr(entry.find('=') + 1);
  return {};
}

bool is_executable_file(const std::string &path, int *err) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    *err = errno;
    return false;
  }
  if (!S_ISREG(st.st_mode) || access(path.c_str(), X_OK) != 0) {
    *err = EACCES;
    return false;
  }
  return true;
}

// A relative or empty PATH entry: it names a different directory in
// every process, and os/exec refuses it (ErrDot) for that reason.
bool is_relative_dir(const std::string &dir) { return dir.empty() || dir[0] != '/'; }

// The path the parent must check to see the file the child, running in
// cwd (empty: the parent's directory), will execute as path.
std::string as_seen_from(const std::string &cwd, const std::string &path) {
  if (cwd.empty() || path[0] == '/') return path;
  return cwd + "/" + path;
}

int check_cwd(const std::string &cwd) {
  if (cwd.empty()) return MP_OK;
  struct stat st;
  if (stat(cwd.c_str(), &st) != 0) return fail_errno("spawn: chdir", cwd.c_str(), errno);
  if (!S_ISDIR(st.st_mode)) return fail_errno("spawn: chdir", cwd.c_str(), ENOTDIR);
  return MP_OK;
}

// The PATH search of a program without '/': the first executable file in
// the entries, in order. Relative entries count only when the command
// allows them; a program found only through one is MP_EACCES.
int search_path(std::string &path, const mp_cmd &cmd, const std::string &search) {
  int first_err = ENOENT;
  std::string skipped;  // the first file found through a skipped entry
  size_t start = 0;
  for (;;) {
    size_t colon = search.find(':', start);
    std::string dir = search.substr(start, colon == std::string::npos
                                               ? std::string::npos
                                               : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + cmd.program;
    bool usable = cmd.allow_relative_path || !is_relative_dir(dir);
    int err = 0;
    if (is_executable_file(as_seen_from(cmd.cwd, candidate), &err)) {
      if (usable) {
        path = candidate;
        return MP_OK;
      }
      if (skipped.empty()) skipped = candidate;
    } else if (err == EACCES && usable) {
      first_err = EACCES;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (!skipped.empty())
    return fail(MP_EACCES,
                "spawn: %s: found only relative to the current directory, as %s "
                "(relative PATH entries are skipped; mp_cmd_allow_relative_path allows them)",
                cmd.program.c_str(), skipped.c_str());
  if (first_err == EACCES)
    return fail(MP_EACCES, "spawn: %s: found in PATH but not executable",
                cmd.program.c_str());
  return fail(MP_ENOENT, "spawn: %s: not found in PATH (%s)",
              cmd.program.c_str(), search.c_str());
}

}  // namespace

bool is_handle_env(const char *entry) {
  return strncmp(entry, kHandleEnvPrefix, strlen(kHandleEnvPrefix)) == 0;
}

bool valid_env_name(const char *name) {
  return name && *name && !strchr(name, '=');
}

std::vector<std::string> child_environment(const mp_cmd &cmd) {
  std::vector<std::string> env;
  // Handles passed to this program by name are its own: a child gets only
  // those its own mp_cmd_pass_* gives it (place_handles adds them).
  if (!cmd.env_clear)
    for (char **e = environ; e && *e; ++e)
      if (!is_handle_env(*e)) env.emplace_back(*e);
  for (const auto &[name, value] : cmd.env_changes) {
    env_remove(env, name);
    if (value) env.push_back(name + "=" + *value);
  }
  return env;
}

int resolve_exec_image(ExecImage &out, const mp_cmd &cmd) {
  // A missing directory is the error even when the program is missing too:
  // Python names the directory (test_file_not_found_with_bad_cwd).
  int r = check_cwd(cmd.cwd);
  if (r != MP_OK) return r;
  out.envp = child_environment(cmd);
  out.argv.clear();
  out.argv.push_back(cmd.arg0 ? *cmd.arg0 : cmd.program);
  out.argv.insert(out.argv.end(), cmd.args.begin(), cmd.args.end());
  if (cmd.program.find('/') != std::string::npos) {
    // execve() runs after chdir(cwd), so a relative path is taken in the
    // child's directory, and reports ENOENT/EACCES itself.
    out.path = cmd.program;
    return MP_OK;
  }
  std::string search = env_lookup(out.envp, "PATH");
  if (search.empty()) search = kDefaultPath;
  return search_path(out.path, cmd, search);
}

}  // namespace mp
