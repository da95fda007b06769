// Parsing of addresses (see address.hpp for the syntax and why it is one
// string with a '#name' fragment).
#include "core/address.hpp"

#include <cstring>

#include "core/error.hpp"
#include "multiproc.h"

namespace mp {
namespace {

constexpr const char kUnixPrefix[] = "unix:";
constexpr const char kTcpPrefix[] = "tcp://";
constexpr const char kRedisPrefix[] = "redis://";
constexpr int kRedisDefaultPort = 6379;

#ifdef MP_HAVE_REDIS
constexpr const char kKnownSchemes[] = "unix:, tcp://, redis://";
#else
constexpr const char kKnownSchemes[] = "unix:, tcp://";
#endif

bool starts_with(const std::string &s, const char *prefix) {
  return s.compare(0, strlen(prefix), prefix) == 0;
}

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Decimal digits only (no sign, no space), value <= max.
bool parse_uint(const std::string &s, int max, int *out) {
  if (s.empty() || s.size() > 10) return false;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
    if (v > max) return false;
  }
  *out = int(v);
  return true;
}

// A host name ([A-Za-z0-9.-], not starting with '-' or '.'), an IPv4
// address, or an IPv6 address that was inside brackets.
bool valid_host(const std::string &h, bool bracketed) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    bool ok = bracketed ? (is_alnum(c) || c == ':' || c == '.' || c == '%')
                        : (is_alnum(c) || c == '.' || c == '-');
    if (!ok) return false;
  }
  return bracketed || (h[0] != '-' && h[0] != '.');
}

// "host:port" (port required unless default_port >= 0) into a.
int parse_host_port(Address &a, const std::string &s, int default_port, const char *op) {
  std::string host, port;
  bool bracketed = !s.empty() && s[0] == '[';
  size_t host_end;
  if (bracketed) {
    size_t close = s.find(']');
    if (close == std::string::npos)
      return fail(MP_EINVAL, "%s: '[' without ']' in the host of '%s'", op, a.endpoint.c_str());
    host = s.substr(1, close - 1);
    host_end = close + 1;
    if (host_end < s.size() && s[host_end] != ':')
      return fail(MP_EINVAL, "%s: junk after ']' in '%s'", op, a.endpoint.c_str());
  } else {
    host_end = s.rfind(':');
    if (host_end == std::string::npos) host_end = s.size();
    host = s.substr(0, host_end);
  }
  if (!valid_host(host, bracketed))
    return fail(MP_EINVAL, "%s: bad host '%s' in '%s'", op, host.c_str(), a.endpoint.c_str());
  if (host_end < s.size()) {
    port = s.substr(host_end + 1);
    if (!parse_uint(port, 65535, &a.port))
      return fail(MP_EINVAL, "%s: bad port '%s' in '%s' (0-65535)", op, port.c_str(),
                  a.endpoint.c_str());
  } else if (default_port >= 0) {
    a.port = default_port;
  } else {
    return fail(MP_EINVAL, "%s: '%s' has no port (tcp://host:port)", op, a.endpoint.c_str());
  }
  a.host = host;
  return MP_OK;
}

int parse_unix(Address &a, const std::string &rest, const char *op) {
  a.scheme = Scheme::kUnix;
  if (!rest.empty() && rest[0] == '@') {
    a.abstract = true;
    a.path = rest.substr(1);
    if (a.path.empty())
      return fail(MP_EINVAL, "%s: '%s': an abstract name is empty", op, a.endpoint.c_str());
    if (a.path.size() > sizeof(sockaddr_un::sun_path) - 2)
      return fail(MP_EINVAL, "%s: abstract name longer than %zu bytes", op,
                  sizeof(sockaddr_un::sun_path) - 2);
    return MP_OK;
  }
  if (rest.empty() || rest[0] != '/')
    return fail(MP_EINVAL, "%s: '%s': a unix: path must be absolute (unix:/dir/file.sock)", op,
                a.endpoint.c_str());
  if (rest.size() > sizeof(sockaddr_un::sun_path) - 1)
    return fail(MP_EINVAL, "%s: socket path longer than %zu bytes: '%s'", op,
                sizeof(sockaddr_un::sun_path) - 1, rest.c_str());
  if (rest.back() == '/')
    return fail(MP_EINVAL, "%s: '%s' names a directory, not a socket", op, a.endpoint.c_str());
  a.path = rest;
  return MP_OK;
}

int parse_tcp(Address &a, const std::string &rest, const char *op) {
  a.scheme = Scheme::kTcp;
  if (rest.find('/') != std::string::npos || rest.find('@') != std::string::npos)
    return fail(MP_EINVAL, "%s: '%s': tcp:// takes host:port only", op, a.endpoint.c_str());
  return parse_host_port(a, rest, -1, op);
}

