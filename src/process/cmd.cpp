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

}  // namespace

bool valid_handle_name(const char *name) {
  if (!name) return false;
  size_t n = strlen(name);
  if (n == 0 || n > 64) return false;
  for (size_t i = 0; i < n; ++i) {
    char c = name[i];
    if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
          (c >= 'A' && c <= 'Z')))
      return false;
  }
  return true;
}

bool valid_env_name(const char *name) {
  return name && *name && !strchr(name, '=');
}

std::vector<std::string> child_environment(const mp_cmd &cmd) {
  std::vector<std::string> env;
  if (!cmd.env_clear)
    for (char **e = environ; e && *e; ++e) env.emplace_back(*e);
  for (const auto &[name, value] : cmd.env_changes) {
    env_remove(env, name);
    if (value) env.push_back(name + "=" + *value);
  }
  return env;
}

int resolve_exec_image(ExecImage &out, const mp_cmd &cmd) {
  out.envp = child_environment(cmd);
  out.argv.clear();
  out.argv.push_back(cmd.arg0 ? *cmd.arg0 : cmd.program);
  out.argv.insert(out.argv.end(), cmd.args.begin(), cmd.args.end());
  if (cmd.program.find('/') != std::string::npos) {
    out.path = cmd.program;  // execve() reports ENOENT/EACCES itself
    return MP_OK;
  }
  std::string search = env_lookup(out.envp, "PATH");
  if (search.empty()) search = kDefaultPath;
  int first_err = ENOENT;
  size_t start = 0;
  for (;;) {
    size_t colon = search.find(':', start);
    std::string dir = search.substr(start, colon == std::string::npos
                                               ? std::string::npos
                                               : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + cmd.program;
    int err = 0;
    if (is_executable_file(candidate, &err)) {
      out.path = candidate;
      return MP_OK;
    }
    if (err == EACCES) first_err = EACCES;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (first_err == EACCES)
    return fail(MP_EACCES, "spawn: %s: found in PATH but not executable",
                cmd.program.c_str());
  return fail(MP_ENOENT, "spawn: %s: not found in PATH (%s)",
              cmd.program.c_str(), search.c_str());
}

}  // namespace mp
