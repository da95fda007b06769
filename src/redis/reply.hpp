// Replies of the redis server, copied out of hiredis's reply tree (which
// hiredis frees when the callback returns), and the decoder of what the
// queue's get script returns: the one place where bytes another client
// could have written (stream entries, large bodies) are checked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct redisReply;

namespace mp::redis {

struct Value {
  enum Kind { kNil, kInt, kStr, kStatus, kErr, kArr } kind = kNil;
  long long i = 0;
  std::string s;  // kStr, kStatus, kErr
  std::vector<Value> a;
};

// A deep copy of r (nullptr: kNil). Depth beyond kMaxDepth is cut to kNil.
Value copy_reply(const redisReply *r);
constexpr int kMaxDepth = 8;

// One message the get script handed over.
struct Delivery {
  std::string id;      // the stream entry's id, "ms-seq"
  int64_t count = 1;   // deliveries so far, this one included
  std::string body;
  bool beside = false; // the body was stored beside the entry (field x)
};

// Largest message a remote queue carries, and the size above which its
// body is stored beside the stream entry (a key of its own).
constexpr size_t kMaxRemoteMessage = size_t(256) << 20;
constexpr size_t kBodyBeside = 64 * 1024;

enum class GetOutcome { kMessages, kEmpty, kClosed };

// Decode the get script's reply: {"msg", id, count, fields, body, ...},
// {"empty"} or {"closed"}. Good entries go to out; the ids of entries that
// are not multiproc messages (written by another client) go to bad, with
// the first reason in *why. Returns MP_OK, or MP_EINVAL (message set) when
// the reply itself has the wrong shape.
int decode_get(GetOutcome *outcome, std::vector<Delivery> *out, std::vector<std::string> *bad,
               std::string *why, const Value &reply);

// A stream entry id: digits '-' digits, at most 41 bytes.
bool valid_entry_id(const std::string &id);

}  // namespace mp::redis
