// A dict on a redis server (mp_dict_open("redis://...#name")): an ordinary
// mp_dict_t whose calls come here instead of to the shared segment
// (capi/dict_api.cpp dispatches on mp_dict::remote). The items are one
// redis hash; keys and scripts: object_scripts.hpp. Each call is one round
// trip (at most redis::kReplyCapMs), atomic on the server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/address.hpp"
#include "core/deadline.hpp"
#include "redis/object.hpp"

struct mp_dict;

namespace mp {

struct RemoteDict {
  redis::Object o;
  std::string items;  // the hash
};

// The largest key, value (and cas expected value) a dict on a redis server
// takes (redis refuses a string above its proto-max-bulk-len, 512 MiB by
// default), and the most bytes of keys and values one iterator's snapshot
// takes (its copy is held in this process).
constexpr size_t kRemoteDictMaxItem = size_t(256) << 20;
constexpr size_t kRemoteDictMaxSnapshot = size_t(256) << 20;

int remote_dict_open(mp_dict **out, const Address &a, const Deadline &deadline, const char *op);
void remote_dict_free(RemoteDict *d);

// The values' bytes travel as std::string. get: MP_ENOENT when absent.
int remote_dict_set(RemoteDict &d, const std::string &key, const std::string &value,
                    const char *op);
int remote_dict_get(RemoteDict &d, const std::string &key, std::string *value, const char *op);
int remote_dict_delete(RemoteDict &d, const std::string &key, const char *op);
// 1, 0, or an error.
int remote_dict_contains(RemoteDict &d, const std::string &key, const char *op);
int remote_dict_len(RemoteDict &d, size_t *n, const char *op);
int remote_dict_clear(RemoteDict &d, const char *op);
int remote_dict_incr(RemoteDict &d, const std::string &key, int64_t delta, int64_t *out,
                     const char *op);
// expected nullptr: only when absent. 1 if set, 0 if not, or an error.
int remote_dict_cas(RemoteDict &d, const std::string &key, const std::string *expected,
                    const std::string &desired, const char *op);
// Every item, in the snapshot format of dict/dict.hpp (dict_snapshot_next
// reads it): *buf allocated with new[], *len its bytes.
int remote_dict_snapshot(RemoteDict &d, std::unique_ptr<char[]> *buf, size_t *len,
                         const char *op);

}  // namespace mp