// [user@]host[:port][/db]
int parse_redis(Address &a, const std::string &rest, const char *op) {
  a.scheme = Scheme::kRedis;
  std::string hostpart = rest;
  size_t at = hostpart.rfind('@');
  if (at != std::string::npos) {
    std::string cred = hostpart.substr(0, at);
    hostpart = hostpart.substr(at + 1);
    // A secret in an address ends up in logs and `ps`: refused
    // (shared/DESIGN.md, "Addresses"); the backend takes it apart.
    if (cred.find(':') != std::string::npos)
      return fail(MP_EINVAL, "%s: a redis:// address takes no password (user@ only): "
                  "passwords never go in an address", op);
    if (cred.empty() || !valid_handle_name(cred.c_str()))
      return fail(MP_EINVAL, "%s: bad user name '%s' in a redis:// address", op, cred.c_str());
    a.user = cred;
  }
  size_t slash = hostpart.find('/');
  if (slash != std::string::npos) {
    std::string db = hostpart.substr(slash + 1);
    if (!parse_uint(db, 1 << 20, &a.db))
      return fail(MP_EINVAL, "%s: bad database number '%s' in a redis:// address", op, db.c_str());
    hostpart = hostpart.substr(0, slash);
  }
  return parse_host_port(a, hostpart, kRedisDefaultPort, op);
}

int parse_name(Address &a, const std::string &fragment, bool present, NameRule rule,
               const char *op) {
  if (!present) {
    if (rule == NameRule::kRequired)
      return fail(MP_EINVAL, "%s: '%s' names no object (add #name)", op, a.endpoint.c_str());
    return MP_OK;
  }
  if (rule == NameRule::kForbidden)
    return fail(MP_EINVAL, "%s: '%s#%s': this call takes an address without #name", op,
                a.endpoint.c_str(), fragment.c_str());
  if (!valid_handle_name(fragment.c_str()))
    return fail(MP_EINVAL, "%s: object name '%s' must be 1-64 characters of [A-Za-z0-9_]", op,
                fragment.c_str());
  a.name = fragment;
  return MP_OK;
}

}  // namespace

bool valid_handle_name(const char *name) {
  if (!name) return false;
  size_t n = strlen(name);
  if (n == 0 || n > kMaxObjectName) return false;
  for (size_t i = 0; i < n; ++i)
    if (!(name[i] == '_' || is_alnum(name[i]))) return false;
  return true;
}

int parse_address(Address &out, const char *text, NameRule rule, const char *op) {
  if (!text) return fail(MP_EINVAL, "%s: address is NULL", op);
  size_t len = strnlen(text, kMaxAddress + 1);
  if (len == 0) return fail(MP_EINVAL, "%s: address is empty", op);
  if (len > kMaxAddress) return fail(MP_EINVAL, "%s: address longer than %zu bytes", op, kMaxAddress);
  for (size_t i = 0; i < len; ++i)
    if (static_cast<unsigned char>(text[i]) < 0x20 || text[i] == 0x7f)
      return fail(MP_EINVAL, "%s: address contains a control character at byte %zu", op, i);
  std::string s(text, len);
  size_t hash = s.find('#');
  Address a;
  a.endpoint = s.substr(0, hash);
  std::string fragment = hash == std::string::npos ? "" : s.substr(hash + 1);
  int r;
  if (starts_with(a.endpoint, kUnixPrefix)) {
    r = parse_unix(a, a.endpoint.substr(strlen(kUnixPrefix)), op);
  } else if (starts_with(a.endpoint, kTcpPrefix)) {
    r = parse_tcp(a, a.endpoint.substr(strlen(kTcpPrefix)), op);
  } else if (starts_with(a.endpoint, kRedisPrefix)) {
    r = parse_redis(a, a.endpoint.substr(strlen(kRedisPrefix)), op);
  } else {
    size_t colon = a.endpoint.find(':');
    std::string scheme = a.endpoint.substr(0, colon == std::string::npos ? 0 : colon);
    return fail(MP_EINVAL, "%s: unknown address scheme '%s' in '%s' (this build knows %s)", op,
                scheme.c_str(), s.c_str(), kKnownSchemes);
  }
  if (r != MP_OK) return r;
  r = parse_name(a, fragment, hash != std::string::npos, rule, op);
  if (r != MP_OK) return r;
  out = std::move(a);
  return MP_OK;
}

// A call that never serves a scheme answers MP_EINVAL in every build; only
// a call that serves redis:// says MP_ENOTSUP, in a build without the
// backend, so the answer to one address never depends on the build alone.
int require_scheme(const Address &a, int schemes, const char *op) {
  if (int(a.scheme) & schemes) {
#ifndef MP_HAVE_REDIS
    if (a.scheme == Scheme::kRedis)
      return fail(MP_ENOTSUP,
                  "%s: '%s': redis:// needs the redis backend (meson option -Dredis=enabled "
                  "with libhiredis-dev); this build has none",
                  op, a.endpoint.c_str());
#endif
    return MP_OK;
  }
  std::string takes;
  if (schemes & int(Scheme::kUnix)) takes += "unix:";
  if (schemes & int(Scheme::kTcp)) takes += takes.empty() ? "tcp://" : " or tcp://";
  if (schemes & int(Scheme::kRedis)) takes += takes.empty() ? "redis://" : " or redis://";
  return fail(MP_EINVAL, "%s: '%s': this call takes %s addresses", op, a.endpoint.c_str(),
              takes.c_str());
}

socklen_t unix_sockaddr(const Address &a, sockaddr_un *out) {
  memset(out, 0, sizeof *out);
  out->sun_family = AF_UNIX;
  // parse_unix() bounded the lengths; the abstract name follows a NUL.
  size_t offset = a.abstract ? 1 : 0;
  memcpy(out->sun_path + offset, a.path.data(), a.path.size());
  return socklen_t(offsetof(sockaddr_un, sun_path) + offset + a.path.size() +
                   (a.abstract ? 0 : 1));
}

}  // namespace mp
