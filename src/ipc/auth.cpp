// CPython's authkey handshake (see auth.hpp for the protocol). HMACs come
// from OpenSSL's libcrypto (one-shot HMAC(), CRYPTO_memcmp for the
// comparison), the challenge from getrandom().
#include "ipc/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace mp::auth {
namespace {

const char kChallenge[] = "#CHALLENGE#";
const char kWelcome[] = "#WELCOME#";
const char kFailure[] = "#FAILURE#";
constexpr size_t kLegacyChallenge = 20;  // CPython <= 3.11's MESSAGE_LENGTH
constexpr size_t kMd5Length = 16;
constexpr size_t kMaxDigestName = 8;     // "sha3_384"
const char kOurDigest[] = "sha256";

const EVP_MD *digest_by_name(const std::string &name) {
  if (name == "md5") return EVP_md5();
  if (name == "sha256") return EVP_sha256();
  if (name == "sha384") return EVP_sha384();
  if (name == "sha3_256") return EVP_sha3_256();
  if (name == "sha3_384") return EVP_sha3_384();
  return nullptr;
}

// CPython's _get_digest_name_and_payload: "" and the whole message for a
// legacy length (20: a challenge, 16: an MD5 response), else the name in a
// "{name}" prefix and what follows. false when neither.
bool split_digest(const std::string &msg, std::string *name, std::string *payload) {
  if (msg.size() == kLegacyChallenge || msg.size() == kMd5Length) {
    name->clear();
    *payload = msg;
    return true;
  }
  if (msg.empty() || msg[0] != '{') return false;
  size_t close = msg.find('}', 1);
  if (close == std::string::npos || close > kMaxDigestName + 1) return false;
  *name = msg.substr(1, close - 1);
  if (!digest_by_name(*name)) return false;
  *payload = msg.substr(close + 1);
  return true;
}

std::string printable(const std::string &s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 24; ++i) {
    unsigned char ch = static_cast<unsigned char>(s[i]);
    if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
      out += char(ch);
    } else {
      char hex[5];
      snprintf(hex, sizeof hex, "\\x%02x", ch);
      out += hex;
    }
  }
  if (s.size() > 24) out += "...";
  return out;
}

int send_msg(mp_conn &c, const std::string &msg, const Deadline &d) {
  return conn_send(c, msg.data(), msg.size(), d);
}

// One handshake message (<= 256 bytes, as CPython's recv_bytes(256)); a
// larger or malformed frame is a peer that does not speak the protocol.
int recv_msg(mp_conn &c, std::string &out, const Deadline &d, const char *op) {
  size_t saved = c.max_message;
  c.max_message = kMaxHandshakeMessage;
  int r = conn_recv_frame(c, d);
  c.max_message = saved;
  if (r == MP_EMSGSIZE || r == MP_EINVAL)
    return fail(MP_EACCES, "%s: protocol error in the authentication handshake: %s", op,
                std::string(last_error_message()).c_str());
  if (r == MP_ETIMEDOUT)
    return fail(MP_ETIMEDOUT, "%s: the authentication handshake timed out", op);
  if (r == MP_ECLOSED)
    return fail(MP_ECLOSED, "%s: the peer closed the connection during the authentication "
                "handshake", op);
  if (r != MP_OK) return r;
  out = std::move(c.body);
  c.body.clear();
  return MP_OK;
}

int random_bytes(std::string &out, size_t n) {
  out.resize(n);
  for (size_t got = 0; got < n;) {
    ssize_t r = getrandom(&out[got], n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail_errno("getrandom", "", errno);
    got += size_t(r);
  }
  return MP_OK;
}

}  // namespace

bool hmac(std::string &out, const std::string &digest, const std::string &key,
          const std::string &msg) {
  const EVP_MD *md = digest_by_name(digest);
  if (!md) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  static const unsigned char kNoKey = 0;  // HMAC() takes NULL as "no key given"
  const void *k = key.empty() ? static_cast<const void *>(&kNoKey) : key.data();
  if (!HMAC(md, k, int(key.size()), reinterpret_cast<const unsigned char *>(msg.data()),
            msg.size(), mac, &len))
    return false;
  out.assign(reinterpret_cast<char *>(mac), len);
  return true;
}

