// mp_pool_t: Python's Pool. The parent knows which chunk each worker
// holds, so a worker's death fails that chunk alone; the others are
// re-queued and a new worker takes the slot.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/cond_var.hpp"
#include "core/fd.hpp"
#include "ipc/shm.hpp"
#include "multiproc.h"
#include "pool/protocol.hpp"
#include "process/named.hpp"

struct mp_iter_feed;

struct mp_pool_opts {
  unsigned workers = 0;  // 0: mp_cpu_count()
  mp_start_method_t method = MP_START_FORK;
  bool method_chosen = false;  // else the process-wide default at mp_pool_new
  // Handed to every worker (replacements too) by name; shared between
  // copies of the options, so a pool keeps them while it lives.
  std::vector<std::shared_ptr<const mp::NamedPass>> named;
  unsigned max_tasks = 0;
  std::string init_task;
  std::string init_arg;
  bool threads = false;
};

// The outcome of an asynchronous call: n items, filled as chunks finish.
struct mp_result {
  static constexpr uint32_t kMagic = 0x4d505253;  // "MPRS"
  uint32_t magic = kMagic;
  std::atomic<int> refs{1};
  std::mutex mu;
  mp::CondVar cv;
  std::vector<mp::ItemResult> items;
  size_t remaining = 0;
  bool complete = false;  // every item is in (under mu)
  // Ready for waiters: complete, and its callback (if any) has returned,
  // as Python runs it before waking them. Written under mu; read without
  // it by spinning waiters.
  std::atomic<bool> done{false};
  int status = MP_OK;  // the first failure's code
  mp_result_cb on_success = nullptr;
  mp_result_cb on_error = nullptr;
  void *payload = nullptr;
  // imap: items in the order they finished, and a wake-up per item (other
  // waiters only care about the whole result: one wake-up at the end).
  std::deque<size_t> finished;
  bool per_item = false;
};

namespace mp {

// The status of an item no worker has answered yet (not an MP_E* code).
constexpr int kItemPending = 1;

struct Chunk {
  Chunk() = default;
  Chunk(const Chunk &) = delete;
  Chunk &operator=(const Chunk &) = delete;
  ~Chunk();  // drops its reference to result

  ChunkMsg msg;
  mp_result *result = nullptr;  // holds a reference
  ::mp_iter_feed *feed = nullptr;  // imap back-pressure, if any
  unsigned attempts = 0;  // runs that ended with the worker's death
};

// Whoever holds a chunk owns it: a queue, a worker's in_flight, or a
// function on its way to retire it.
using ChunkPtr = std::unique_ptr<Chunk>;

inline ChunkPtr take_front(std::deque<ChunkPtr> &queue) {
  ChunkPtr c = std::move(queue.front());
  queue.pop_front();
  return c;
}

// Owners of a worker's process and connection handles.
struct ProcessFree {
  void operator()(mp_process_t *p) const { mp_process_free(p); }
};
struct ConnFree {
  void operator()(mp_conn_t *c) const { mp_conn_free(c); }
};
using ProcessPtr = std::unique_ptr<mp_process_t, ProcessFree>;
using ConnPtr = std::unique_ptr<mp_conn_t, ConnFree>;

// A worker's process and connection, taken from it to be reaped with
// pool.mu released (reaping waits for the process).
struct Reaped {
  ProcessPtr proc;
  ConnPtr conn;
};

struct Worker {
  Worker() = default;
  Worker(const Worker &) = delete;
  Worker &operator=(const Worker &) = delete;

  ProcessPtr proc;  // null while the worker is being replaced
  ConnPtr conn;
  // Sent, no result yet: the front is running (or next), the others wait
  // in the worker's socket until it claims them on its board.
  std::deque<ChunkPtr> in_flight;
  size_t index = 0;            // its place in pool.workers and on the board
  uint64_t *board = nullptr;   // its kBoardSlots words (process pools)
  uint32_t free_slots = 0;     // bit i: board slot i holds no chunk of in_flight
  int64_t front_since_ms = 0;  // when the front of in_flight became the front
  uint64_t tasks_sent = 0;
  bool alive = false;
  std::thread thread;  // thread pools only
};

void result_unref(mp_result *r);
// Whether the caller may see r as finished: done, or r is the result whose
// callback this thread is running (the callback reads it).
bool result_done(const mp_result *r);
// Wake the waiters of a complete result (its callback has returned).
void mark_done(mp_result *r);
// Hand a complete result to the callback thread (pool.mu held; takes a
// reference); waiters wake once the callback returned.
void queue_callback(mp_pool &pool, mp_result *r);
// A new result of n pending items (one reference: the caller's).
mp_result *result_new(size_t n, mp_result_cb ok, mp_result_cb err, void *payload);
// Record one item's outcome (pool.mu held).
void fill_item(mp_pool &pool, mp_result *r, ItemResult item);
// A chunk is finished (pool.mu held): feed its imap, free it.
void retire_chunk(mp_pool &pool, ChunkPtr c);
// Fail a chunk no worker will answer, and retire it (pool.mu held).
void cancel_chunk(mp_pool &pool, ChunkPtr c, int status, const char *why);
// A chunk was answered (pool.mu held): fill its items from items (those
// that are the chunk's; the others are ignored, so a confused or corrupted
// answerer cannot fill another chunk's), fail the ones the answer left out
// with missing and why, and retire it. The result's lock is taken once.
void answer_chunk(mp_pool &pool, ChunkPtr c, std::vector<ItemResult> &items, int missing,
                  const char *why);
// The callback thread's body.
void callback_loop(mp_pool *pool);
// Whether r has a success or error callback.
bool has_callback(const mp_result *r);
// Fill every item of chunk c with status and why (pool.mu held).
void fail_chunk(mp_pool &pool, const Chunk *c, int status, const char *why);
// An imap's feed is no longer fed (pool.mu held): drop it from the pool.
void forget_feed(mp_pool &pool, mp_iter_feed *f);

// An opened pool's link to its owner (broker/remote_pool.cpp).
struct RemotePool;
size_t remote_width(const RemotePool &r);
bool remote_broken(const RemotePool &r);
// Fail every chunk sent to the owner and not answered (pool.mu held).
void remote_cancel_all(mp_pool &pool, int status, const char *why);
void remote_free(RemotePool *r);
struct RemoteDeleter {
  void operator()(RemotePool *r) const { remote_free(r); }
};

// A pool served to other hosts through redis (redis/pool_serve.cpp):
// close and terminate wake its serving thread; join waits for it (after
// close it publishes what is running, after terminate it hands it back).
struct RedisServe;
void serve_wake(RedisServe &s);
void serve_join(RedisServe &s);

}  // namespace mp

