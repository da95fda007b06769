// The replies of the redis queue's get script (src/redis/reply.cpp): any
// RESP byte stream a server (or whoever wrote our keys) could produce,
// parsed by hiredis's reader into reply trees, copied and decoded as a get
// does. Properties: no crash; every error has a message; a decoded message
// has a valid id, a count >= 1 and a body within the maximum; an entry that
// does not decode is reported by id with a reason.
#include <hiredis/hiredis.h>

#include "fuzz.hpp"
#include "redis/reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  redisReader *reader = redisReaderCreate();
  if (!reader) return 0;
  reader->maxbuf = 0;
  if (redisReaderFeed(reader, reinterpret_cast<const char *>(data), size) == REDIS_OK) {
    void *r = nullptr;
    while (redisReaderGetReply(reader, &r) == REDIS_OK && r) {
      mp::redis::Value v = mp::redis::copy_reply(static_cast<redisReply *>(r));
      freeReplyObject(r);
      r = nullptr;
      mp::redis::GetOutcome outcome;
      std::vector<mp::redis::Delivery> got;
      std::vector<std::string> bad;
      std::string why;
      int rc = mp::redis::decode_get(&outcome, &got, &bad, &why, v);
      fuzz::check_error_has_message(rc);
      for (const auto &d : got)
        FUZZ_CHECK(mp::redis::valid_entry_id(d.id) && d.count >= 1 &&
                   d.body.size() <= mp::redis::kMaxRemoteMessage);
      FUZZ_CHECK(bad.empty() || !why.empty());
    }
  }
  redisReaderFree(reader);
  return 0;
}
