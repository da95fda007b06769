// The authkey handshake of CPython's multiprocessing.connection
// (deliver_challenge / answer_challenge), over an mp_conn_t framed as
// CPython frames: each side proves it knows the key with an HMAC of a
// random challenge from the other side; the key never crosses the wire.
//
//   listener: deliver_challenge, then answer_challenge
//   client:   answer_challenge,  then deliver_challenge
//
// deliver: send "#CHALLENGE#" + "{sha256}" + 40 random bytes (CPython
// 3.12's form; a 3.11 peer answers it with a plain HMAC-MD5 over all of
// it), read the answer (<= 256 bytes), send "#WELCOME#" or "#FAILURE#".
// answer: read a challenge; a 20-byte one (CPython <= 3.11) gets a plain
// 16-byte HMAC-MD5, a "{digest}"-prefixed one "{digest}" + HMAC-digest of
// the whole message; then expect "#WELCOME#".
// A response is checked as 3.12's _verify_challenge: 16 bytes is MD5
// (legacy peers), else "{digest}" + MAC of that digest, compared in
// constant time. Digests: md5, sha256, sha384, sha3_256, sha3_384.
#pragma once

#include <string>

#include "core/deadline.hpp"
#include "ipc/conn.hpp"

namespace mp::auth {

constexpr size_t kMaxKey = 4096;
constexpr size_t kMaxHandshakeMessage = 256;  // CPython's recv_bytes(256)
constexpr size_t kChallengeBytes = 40;        // CPython 3.12's MESSAGE_LENGTH

// HMAC of msg under key with the named digest (one of the five above), into
// out. false for an unknown digest (or one the crypto library refuses).
bool hmac(std::string &out, const std::string &digest, const std::string &key,
          const std::string &msg);

// The response to a challenge body (after "#CHALLENGE#"), as CPython 3.12's
// _create_response. MP_OK, or MP_EACCES for a malformed challenge.
int make_response(std::string &out, const std::string &key, const std::string &challenge);

// Check a response to our challenge body, as CPython 3.12's
// _verify_challenge. MP_OK or MP_EACCES (message: why).
int verify_response(const std::string &key, const std::string &challenge,
                    const std::string &response);

// The two halves of the handshake. MP_OK; MP_EACCES (wrong key, or a peer
// that does not speak the protocol; message says which); MP_ETIMEDOUT;
// MP_ECLOSED (the peer closed); MP_ESYS. `op` begins every message.
int deliver_challenge(mp_conn &c, const std::string &key, const Deadline &d, const char *op);
int answer_challenge(mp_conn &c, const std::string &key, const Deadline &d, const char *op);

}  // namespace mp::auth
