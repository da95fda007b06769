// Where the password of a redis:// address comes from (credentials.hpp).
#include "redis/credentials.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"

namespace mp::redis {

int read_password(std::string *out) {
  out->clear();
  const char *file = getenv("MULTIPROC_REDIS_PASSWORD_FILE");
  if (file && *file) {
    FILE *f = fopen(file, "re");
    if (!f)
      return fail(MP_EACCES, "redis: cannot read MULTIPROC_REDIS_PASSWORD_FILE '%s': %s", file,
                  strerror(errno));
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    out->assign(buf, n);
    while (!out->empty() && (out->back() == '\n' || out->back() == '\r')) out->pop_back();
    return MP_OK;
  }
  const char *pw = getenv("MULTIPROC_REDIS_PASSWORD");
  if (pw) out->assign(pw);
  return MP_OK;
}

int password_for(std::string *out, const std::string &user) {
  int r = read_password(out);
  if (r != MP_OK || user.empty() || !out->empty()) return r;
  return fail(MP_EACCES,
              "user '%s' has no password: set MULTIPROC_REDIS_PASSWORD_FILE or "
              "MULTIPROC_REDIS_PASSWORD",
              user.c_str());
}

}  // namespace mp::redis
