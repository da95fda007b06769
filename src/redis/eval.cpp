// Running Lua scripts by their SHA1 (eval.hpp).
#include "redis/eval.hpp"

#include <openssl/evp.h>

#include <cstring>
#include <map>
#include <mutex>

#include "core/error.hpp"

namespace mp::redis {

namespace {

constexpr int64_t kLoadingPollMs = 50;

bool starts_with(const Value &v, const char *prefix) {
  return v.kind == Value::kErr && v.s.rfind(prefix, 0) == 0;
}

std::string sha1_hex(const char *text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text, strlen(text), md, &n, EVP_sha1(), nullptr);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// argv of EVAL/EVALSHA: verb, script or sha, keys, args.
std::vector<std::string> eval_argv(const char *verb, const std::string &what,
                                   const std::vector<std::string> &keys,
                                   const std::vector<std::string> &args) {
  std::vector<std::string> argv{verb, what, std::to_string(keys.size())};
  argv.reserve(3 + keys.size() + args.size());
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace

const std::string &script_sha(const char *script) {
  static std::mutex mu;
  static auto *shas = new std::map<const char *, std::string>();  // never freed: used at exit
  std::lock_guard<std::mutex> lock(mu);
  std::string &sha = (*shas)[script];
  if (sha.empty()) sha = sha1_hex(script);
  return sha;  // map nodes never move
}

int eval_script(Value *out, const Endpoint &ep, const char *script,
                const std::vector<std::string> &keys, const std::vector<std::string> &args,
                const Deadline &deadline, const char *op, Lane *direct) {
  std::vector<std::string> argv = eval_argv("EVALSHA", script_sha(script), keys, args);
  for (;;) {
    int r = direct ? direct_command(out, ep, argv, deadline, op, direct)
                   : command(out, ep, argv, deadline, op);
    if (r != MP_OK) return r;
    if (starts_with(*out, "NOSCRIPT")) {  // nothing ran: the text, once
      argv = eval_argv("EVAL", script, keys, args);
      continue;
    }
    if (!starts_with(*out, "LOADING")) return MP_OK;
    if (deadline.expired())  // nothing ran; the server restarted and reads its data
      return fail(MP_ETIMEDOUT, "%s: %s is still loading its data set", op, ep.text.c_str());
    Notifier nap;  // nobody wakes it: a pause that the cancel token still ends
    wait_notified(nap, 0, deadline.within(kLoadingPollMs));
  }
}

}  // namespace mp::redis
