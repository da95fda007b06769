// mp_dict_t: a map of byte-string keys to byte-string values in one shared
// memory segment (an anonymous memfd passed to other processes as a
// descriptor), Python's Manager().dict() without a server process. See
// dict.cpp for the layout and the commit and repair rules.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ipc/shm.hpp"

namespace mp {
struct DictShared;
struct RemoteDict;
}

struct mp_dict {
  static constexpr uint32_t kMagic = 0x4d504443;  // "MPDC"
  uint32_t magic = kMagic;
  mp::Segment segment;
  mp::DictShared *shared = nullptr;
  // The banks' geometry, copied when the segment is created or attached
  // and never read again from it: a process that scribbles over the
  // header cannot make this one index past its mapping.
  uint64_t slots = 0;
  uint64_t arena_bytes = 0;
  // A dict on a redis server (redis/dict.hpp): no segment, every call
  // goes there (capi/dict_api.cpp).
  mp::RemoteDict *remote = nullptr;
};

namespace mp {

// A borrowed byte string (data may be NULL when len is 0).
struct Bytes {
  const void *data;
  size_t len;
};

// Keys and values are stored with 32-bit lengths.
constexpr size_t kDictMaxItemBytes = 0xffffffffu;

int dict_create(mp_dict &d, size_t max_entries, size_t max_bytes);
int dict_attach(mp_dict &d, int fd);

int dict_set(mp_dict &d, Bytes key, Bytes value);
// Copy the value of key into buf when it fits in cap bytes. *len is the
// value's length on MP_OK and on MP_ENOSPC (buf untouched then).
int dict_read(mp_dict &d, Bytes key, void *buf, size_t cap, size_t *len, const char *op);
int dict_delete(mp_dict &d, Bytes key);
// 1 if present, 0 if not, or an error.
int dict_contains(mp_dict &d, Bytes key);
int dict_len(mp_dict &d, size_t *out);
int dict_clear(mp_dict &d);
int dict_incr(mp_dict &d, Bytes key, int64_t delta, int64_t *out);
// expected.data NULL: set only if absent. 1 if set, 0 if not, or an error.
int dict_cas(mp_dict &d, Bytes key, Bytes expected, Bytes desired);

// Copy every item into buf when the copy surely fits in cap bytes: MP_OK
// with *size the bytes used, or MP_ENOSPC (no message) with *size the
// bytes to provide.
int dict_snapshot(mp_dict &d, char *buf, size_t cap, size_t *size);
// The item at *pos of a snapshot of len bytes, advancing *pos; false at the end.
bool dict_snapshot_next(const char *buf, size_t len, size_t *pos, Bytes *key, Bytes *value);

}  // namespace mp
