// The shared dict's memory layout: the header, the two banks (slot table and
// record arena), slot words, records and the key hash. Internal to
// src/dict; dict.cpp says how they are written and repaired.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/robust_mutex.hpp"
#include "dict/dict.hpp"

namespace mp {

struct DictShared {
  // Geometry, fixed at creation and checked on attach.
  uint32_t magic;
  uint32_t version;
  uint64_t segment_size;
  uint64_t max_entries;
  uint64_t max_bytes;
  uint64_t slots;
  uint64_t arena_bytes;
  uint64_t active;  // the commit word of compaction: the bank in use, 0 or 1
  RobustMutex lock;
  // Derived from the active bank (lock held), recomputed by repair().
  uint64_t top;  // arena bytes in use by records, live or garbage
  uint64_t count;
  uint64_t tombstones;
  uint64_t payload;  // key and value bytes of the live entries
};

namespace dict_layout {

constexpr uint32_t kDictMagic = 0x3144504d;  // "MPD1"
constexpr uint32_t kDictVersion = 1;
constexpr size_t kMaxEntries = size_t(1) << 28;
constexpr size_t kMaxBytes = size_t(1) << 40;
constexpr uint64_t kEmpty = 0;
constexpr uint64_t kTombstone = 1;
constexpr uint64_t kLive = uint64_t(1) << 63;
constexpr int kTagShift = 40;
constexpr uint64_t kTagMask = (uint64_t(1) << 23) - 1;
constexpr uint64_t kOffsetMask = (uint64_t(1) << kTagShift) - 1;

struct Record {
  uint32_t key_len;
  uint32_t value_len;
  uint64_t hash;
};
static_assert(sizeof(Record) == 16, "record header");
constexpr size_t kRecordOverhead = sizeof(Record) + 7 + 7;  // header, worst padding

inline size_t align8(size_t n) { return (n + 7) & ~size_t(7); }
inline size_t header_size() { return (sizeof(DictShared) + 63) & ~size_t(63); }
inline size_t record_size(size_t key_len, size_t value_len) {
  return sizeof(Record) + align8(key_len) + align8(value_len);
}

struct Geometry {
  uint64_t slots, arena_bytes, segment_size;
};

inline Geometry geometry(size_t max_entries, size_t max_bytes) {
  Geometry g;
  g.slots = 8;
  while (g.slots < 2 * uint64_t(max_entries)) g.slots <<= 1;
  uint64_t base = align8(max_bytes) + kRecordOverhead * max_entries;
  g.arena_bytes = align8(base + base / 8 + 256);
  g.segment_size = header_size() + 2 * (g.slots * 8 + g.arena_bytes);
  return g;
}

// ---- hashing and slot words ----------------------------------------------

inline uint64_t mix64(uint64_t h) {  // murmur3's finaliser
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Eight bytes per step, every bit mixed at the end. Only processes of one
// machine share a dict, so host byte order is fine.
inline uint64_t hash_key(Bytes key) {
  const unsigned char *p = static_cast<const unsigned char *>(key.data);
  size_t n = key.len;
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h ^= w * 0x9e3779b97f4a7c15ULL;
    h = ((h << 29) | (h >> 35)) * 0xbf58476d1ce4e5b9ULL;
  }
  uint64_t tail = 0;
  if (n) memcpy(&tail, p, n);
  return mix64(h ^ (tail * 0x94d049bb133111ebULL));
}

// The tag comes from the high bits, the home slot from the low ones.
inline uint64_t tag_of(uint64_t hash) { return (hash >> 41) & kTagMask; }
inline uint64_t slot_word(uint64_t hash, uint64_t offset) {
  return kLive | tag_of(hash) << kTagShift | offset / 8;
}
inline bool is_live(uint64_t w) { return (w & kLive) != 0; }
inline uint64_t word_offset(uint64_t w) { return (w & kOffsetMask) * 8; }
inline uint64_t word_tag(uint64_t w) { return (w >> kTagShift) & kTagMask; }

// The commit store: one aligned 64-bit store, ordered after the bytes it
// publishes.
inline void publish(uint64_t *word, uint64_t value) {
  __atomic_store_n(word, value, __ATOMIC_RELEASE);
}

// ---- banks and records ----------------------------------------------------

struct Bank {
  uint64_t *slots;
  char *arena;
  uint64_t mask;
  uint64_t arena_bytes;
};

inline Bank bank(const mp_dict &d, uint64_t which) {
  char *base = static_cast<char *>(d.segment.data()) + header_size() +
               (which & 1) * (d.slots * 8 + d.arena_bytes);
  return Bank{reinterpret_cast<uint64_t *>(base), base + d.slots * 8, d.slots - 1, d.arena_bytes};
}

inline Bank active_bank(const mp_dict &d) { return bank(d, d.shared->active); }

// The record a live slot word points at, or nullptr if it does not lie
// wholly inside the arena or carries another tag (never for words this
// library stored; a guard against a corrupted segment).
inline Record *record_at(const Bank &b, uint64_t w) {
  uint64_t off = word_offset(w);
  if (off > b.arena_bytes - sizeof(Record)) return nullptr;
  auto *r = reinterpret_cast<Record *>(b.arena + off);
  if (record_size(r->key_len, r->value_len) > b.arena_bytes - off) return nullptr;
  return tag_of(r->hash) == word_tag(w) ? r : nullptr;
}

inline char *key_of(Record *r) { return reinterpret_cast<char *>(r + 1); }
inline char *value_of(Record *r) { return key_of(r) + align8(r->key_len); }

inline void copy_padded(char *to, Bytes b) {
  if (b.len) memcpy(to, b.data, b.len);
  memset(to + b.len, 0, align8(b.len) - b.len);
}

// Write a record at offset off of b's arena; returns its size.
inline size_t write_record(const Bank &b, uint64_t off, Bytes key, uint64_t hash, Bytes value) {
  Record h{uint32_t(key.len), uint32_t(value.len), hash};
  char *p = b.arena + off;
  memcpy(p, &h, sizeof h);
  copy_padded(p + sizeof h, key);
  copy_padded(p + sizeof h + align8(key.len), value);
  return record_size(key.len, value.len);
}

}  // namespace dict_layout
}  // namespace mp
