// A pool worker process: receive a chunk, run its items, send the results;
// exit on end of stream (the pool closed) or after max_tasks tasks.
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "core/error.hpp"
#include "ipc/shm.hpp"
#include "pool/protocol.hpp"
#include "process/target.hpp"

namespace mp {
namespace {

// Run every item of a chunk in order.
ResultMsg run_chunk(const ChunkMsg &chunk) {
  ResultMsg res;
  res.id = chunk.id;
  TaskFn task;
  bool found = lookup_task(chunk.task, &task);
  for (size_t i = 0; i < chunk.args.size(); ++i) {
    ItemResult item;
    item.index = chunk.indexes[i];
    if (found) {
      item.status = run_task(&item.data, task, chunk.args[i]);
    } else {
      item.status = MP_ETASKFAILED;
      item.data = "no task registered as '" + chunk.task + "' in the worker";
    }
    res.items.push_back(std::move(item));
  }
  return res;
}

bool run_initializer(const WorkerConfig &config) {
  if (config.init_task.empty()) return true;
  TaskFn init;
  if (!lookup_task(config.init_task, &init)) return false;
  std::string ignored;
  return run_task(&ignored, init, config.init_arg) == MP_OK;
}

int worker_main(const void *arg, size_t arg_len, void *) {
  WorkerConfig config;
  std::string wire(static_cast<const char *>(arg), arg_len);
  if (decode_config(config, wire) != MP_OK) return 2;
  for (int32_t fd : config.close_fds) close(fd);
  Segment segment;
  size_t board_end = (size_t(config.board_index) + 1) * kBoardSlots * sizeof(uint64_t);
  if (mp_child_fd(1) < 0 || segment.attach(mp_child_fd(1), board_end) != MP_OK) return 2;
  uint64_t *board = static_cast<uint64_t *>(segment.data()) + config.board_index * kBoardSlots;
  mp_conn_t *conn = nullptr;
  if (mp_conn_from_fd(&conn, mp_child_fd(0), MP_CONN_READABLE | MP_CONN_WRITABLE) != MP_OK)
    return 2;
  if (!run_initializer(config)) {
    mp_conn_free(conn);
    return 3;
  }
  uint64_t done = 0;
  for (;;) {
    void *msg = nullptr;
    size_t len = 0;
    if (mp_conn_recv(&msg, &len, conn, MP_FOREVER) != MP_OK) break;  // pool gone
    if (len == kStopMessageLen) {  // pool closed
      mp_free(msg);
      break;
    }
    ChunkMsg chunk;
    int r = decode_chunk(chunk, std::string_view(static_cast<char *>(msg), len));
    mp_free(msg);
    if (r != MP_OK) break;
    if (!board_claim(&board[chunk.slot], chunk.id)) continue;  // given to another worker
    // Each result goes out before the next chunk starts: the parent then
    // knows that the oldest unanswered chunk is the one running, so a death
    // fails exactly that chunk and no task ever runs twice.
    std::string result = encode_result(run_chunk(chunk));
    if (mp_conn_send(conn, result.data(), result.size(), MP_FOREVER) != MP_OK) break;
    done += chunk.args.size();
    if (config.max_tasks && done >= config.max_tasks) break;  // recycled
  }
  mp_conn_free(conn);
  return 0;
}

// Registered when the library loads, so a spawned worker finds it in mp_main().
const int g_worker_registered = register_target(kWorkerTarget, worker_main, nullptr);

}  // namespace
}  // namespace mp
