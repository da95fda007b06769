// The shared dict.
//
// Layout: a DictShared header, then two banks. A bank is a table of `slots`
// 64-bit slot words (open addressing with linear probing; a power of two,
// at least twice max_entries) followed by an arena of records: {u32
// key_len, u32 value_len, u64 hash}, then the key and the value, each
// padded to 8 bytes. `active` names the bank in use; the other one is where
// the next compaction builds. A slot word is 0 (empty), 1 (tombstone) or
// kLive | a 23-bit tag of the hash << 40 | the record's offset / 8, so that
// most probes of other keys never touch the arena.
//
// Concurrency: one robust process-shared mutex guards the dict; readers
// take it too (they copy values out). Holders only copy bytes, never block;
// waiters re-check the lock every 50 ms (see lock_dict).
//
// Commit rule: every change becomes visible through ONE aligned 64-bit
// store, made after everything it points at is written:
//   - set: the new record is written at `top` (free arena space), then the
//     slot word is stored (a new key, or the key's slot pointed at the new
//     record; the old record becomes garbage);
//   - a value of at most 8 bytes replaced by one of the same length (incr,
//     counters) is one aligned word: it is stored in place;
//   - delete: the slot word becomes a tombstone, or empty when the next
//     slot is empty (no probe can need it then);
//   - compaction (arena full, or too many tombstones) and clear: the live
//     records, with the pending change applied, are copied and rehashed
//     into the other bank, then `active` is stored.
// The counters (top, count, tombstones, payload) are derived: they are
// updated after the commit.
//
// Repair: a process killed while holding the mutex leaves at most bytes
// that nothing points at (above `top`, or in the inactive bank) and stale
// counters. The next locker gets EOWNERDEAD and recounts them from the
// active bank's slots, turning any slot whose record is out of bounds into
// a tombstone, then marks the mutex consistent. Repair only derives, so it
// is idempotent: a repairer that dies is simply repaired again.
//
// Space: the limits are on live entries (max_entries) and on live key and
// value bytes (max_bytes). Each arena holds max_bytes plus the worst-case
// overhead of max_entries records plus 1/8 slack, so a compaction whose
// result is within the limits always fits, and compactions are at least
// a slack's worth of writes apart.
#include "dict/dict.hpp"

#include <pthread.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "core/error.hpp"
#include "core/robust_mutex.hpp"
#include "dict/layout.hpp"

