// Dict records in shared memory (src/dict): the header counters, the
// commit word `active`, the slot tables and the record arenas can be
// written by any process that maps the dict. Corruption must give an error
// or a wrong answer, never a crash, an out-of-bounds access or a hang.
//
// Each input builds a real dict (8 entries, 256 bytes), fills it through
// the API, writes fuzz bytes into the mapped segment (raw bytes, header
// fields, slot words, record headers), optionally leaves the mutex with a
// dead owner (a thread that exits holding it: the next locker repairs from
// the fuzzed tables), attaches a second handle from the descriptor and runs
// every operation on it.
//
// Left alone: the bytes of the robust pthread mutex (glibc's own layout).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <thread>

#include "dict/layout.hpp"
#include "fuzz.hpp"

namespace {

using mp::DictShared;
namespace L = mp::dict_layout;

constexpr size_t kEntries = 8, kBytes = 256;

struct Field {
  size_t offset, width;
};
#define F(name) {offsetof(DictShared, name), sizeof(DictShared::name)}
const Field kFields[] = {F(magic),       F(version), F(segment_size), F(max_entries),
                         F(max_bytes),   F(slots),   F(arena_bytes),  F(active),
                         F(top),         F(count),   F(tombstones),   F(payload)};
#undef F
constexpr size_t kNumFields = sizeof kFields / sizeof kFields[0];

const L::Geometry kGeo = L::geometry(kEntries, kBytes);

bool in_mutex(size_t off) {
  size_t m = offsetof(DictShared, lock);
  return off >= m && off < m + sizeof(pthread_mutex_t);
}

void patch(char *base, size_t off, const std::string &bytes) {
  for (size_t i = 0; i < bytes.size() && off + i < kGeo.segment_size; ++i)
    if (!in_mutex(off + i)) base[off + i] = bytes[i];
}

void set_field(char *base, const Field &f, uint64_t v) { memcpy(base + f.offset, &v, f.width); }

// Where bank b's slot table and arena start in the segment.
size_t slots_at(int b) { return L::header_size() + size_t(b) * (kGeo.slots * 8 + kGeo.arena_bytes); }
size_t arena_at(int b) { return slots_at(b) + kGeo.slots * 8; }

std::string key_of(uint8_t k) { return std::string(1 + k % 3, char('a' + k % 8)); }

void fill(mp_dict_t *d, fuzz::Input &in) {
  uint8_t n = in.u8() % 9;
  for (uint8_t i = 0; i < n; ++i) {
    std::string k = key_of(i), v(in.u8() % 40, 'v');
    if (i % 3 == 2) {
      int64_t out;
      mp_dict_incr(&out, d, k.data(), k.size(), i);
    } else {
      mp_dict_set(d, k.data(), k.size(), v.data(), v.size());
    }
  }
  if (n & 1) mp_dict_delete(d, "a", 1);
}

void corrupt(char *base, fuzz::Input &in) {
  int steps = in.u8() % 16;
  for (int i = 0; i < steps && !in.empty(); ++i) {
    uint8_t op = in.u8();
    int b = (op >> 2) & 1;
    switch (op % 4) {
      case 0:
        patch(base, in.u16() % kGeo.segment_size, in.bytes(in.u8() % 32 + 1));
        break;
      case 1: {  // a header field; mostly small values for the counters
        const Field &f = kFields[in.u8() % kNumFields];
        set_field(base, f, (op >> 3) & 1 ? in.u64() : in.u16());
        break;
      }
      case 2: {  // a slot word: empty, tombstone, or live with any tag and offset
        size_t slot = in.u8() % kGeo.slots;
        uint64_t w = in.u64();
        if ((op >> 3) & 1) w = L::kLive | (w & ((uint64_t(1) << 63) - 1));
        std::string bytes(reinterpret_cast<char *>(&w), 8);
        patch(base, slots_at(b) + slot * 8, bytes);
        break;
      }
      default: {  // a record header at an 8-byte offset of an arena
        size_t at = (in.u16() % kGeo.arena_bytes) & ~size_t(7);
        L::Record r{in.u32(), in.u32(), in.u64()};
        if ((op >> 3) & 1) r.key_len %= 64, r.value_len %= 64;
        std::string bytes(reinterpret_cast<char *>(&r), sizeof r);
        patch(base, arena_at(b) + at, bytes.substr(0, kGeo.arena_bytes - at));
        break;
      }
    }
  }
}

// A thread that exits holding a robust mutex leaves it EOWNERDEAD, as a
// killed process would.
void leave_owner_dead(pthread_mutex_t *m) {
  std::thread([m] { FUZZ_CHECK(pthread_mutex_lock(m) == 0); }).join();
}

void operate(mp_dict_t *d, fuzz::Input &in) {
  char buf[64];
  for (int i = 0; i < 12 && !in.empty(); ++i) {
    uint8_t op = in.u8();
    std::string k = key_of(in.u8());
    std::string v(op % 50, 'w');
    int rc;
    switch (op % 10) {
      case 0: {
        void *out = nullptr;
        size_t len = 0;
        rc = mp_dict_get(&out, &len, d, k.data(), k.size());
        if (rc == MP_OK) FUZZ_CHECK(out && static_cast<char *>(out)[len] == '\0');
        mp_free(out);
        break;
      }
      case 1: {
        size_t len = 0;
        rc = mp_dict_get_into(&len, d, k.data(), k.size(), buf, op % sizeof buf);
        break;
      }
      case 2: rc = mp_dict_set(d, k.data(), k.size(), v.data(), v.size()); break;
      case 3: rc = mp_dict_delete(d, k.data(), k.size()); break;
      case 4: rc = mp_dict_contains(d, k.data(), k.size()); break;
      case 5: rc = mp_dict_len(d); FUZZ_CHECK(rc < 0 || size_t(rc) <= kGeo.slots); break;
      case 6: {
        int64_t out;
        rc = mp_dict_incr(&out, d, k.data(), k.size(), int8_t(op));
        break;
      }
      case 7: rc = mp_dict_cas(d, k.data(), k.size(), op & 1 ? nullptr : v.data(), v.size(), "x", 1); break;
      case 8: {
        mp_dict_iter_t *it = nullptr;
        rc = mp_dict_iter_new(&it, d);
        const void *key, *value;
        size_t kl, vl;
        int n = 0;
        while (it && mp_dict_iter_next(it, &key, &kl, &value, &vl) == 1) {
          FUZZ_CHECK(static_cast<const char *>(value)[vl] == '\0');
          FUZZ_CHECK(++n <= int(kGeo.slots));
        }
        mp_dict_iter_free(it);
        break;
      }
      default: rc = mp_dict_clear(d); break;
    }
    fuzz::check_error_has_message(rc);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::Input in(data, size);
  uint8_t flags = in.u8();
  mp_dict_t *d = nullptr;
  FUZZ_CHECK(mp_dict_new(&d, kEntries, kBytes) == MP_OK);
  fill(d, in);
  int fd = mp_dict_fileno(d);
  size_t size_mapped = kGeo.segment_size;
  char *base = static_cast<char *>(
      mmap(nullptr, size_mapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  FUZZ_CHECK(base != MAP_FAILED);
  corrupt(base, in);
  if (flags & 1) leave_owner_dead(reinterpret_cast<pthread_mutex_t *>(base + offsetof(DictShared, lock)));
  mp_dict_t *peer = nullptr;
  int rc = mp_dict_from_fd(&peer, dup(fd));
  fuzz::check_error_has_message(rc);
  if (rc == MP_OK) {
    operate(peer, in);
    mp_dict_free(peer);
  }
  // The creator's handle, attached before the corruption: it must not
  // trust the header's geometry either (copied at create/attach).
  if (flags & 2) operate(d, in);
  munmap(base, size_mapped);
  mp_dict_free(d);
  return 0;
}
