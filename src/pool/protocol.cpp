#include "pool/protocol.hpp"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "core/error.hpp"
#include "core/wire.hpp"

namespace mp {
namespace {

struct TaskRegistry {
  std::mutex mu;
  std::map<std::string, TaskFn> tasks;
};

TaskRegistry &tasks() {
  static TaskRegistry *r = new TaskRegistry();  // used until exit
  return *r;
}

}  // namespace

int register_task(const char *name, mp_task_fn fn, void *payload) {
  std::lock_guard<std::mutex> lock(tasks().mu);
  if (!tasks().tasks.emplace(name, TaskFn{fn, payload}).second)
    return fail(MP_EEXIST, "register_task: '%s' is already registered", name);
  return MP_OK;
}

bool lookup_task(const std::string &name, TaskFn *out) {
  std::lock_guard<std::mutex> lock(tasks().mu);
  auto it = tasks().tasks.find(name);
  if (it == tasks().tasks.end()) return false;
  *out = it->second;
  return true;
}

int run_task(std::string *out, const TaskFn &task, const std::string &arg) {
  void *result = nullptr;
  size_t len = 0;
  int rc = task.fn(&result, &len, arg.empty() ? nullptr : arg.data(), arg.size(), task.payload);
  out->assign(result ? static_cast<const char *>(result) : "", result ? len : 0);
  free(result);
  return rc == 0 ? MP_OK : MP_ETASKFAILED;
}

// A slot holds 0 (free), id*2 (offered) or id*2+1 (claimed: running).
void board_offer(uint64_t *slot, uint64_t id) { __atomic_store_n(slot, id << 1, __ATOMIC_RELEASE); }

bool board_claim(uint64_t *slot, uint64_t id) {
  uint64_t expect = id << 1;
  return __atomic_compare_exchange_n(slot, &expect, expect | 1, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE);
}

bool board_revoke(uint64_t *slot, uint64_t id) {
  uint64_t expect = id << 1;
  return __atomic_compare_exchange_n(slot, &expect, 0, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE);
}

std::string encode_chunk(const ChunkMsg &m) {
  size_t size = 4 + 8 + 4 + 8 + m.task.size() + 4;
  for (const auto &arg : m.args) size += 8 + 8 + arg.size();
  std::string s;
  s.reserve(size);  // one allocation, no copy on growth
  s = "MPT2";
  put_u64(s, m.id);
  put_u32(s, m.slot);
  put_bytes(s, m.task);
  put_u32(s, uint32_t(m.args.size()));
  for (size_t i = 0; i < m.args.size(); ++i) {
    put_u64(s, m.indexes[i]);
    put_bytes(s, m.args[i]);
  }
  return s;
}

int decode_chunk(ChunkMsg &out, std::string_view wire) {
  Reader r(wire);
  uint32_t n;
  if (!r.magic("MPT2") || !r.u64(&out.id) || !r.u32(&out.slot) || out.slot >= kBoardSlots ||
      !r.bytes(&out.task) || !r.u32(&n) || n > r.left() / 16)
    return fail(MP_EINVAL, "pool: malformed task message");
  out.indexes.resize(n);
  out.args.resize(n);
  for (uint32_t i = 0; i < n; ++i)
    if (!r.u64(&out.indexes[i]) || !r.bytes(&out.args[i]))
      return fail(MP_EINVAL, "pool: truncated task message");
  return r.done() ? MP_OK : fail(MP_EINVAL, "pool: trailing bytes in a task message");
}

std::string encode_result(const ResultMsg &m) {
  size_t size = 4 + 8 + 4;
  for (const auto &item : m.items) size += 8 + 4 + 8 + item.data.size();
  std::string s;
  s.reserve(size);
  s = "MPR1";
  put_u64(s, m.id);
  put_u32(s, uint32_t(m.items.size()));
  for (const auto &item : m.items) {
    put_u64(s, item.index);
    put_u32(s, item.status == MP_OK ? 0 : 1);
    put_bytes(s, item.data);
  }
  return s;
}

int decode_result(ResultMsg &out, std::string_view wire) {
  Reader r(wire);
  uint32_t n;
  if (!r.magic("MPR1") || !r.u64(&out.id) || !r.u32(&n) || n > r.left() / 20)
    return fail(MP_EINVAL, "pool: malformed result message");
  out.items.resize(n);
  for (auto &item : out.items) {
    uint32_t failed;
    if (!r.u64(&item.index) || !r.u32(&failed) || !r.bytes(&item.data))
      return fail(MP_EINVAL, "pool: truncated result message");
    item.status = failed ? MP_ETASKFAILED : MP_OK;
  }
  return r.done() ? MP_OK : fail(MP_EINVAL, "pool: trailing bytes in a result message");
}

std::string encode_config(const WorkerConfig &c) {
  std::string s = "MPW2";
  put_bytes(s, c.init_task);
  put_bytes(s, c.init_arg);
  put_u32(s, c.max_tasks);
  put_u32(s, c.board_index);
  put_u32(s, uint32_t(c.close_fds.size()));
  for (int32_t fd : c.close_fds) put_u32(s, uint32_t(fd));
  return s;
}

int decode_config(WorkerConfig &out, const std::string &wire) {
  Reader r(wire);
  uint32_t n;
  if (!r.magic("MPW2") || !r.bytes(&out.init_task) || !r.bytes(&out.init_arg) ||
      !r.u32(&out.max_tasks) || !r.u32(&out.board_index) || !r.u32(&n) || n > r.left() / 4)
    return fail(MP_EINVAL, "pool: malformed worker configuration");
  out.close_fds.resize(n);
  for (auto &fd : out.close_fds) {
    uint32_t v = 0;
    r.u32(&v);  // cannot fail: n was checked against the bytes left
    fd = int32_t(v);
  }
  return r.done() ? MP_OK : fail(MP_EINVAL, "pool: malformed worker configuration");
}

}  // namespace mp