namespace mp {

using namespace dict_layout;

namespace {

bool same_bytes(const char *p, size_t len, Bytes b) {
  return len == b.len && (len == 0 || memcmp(p, b.data, len) == 0);
}

// Where a key is, or where it would go.
struct Probe {
  uint64_t hash = 0;
  int64_t found = -1;  // the key's slot
  int64_t free = -1;   // the first tombstone, or the empty slot that ended the search
};

Probe probe(const Bank &b, Bytes key) {
  Probe p;
  p.hash = hash_key(key);
  uint64_t i = p.hash & b.mask;
  for (uint64_t n = 0; n <= b.mask; ++n, i = (i + 1) & b.mask) {
    uint64_t w = b.slots[i];
    if (!is_live(w)) {
      if (p.free < 0) p.free = int64_t(i);
      if (w == kEmpty) break;
      continue;
    }
    if (word_tag(w) != tag_of(p.hash)) continue;
    Record *r = record_at(b, w);
    if (r && r->hash == p.hash && same_bytes(key_of(r), r->key_len, key)) {
      p.found = int64_t(i);
      break;
    }
  }
  return p;
}

Record *found_record(const Bank &b, const Probe &p) { return record_at(b, b.slots[p.found]); }

// ---- the lock and its repair ------------------------------------------------

// Recount the derived state from the active bank. Idempotent.
void repair(mp_dict &d) {
  DictShared &s = *d.shared;
  if (s.active > 1) s.active = 0;  // only 0 and 1 are ever stored
  Bank b = active_bank(d);
  uint64_t count = 0, tombstones = 0, payload = 0, top = 0;
  for (uint64_t i = 0; i <= b.mask; ++i) {
    uint64_t w = b.slots[i];
    if (w == kEmpty) continue;
    Record *r = is_live(w) ? record_at(b, w) : nullptr;
    if (!r) {
      if (w != kTombstone) publish(&b.slots[i], kTombstone);
      ++tombstones;
      continue;
    }
    ++count;
    payload += uint64_t(r->key_len) + r->value_len;
    uint64_t end = word_offset(w) + record_size(r->key_len, r->value_len);
    if (end > top) top = end;
  }
  s.top = top;
  s.count = count;
  s.tombstones = tombstones;
  s.payload = payload;
}

// Derived counters that no locker could have stored: another process
// corrupted them (a repair recounts them from the slots).
bool counters_plausible(const mp_dict &d) {
  const DictShared &s = *d.shared;
  return s.count <= s.max_entries && s.top <= d.arena_bytes && s.tombstones <= d.slots &&
         s.payload <= s.max_bytes && s.active <= 1;
}

int lock_dict(mp_dict &d, const char *op) {
  // Timed slices inside: a robust-mutex wake-up lost to dying processes
  // costs a delay, never a hang (core/robust_mutex.hpp).
  int r = robust_mutex_lock(&d.shared->lock, Deadline::uncancelable(MP_FOREVER));
  if (r == EOWNERDEAD) {  // its holder died: the counters may be stale
    repair(d);
    robust_mutex_consistent(&d.shared->lock);
    return MP_OK;
  }
  if (r != 0) return fail_errno(op, "locking the dict", r);
  if (!counters_plausible(d)) repair(d);
  return MP_OK;
}

// Run body(active bank) with the dict locked.
template <class F>
int locked(mp_dict &d, const char *op, F body) {
  int r = lock_dict(d, op);
  if (r != MP_OK) return r;
  r = body(active_bank(d));
  robust_mutex_unlock(&d.shared->lock);
  return r;
}

// ---- writing ------------------------------------------------------------------

// A key and value about to be stored.
struct Item {
  Bytes key;
  uint64_t hash;
  Bytes value;
};

// Totals of a bank being built by compaction.
struct Build {
  Bank bank;
  uint64_t top = 0, count = 0, payload = 0;
};

// Append a record to a bank that is not live yet (plain stores suffice).
bool build_add(Build &b, const Item &it) {
  size_t size = record_size(it.key.len, it.value.len);
  if (size > b.bank.arena_bytes - b.top || b.count >= b.bank.mask) return false;
  write_record(b.bank, b.top, it.key, it.hash, it.value);
  uint64_t i = it.hash & b.bank.mask;
  while (b.bank.slots[i] != kEmpty) i = (i + 1) & b.bank.mask;
  b.bank.slots[i] = slot_word(it.hash, b.top);
  b.top += size;
  b.count += 1;
  b.payload += it.key.len + it.value.len;
  return true;
}

// Compaction: copy the live records (none with keep false; all but the
// one in slot skip) and then add (if any) into the other bank, rehashed,
// and switch banks with one store.
int rebuild(mp_dict &d, bool keep, int64_t skip, const Item *add, const char *op) {
  DictShared &s = *d.shared;
  uint64_t from_index = s.active;
  Bank from = bank(d, from_index);
  Build to;
  to.bank = bank(d, from_index ^ 1);
  memset(to.bank.slots, 0, (to.bank.mask + 1) * sizeof(uint64_t));
  for (uint64_t i = 0; keep && i <= from.mask; ++i) {
    Record *r =
        is_live(from.slots[i]) && int64_t(i) != skip ? record_at(from, from.slots[i]) : nullptr;
    if (!r) continue;
    Item it{{key_of(r), r->key_len}, r->hash, {value_of(r), r->value_len}};
    if (!build_add(to, it)) return fail(MP_ENOSPC, "%s: the dict's arena is inconsistent", op);
  }
  if (add && !build_add(to, *add))
    return fail(MP_ENOSPC, "%s: the dict's arena is inconsistent", op);
  publish(&s.active, from_index ^ 1);
  s.top = to.top;
  s.count = to.count;
  s.tombstones = 0;
  s.payload = to.payload;
  return MP_OK;
}

// The live key and value bytes once old (nullptr: a new key) is replaced
// by it; MP_ENOSPC if that, or one more key, exceeds the limits.
int check_limits(const DictShared &s, const Record *old, const Item &it, uint64_t *payload,
                 const char *op) {
  uint64_t freed = old ? uint64_t(old->key_len) + old->value_len : 0;
  *payload = s.payload - freed + it.key.len + it.value.len;
  if (*payload > s.max_bytes)
    return fail(MP_ENOSPC, "%s: %llu bytes of keys and values would exceed max_bytes (%llu)", op,
                (unsigned long long)*payload, (unsigned long long)s.max_bytes);
  if (!old && s.count >= s.max_entries)
    return fail(MP_ENOSPC, "%s: the dict already holds max_entries (%llu) keys", op,
                (unsigned long long)s.max_entries);
  return MP_OK;
}

// A value of at most 8 bytes replaced by one of the same length is one
// aligned word: store it in place.
bool store_in_place(Record *r, Bytes value) {
  if (r->value_len != value.len || value.len > 8) return false;
  if (value.len == 0) return true;
  uint64_t word = 0;
  memcpy(&word, value.data, value.len);
  publish(reinterpret_cast<uint64_t *>(value_of(r)), word);
  return true;
}

// Set the probed key to value (lock held).
int store(mp_dict &d, const Bank &b, const Probe &p, Bytes key, Bytes value, const char *op) {
  DictShared &s = *d.shared;
  Item it{key, p.hash, value};
  Record *old = p.found >= 0 ? found_record(b, p) : nullptr;
  uint64_t payload;
  int r = check_limits(s, old, it, &payload, op);
  if (r != MP_OK) return r;
  if (old && store_in_place(old, value)) return MP_OK;
  int64_t slot = old ? p.found : p.free;
  bool fresh = !old && slot >= 0 && b.slots[slot] == kEmpty;  // not a tombstone
  bool table_ok = slot >= 0 && (!fresh || s.count + s.tombstones < d.slots - d.slots / 4);
  size_t size = record_size(key.len, value.len);
  bool arena_ok = s.top <= b.arena_bytes && size <= b.arena_bytes - s.top;
  if (!table_ok || !arena_ok) return rebuild(d, true, old ? p.found : -1, &it, op);
  write_record(b, s.top, key, p.hash, value);
  publish(&b.slots[slot], slot_word(p.hash, s.top));
  s.top += size;
  s.payload = payload;
  if (old) return MP_OK;
  s.count += 1;
  if (!fresh) s.tombstones -= 1;
  return MP_OK;
}

// Remove the probed key (lock held).
void erase(mp_dict &d, const Bank &b, const Probe &p) {
  DictShared &s = *d.shared;
  Record *r = found_record(b, p);
  uint64_t i = uint64_t(p.found);
  bool next_empty = b.slots[(i + 1) & b.mask] == kEmpty;
  publish(&b.slots[i], next_empty ? kEmpty : kTombstone);
  s.count -= 1;
  s.payload -= uint64_t(r->key_len) + r->value_len;
  if (s.count == 0) s.top = 0;  // every record below top is garbage
  if (!next_empty) {
    s.tombstones += 1;
    return;
  }
  // A tombstone followed by an empty slot ends no search early: empty it.
  for (uint64_t j = (i - 1) & b.mask; j != i && b.slots[j] == kTombstone; j = (j - 1) & b.mask) {
    publish(&b.slots[j], kEmpty);
    s.tombstones -= 1;
  }
}

uint64_t load_le64(const char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(p[i]);
  return v;
}

void store_le64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

// A snapshot item: u32 key length, u32 value length, the key and the
// value, each NUL-terminated and padded to 8 bytes.
size_t item_size(Record *r) {
  return 8 + align8(size_t(r->key_len) + 1) + align8(size_t(r->value_len) + 1);
}

bool geometry_ok(const DictShared &s, size_t segment_size) {
  if (s.max_entries == 0 || s.max_entries > kMaxEntries || s.max_bytes == 0 ||
      s.max_bytes > kMaxBytes)
    return false;
  Geometry g = geometry(s.max_entries, s.max_bytes);
  return g.slots == s.slots && g.arena_bytes == s.arena_bytes && g.segment_size == s.segment_size &&
         s.segment_size == segment_size && __atomic_load_n(&s.active, __ATOMIC_ACQUIRE) <= 1;
}

}  // namespace

// ---- the operations -----------------------------------------------------------

int dict_create(mp_dict &d, size_t max_entries, size_t max_bytes) {
  if (max_entries == 0 || max_entries > kMaxEntries || max_bytes == 0 || max_bytes > kMaxBytes)
    return fail(MP_EINVAL, "mp_dict_new: max_entries must be 1 to %zu and max_bytes 1 to %zu",
                kMaxEntries, kMaxBytes);
  Geometry g = geometry(max_entries, max_bytes);
  int r = d.segment.create("multiproc-dict", g.segment_size);
  if (r != MP_OK) return r;
  auto *s = new (d.segment.data()) DictShared();
  s->segment_size = g.segment_size;
  s->max_entries = max_entries;
  s->max_bytes = max_bytes;
  s->slots = g.slots;
  s->arena_bytes = g.arena_bytes;
  robust_mutex_init(&s->lock, kMutexNormal);
  s->version = kDictVersion;
  s->magic = kDictMagic;
  d.shared = s;
  d.slots = g.slots;
  d.arena_bytes = g.arena_bytes;
  return MP_OK;
}

int dict_attach(mp_dict &d, int fd) {
  int r = d.segment.attach(fd, sizeof(DictShared));
  if (r != MP_OK) return r;
  auto *s = static_cast<DictShared *>(d.segment.data());
  if (s->magic != kDictMagic)
    return fail(MP_EINVAL, "mp_dict_from_fd: descriptor %d is not a multiproc dict", fd);
  if (s->version != kDictVersion)
    return fail(MP_ENOTSUP, "mp_dict_from_fd: layout version %u, this library reads %u", s->version,
                kDictVersion);
  if (!geometry_ok(*s, d.segment.size()))
    return fail(MP_EINVAL, "mp_dict_from_fd: the dict's header is inconsistent with its size");
  d.shared = s;
  d.slots = s->slots;
  d.arena_bytes = s->arena_bytes;
  return MP_OK;
}

int dict_set(mp_dict &d, Bytes key, Bytes value) {
  const char *op = "mp_dict_set";
  return locked(d, op, [&](const Bank &b) { return store(d, b, probe(b, key), key, value, op); });
}

int dict_read(mp_dict &d, Bytes key, void *buf, size_t cap, size_t *len, const char *op) {
  return locked(d, op, [&](const Bank &b) -> int {
    Probe p = probe(b, key);
    if (p.found < 0) return fail(MP_ENOENT, "%s: no such key", op);
    Record *r = found_record(b, p);
    *len = r->value_len;
    if (r->value_len > cap)
      return fail(MP_ENOSPC, "%s: the value has %u bytes, the buffer %zu", op, r->value_len, cap);
    if (r->value_len) memcpy(buf, value_of(r), r->value_len);
    return MP_OK;
  });
}

int dict_delete(mp_dict &d, Bytes key) {
  const char *op = "mp_dict_delete";
  return locked(d, op, [&](const Bank &b) -> int {
    Probe p = probe(b, key);
    if (p.found < 0) return fail(MP_ENOENT, "%s: no such key", op);
    erase(d, b, p);
    return MP_OK;
  });
}

int dict_contains(mp_dict &d, Bytes key) {
  return locked(d, "mp_dict_contains",
                [&](const Bank &b) { return probe(b, key).found >= 0 ? 1 : 0; });
}

int dict_len(mp_dict &d, size_t *out) {
  return locked(d, "mp_dict_len", [&](const Bank &) {
    *out = size_t(d.shared->count);
    return MP_OK;
  });
}

int dict_clear(mp_dict &d) {
  const char *op = "mp_dict_clear";
  return locked(d, op, [&](const Bank &) { return rebuild(d, false, -1, nullptr, op); });
}

int dict_incr(mp_dict &d, Bytes key, int64_t delta, int64_t *out) {
  const char *op = "mp_dict_incr";
  return locked(d, op, [&](const Bank &b) -> int {
    Probe p = probe(b, key);
    uint64_t value = uint64_t(delta);  // two's complement: wraps like int64 hardware
    if (p.found >= 0) {
      Record *r = found_record(b, p);
      if (r->value_len != 8)
        return fail(MP_EINVAL, "%s: the value has %u bytes, not an 8-byte integer", op,
                    r->value_len);
      value += load_le64(value_of(r));
    }
    unsigned char le[8];
    store_le64(le, value);
    int rc = store(d, b, p, key, Bytes{le, 8}, op);
    if (rc == MP_OK) *out = int64_t(value);
    return rc;
  });
}

int dict_cas(mp_dict &d, Bytes key, Bytes expected, Bytes desired) {
  const char *op = "mp_dict_cas";
  return locked(d, op, [&](const Bank &b) -> int {
    Probe p = probe(b, key);
    bool matches;
    if (!expected.data) {
      matches = p.found < 0;
    } else {
      Record *r = p.found >= 0 ? found_record(b, p) : nullptr;
      matches = r && same_bytes(value_of(r), r->value_len, expected);
    }
    if (!matches) return 0;
    int rc = store(d, b, p, key, desired, op);
    return rc == MP_OK ? 1 : rc;
  });
}

int dict_snapshot(mp_dict &d, char *buf, size_t cap, size_t *size) {
  return locked(d, "mp_dict_iter_new", [&](const Bank &b) -> int {
    *size = 0;
    for (uint64_t i = 0; i <= b.mask; ++i) {
      Record *r = is_live(b.slots[i]) ? record_at(b, b.slots[i]) : nullptr;
      if (r) *size += item_size(r);
    }
    if (*size > cap) return MP_ENOSPC;  // the caller grows buf and asks again
    char *p = buf;
    for (uint64_t i = 0; i <= b.mask; ++i) {
      Record *r = is_live(b.slots[i]) ? record_at(b, b.slots[i]) : nullptr;
      if (!r) continue;
      memcpy(p, r, 8);  // both lengths
      char *k = p + 8;
      memcpy(k, key_of(r), r->key_len);
      k[r->key_len] = '\0';
      char *v = k + align8(size_t(r->key_len) + 1);
      memcpy(v, value_of(r), r->value_len);
      v[r->value_len] = '\0';
      p += item_size(r);
    }
    return MP_OK;
  });
}

bool dict_snapshot_next(const char *buf, size_t len, size_t *pos, Bytes *key, Bytes *value) {
  if (*pos > len || len - *pos < 8) return false;
  uint32_t lens[2];
  memcpy(lens, buf + *pos, 8);
  const char *k = buf + *pos + 8;
  const char *v = k + align8(size_t(lens[0]) + 1);
  *key = Bytes{k, lens[0]};
  *value = Bytes{v, lens[1]};
  *pos = size_t(v - buf) + align8(size_t(lens[1]) + 1);
  return true;
}

}  // namespace mp
