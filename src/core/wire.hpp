// Little-endian-as-the-host binary messages between processes of one
// machine: appenders, and a Reader that checks every length against the
// bytes left before it reads, so a peer's message never makes it read past
// the end or allocate what the message does not hold. Used by the pool's
// worker messages and the broker's frames.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mp {

inline void put_u32(std::string &s, uint32_t v) { s.append(reinterpret_cast<char *>(&v), 4); }
inline void put_u64(std::string &s, uint64_t v) { s.append(reinterpret_cast<char *>(&v), 8); }
inline void put_bytes(std::string &s, const std::string &b) {
  put_u64(s, b.size());
  s += b;
}

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool u32(uint32_t *v) { return raw(v, 4); }
  bool u64(uint64_t *v) { return raw(v, 8); }
  bool bytes(std::string *out) {
    uint64_t n;
    if (!u64(&n) || n > s_.size() - pos_) return false;
    out->assign(s_, pos_, size_t(n));
    pos_ += size_t(n);
    return true;
  }
  bool magic(const char *m) {
    if (s_.size() < 4 || memcmp(s_.data(), m, 4) != 0) return false;
    pos_ = 4;
    return true;
  }
  bool done() const { return pos_ == s_.size(); }
  size_t left() const { return s_.size() - pos_; }

 private:
  bool raw(void *v, size_t n) {
    if (s_.size() - pos_ < n) return false;
    memcpy(v, s_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace mp
