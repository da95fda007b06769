// The bootstrap message: encode in the parent, decode (defensively: it is
// read from a descriptor another process wrote) in the spawned child.
#include <cstdint>
#include <cstring>

#include <set>

#include "core/address.hpp"
#include "core/error.hpp"
#include "process/target.hpp"

namespace mp {
namespace {

// 2 (0.2): parent_name at the end; 3 (0.4): the handles passed by name.
// A child of another version says "bad magic" instead of misreading the
// fields.
constexpr char kMagic[4] = {'M', 'P', 'B', '3'};
constexpr uint32_t kMaxName = 255;

void put_u32(std::string &s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}

void put_str(std::string &s, const std::string &v) {
  put_u32(s, uint32_t(v.size()));
  s += v;
}

class Reader {
 public:
  explicit Reader(const std::string &s) : s_(s) {}
  bool u32(uint32_t *v) {
    if (s_.size() - pos_ < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= uint32_t(uint8_t(s_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return true;
  }
  bool str(std::string *v, uint32_t max) {
    uint32_t n;
    if (!u32(&n) || n > max || s_.size() - pos_ < n) return false;
    v->assign(s_, pos_, n);
    pos_ += n;
    return true;
  }
  bool skip_magic() {
    if (s_.size() < 4 || memcmp(s_.data(), kMagic, 4) != 0) return false;
    pos_ = 4;
    return true;
  }
  bool at_end() const { return pos_ == s_.size(); }

 private:
  const std::string &s_;
  size_t pos_ = 0;
};

}  // namespace

std::string encode_bootstrap(const Bootstrap &b) {
  std::string s(kMagic, 4);
  put_str(s, b.target);
  put_str(s, b.name);
  put_str(s, b.arg);
  put_u32(s, b.parent_pid);
  put_u32(s, b.daemon);
  put_u32(s, b.nfds);
  put_str(s, b.parent_name);
  put_u32(s, uint32_t(b.named.size()));
  for (const NamedSlot &n : b.named) {
    put_str(s, n.name);
    put_str(s, n.kind);
  }
  return s;
}

namespace {

// The named list: valid, distinct names of known kinds, no more than the
// descriptors a child may get.
bool read_named(Reader &r, std::vector<NamedSlot> &out, uint32_t nfds) {
  uint32_t n;
  if (!r.u32(&n) || n > kMaxPassFds - nfds) return false;
  std::set<std::string> seen;
  out.assign(n, NamedSlot{});
  for (NamedSlot &slot : out) {
    if (!r.str(&slot.name, 64) || !r.str(&slot.kind, 8)) return false;
    if (slot.name.find('\0') != std::string::npos || !valid_handle_name(slot.name.c_str()) ||
        !valid_handle_kind(slot.kind) || !seen.insert(slot.name).second)
      return false;
  }
  return true;
}

}  // namespace

int decode_bootstrap(Bootstrap &out, const std::string &wire) {
  Reader r(wire);
  if (!r.skip_magic()) return fail(MP_EINVAL, "bootstrap: bad magic");
  if (!r.str(&out.target, kMaxName) || !r.str(&out.name, kMaxName) ||
      !r.str(&out.arg, UINT32_MAX) || !r.u32(&out.parent_pid) ||
      !r.u32(&out.daemon) || !r.u32(&out.nfds) || !r.str(&out.parent_name, kMaxName))
    return fail(MP_EINVAL, "bootstrap: truncated or malformed message");
  if (out.nfds > kMaxPassFds || out.daemon > 1)
    return fail(MP_EINVAL, "bootstrap: field out of range");
  if (!read_named(r, out.named, out.nfds))
    return fail(MP_EINVAL, "bootstrap: truncated or malformed list of named handles");
  if (!r.at_end()) return fail(MP_EINVAL, "bootstrap: trailing bytes");
  return MP_OK;
}

bool valid_handle_kind(const std::string &kind) {
  return kind == "queue" || kind == "conn" || kind == "fd";
}

}  // namespace mp
