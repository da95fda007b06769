// The pool's messages between the parent and a worker process, and the
// task registry both sides use. Decoding is defensive: a worker that died
// half-way through a message or wrote garbage gives an error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "multiproc.h"

namespace mp {

// Registered pool tasks (mp_register_task).
struct TaskFn {
  mp_task_fn fn = nullptr;
  void *payload = nullptr;
};
int register_task(const char *name, mp_task_fn fn, void *payload);
bool lookup_task(const std::string &name, TaskFn *out);

// Run one task in this process: MP_OK with the result bytes, or
// MP_ETASKFAILED with the error message (possibly empty) in *out.
int run_task(std::string *out, const TaskFn &task, const std::string &arg);

// A chunk: several arguments of one task, numbered by their index in the
// caller's argument list. slot: its word on the worker's claim board.
struct ChunkMsg {
  uint64_t id = 0;
  uint32_t slot = 0;
  std::string task;
  std::vector<uint64_t> indexes;
  std::vector<std::string> args;
};

// The outcome of one item: status MP_OK or MP_ETASKFAILED, and bytes.
struct ItemResult {
  uint64_t index = 0;
  int status = MP_OK;
  std::string data;
};

struct ResultMsg {
  uint64_t id = 0;
  std::vector<ItemResult> items;
};

// How a worker process starts: its initializer and recycling limit.
struct WorkerConfig {
  std::string init_task;
  std::string init_arg;
  uint32_t max_tasks = 0;
  uint32_t board_index = 0;  // the worker's claim board in the pool's segment
  // Forked workers only: the parent's descriptors they inherited and must
  // close (the pool's ends of every worker connection, its wake-up fd), so
  // that nothing but the parent keeps a worker's connection open.
  std::vector<int32_t> close_fds;
};

// An empty message from the parent asks a worker to exit (the pool closed).
// End of stream does too, but a copy of the parent's end inherited by some
// other child could delay that indefinitely.
constexpr size_t kStopMessageLen = 0;

// The claim board: kBoardSlots words per worker in memory the parent and
// the worker share (the worker's second passed descriptor). The parent
// offers each chunk it sends in a free slot; the worker claims the chunk
// there before running it, or skips it (sending no result) if the parent
// took the offer back to hand the chunk to an idle worker. One
// compare-and-swap decides, so a chunk runs once, and a worker busy with a
// long task never holds unstarted work hostage. Chunk ids are never
// reused, so a stale message cannot claim a slot offered anew.
constexpr uint32_t kBoardSlots = 16;  // more than the chunks a worker holds
void board_offer(uint64_t *slot, uint64_t id);
bool board_claim(uint64_t *slot, uint64_t id);   // the worker: run it?
bool board_revoke(uint64_t *slot, uint64_t id);  // the parent: take it back?

std::string encode_chunk(const ChunkMsg &m);
int decode_chunk(ChunkMsg &out, std::string_view wire);
std::string encode_result(const ResultMsg &m);
int decode_result(ResultMsg &out, std::string_view wire);
std::string encode_config(const WorkerConfig &c);
int decode_config(WorkerConfig &out, const std::string &wire);

// The name of the library's own target that runs a pool worker process.
constexpr const char *kWorkerTarget = "__multiproc_pool_worker";

}  // namespace mp
