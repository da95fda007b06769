// Addresses: the one syntax every "open by address" call takes (a broker's
// unix: socket, a Listener's tcp:// or unix: endpoint, later redis://).
// Parsing is strict: a malformed, over-long or relative address is
// MP_EINVAL with a message that says what is wrong, never a truncated path.
//
//   unix:/abs/path[#name]       a socket file (path <= 107 bytes)
//   unix:@abstract[#name]       Linux's abstract namespace (<= 106 bytes)
//   tcp://host:port[#name]      host: name, IPv4 or [IPv6]; port 0-65535
//   redis://[user@]host[:port][/db]#name   parsed (no password: secrets
//                               never go in an address); served by the
//                               redis backend when the build has it
//
// The object's name inside a broker is the fragment after '#': one string
// carries everything (a config file, an environment variable, a flag), as
// in a URL, and the same rule holds on every backend. Names follow the
// rule of handles passed by name: 1-64 characters of [A-Za-z0-9_].
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string>

namespace mp {

enum class Scheme { kUnix = 1, kTcp = 2, kRedis = 4 };

// Whether an address names an object (the '#name' fragment).
enum class NameRule { kForbidden, kOptional, kRequired };

struct Address {
  Scheme scheme = Scheme::kUnix;
  std::string path;       // unix: the path, or the abstract name without '@'
  bool abstract = false;  // unix: in the abstract namespace
  std::string host;       // tcp, redis: without brackets
  int port = 0;           // tcp, redis (redis: 6379 when not given)
  std::string user;       // redis
  int db = 0;             // redis
  std::string name;       // the fragment, "" when none
  std::string endpoint;   // the address without its fragment (messages)
};

constexpr size_t kMaxAddress = 4096;
constexpr size_t kMaxObjectName = 64;

// Parse text into out. MP_OK, or MP_EINVAL with a message that begins with
// op and names the fault (unknown scheme: the message lists the schemes
// this build knows).
int parse_address(Address &out, const char *text, NameRule rule, const char *op);

// MP_OK when a's scheme is one of `schemes` (a mask of Scheme values); else
// MP_EINVAL naming what op takes (in every build). MP_ENOTSUP when
// `schemes` has redis:// and the build has no redis backend.
int require_scheme(const Address &a, int schemes, const char *op);

// The sockaddr of a unix: address; returns its length.
socklen_t unix_sockaddr(const Address &a, sockaddr_un *out);

// 1-64 characters of [A-Za-z0-9_]: names of published objects and of
// handles passed to children.
bool valid_handle_name(const char *name);

}  // namespace mp