int make_response(std::string &out, const std::string &key, const std::string &challenge) {
  if (challenge.size() < kLegacyChallenge)
    return fail(MP_EACCES, "challenge too short: %zu bytes", challenge.size());
  std::string name, payload, mac;
  if (!split_digest(challenge, &name, &payload))
    return fail(MP_EACCES, "challenge without a known {digest} prefix: '%s'",
                printable(challenge).c_str());
  // The MAC covers the whole challenge, its "{digest}" prefix included.
  if (!hmac(mac, name.empty() ? "md5" : name, key, challenge))
    return fail(MP_EACCES, "HMAC-%s is not available", name.empty() ? "md5" : name.c_str());
  out = name.empty() ? mac : "{" + name + "}" + mac;
  return MP_OK;
}

int verify_response(const std::string &key, const std::string &challenge,
                    const std::string &response) {
  std::string name, mac, expected;
  if (!split_digest(response, &name, &mac))
    return fail(MP_EACCES, "a response of unsupported length, without a digest prefix or "
                "with an unknown digest (%zu bytes: '%s')",
                response.size(), printable(response).c_str());
  if (name.empty()) name = "md5";
  if (!hmac(expected, name, key, challenge))
    return fail(MP_EACCES, "HMAC-%s is not available", name.c_str());
  if (expected.size() != mac.size())
    return fail(MP_EACCES, "expected a %s digest of %zu bytes, got %zu", name.c_str(),
                expected.size(), mac.size());
  if (CRYPTO_memcmp(expected.data(), mac.data(), mac.size()) != 0)
    return fail(MP_EACCES, "the digest received was wrong (a different authkey)");
  return MP_OK;
}

int deliver_challenge(mp_conn &c, const std::string &key, const Deadline &d, const char *op) {
  std::string nonce, response;
  int r = random_bytes(nonce, kChallengeBytes);
  if (r != MP_OK) return r;
  std::string challenge = std::string("{") + kOurDigest + "}" + nonce;
  if ((r = send_msg(c, kChallenge + challenge, d)) != MP_OK) return r;
  if ((r = recv_msg(c, response, d, op)) != MP_OK) return r;
  r = verify_response(key, challenge, response);
  if (r != MP_OK) {
    std::string why = last_error_message();
    send_msg(c, kFailure, d);  // best effort: the peer learns it was refused
    return fail(MP_EACCES, "%s: authentication failed: %s", op, why.c_str());
  }
  return send_msg(c, kWelcome, d);
}

int answer_challenge(mp_conn &c, const std::string &key, const Deadline &d, const char *op) {
  std::string msg, response, verdict;
  int r = recv_msg(c, msg, d, op);
  if (r == MP_ETIMEDOUT)
    return fail(MP_ETIMEDOUT, "%s: no authentication challenge from the peer in time (does "
                "it use an authkey?)", op);
  if (r != MP_OK) return r;
  const size_t prefix = sizeof kChallenge - 1;
  if (msg.compare(0, prefix, kChallenge) != 0)
    return fail(MP_EACCES, "%s: protocol error: expected a challenge, got '%s' (does the peer "
                "use an authkey?)", op, printable(msg).c_str());
  if (make_response(response, key, msg.substr(prefix)) != MP_OK)
    return fail(MP_EACCES, "%s: %s", op, std::string(last_error_message()).c_str());
  if ((r = send_msg(c, response, d)) != MP_OK) return r;
  if ((r = recv_msg(c, verdict, d, op)) == MP_ECLOSED)
    return fail(MP_EACCES, "%s: the peer closed instead of accepting the digest (a "
                "different authkey?)", op);
  if (r != MP_OK) return r;
  if (verdict != kWelcome)
    return fail(MP_EACCES, "%s: the peer rejected the digest (%s): a different authkey", op,
                verdict == kFailure ? "#FAILURE#" : printable(verdict).c_str());
  return MP_OK;
}

}  // namespace mp::auth