// imap: chunks not yet submitted, fed a few at a time. The pool owns it
// (its chunks point at it); once the iterator is freed it goes with the
// last of its chunks in the pool.
struct mp_iter_feed {
  std::deque<mp::ChunkPtr> waiting;
  size_t window = 0;     // chunks in the pool at most
  size_t in_pool = 0;
  bool orphaned = false;  // the iterator is gone
};

namespace mp {

// How an iterator reaches its pool, which may be freed first: the pool
// clears `pool` (under mu) when it is freed; an iterator that finds it
// NULL has nothing left to tell the pool.
struct PoolLink {
  std::mutex mu;
  mp_pool *pool = nullptr;
};

}  // namespace mp

struct mp_iter {
  static constexpr uint32_t kMagic = 0x4d504954;  // "MPIT"
  uint32_t magic = kMagic;
  std::shared_ptr<mp::PoolLink> link;
  mp_result *result;
  mp_iter_feed *feed;
  bool ordered;
  size_t next = 0;      // ordered: the next index to hand out
  size_t handed = 0;    // items handed out
};

// Freeing the pool (one delete) terminates it, joins its threads and
// workers, and frees what it owns.
struct mp_pool {
  mp_pool() = default;
  mp_pool(const mp_pool &) = delete;
  mp_pool &operator=(const mp_pool &) = delete;
  ~mp_pool();

  static constexpr uint32_t kMagic = 0x4d50504c;  // "MPPL"
  uint32_t magic = kMagic;
  mp_pool_opts opts;
  std::mutex mu;
  mp::CondVar cv;  // thread workers, join
  std::deque<mp::ChunkPtr> pending;
  std::vector<std::unique_ptr<mp::Worker>> workers;
  bool closed = false;
  bool terminated = false;
  bool workers_done = false;  // every worker has exited
  int threads_running = 0;    // thread pools: worker threads not yet done
  bool joined = false;        // a thread is joining the pool's threads
  bool join_done = false;     // ... and has joined them
  mp::Fd wake_fd;  // wakes the dispatcher thread (process pools)
  mp::Segment board;  // the workers' claim boards (process pools)
  bool dispatcher_sleeping = false;  // in poll(): needs wake_fd to notice work
  std::thread dispatcher;
  std::thread callbacks;
  mp::CondVar cb_cv;
  std::deque<mp_result *> cb_queue;
  bool cb_stop = false;
  uint64_t next_chunk = 0;
  std::vector<std::unique_ptr<mp_iter_feed>> feeds;
  std::shared_ptr<mp::PoolLink> link = std::make_shared<mp::PoolLink>();
  std::atomic<int64_t> stats[6] = {};
  // Set for a pool opened by address: its chunks go to the owner.
  std::unique_ptr<mp::RemotePool, mp::RemoteDeleter> remote;
  // Set while the pool serves a redis:// address (mp_pool_serve).
  std::shared_ptr<mp::RedisServe> serving;
  // mp_pool_set_retries: runs a task gets again after its worker died.
  std::atomic<unsigned> retries{0};
};

namespace mp {

inline void bump(mp_pool &pool, mp_pool_stat_t what, int64_t by = 1) {
  pool.stats[what].fetch_add(by, std::memory_order_relaxed);
}

int pool_start(mp_pool &pool);
// Queue chunks of task over args (the result already exists). With no
// args the result is complete at once: its callback, if any, is queued.
int pool_submit(mp_pool &pool, mp_result *result, const std::string &task,
                std::vector<std::string> args, size_t chunksize, mp_iter_feed *feed);
void pool_close(mp_pool &pool);
int pool_join(mp_pool &pool, int64_t timeout_ms);
void pool_terminate(mp_pool &pool);
// A new imap feed, owned by the pool (its chunks point at it).
mp_iter_feed *feed_open(mp_pool &pool);
// Nobody reads feed any more (pool.mu not held): its chunks not yet in the
// pool are canceled, the feed goes when its last chunk in the pool does.
void feed_release(mp_pool &pool, mp_iter_feed *feed);
// The iterator is being freed: its pool, if it still exists, stops
// feeding it.
void iter_detach(mp_iter &iter);
size_t auto_chunksize(const mp_pool &pool, size_t n);
// How many tasks run at once: the workers, or the owner's for an opened pool.
size_t pool_width(const mp_pool &pool);
// Cancel the chunks of r still queued (not yet with a worker).
void pool_cancel_pending(mp_pool &pool, mp_result *r, int status, const char *why);

}  // namespace mp
