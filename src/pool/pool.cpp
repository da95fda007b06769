// The pool: submission, the dispatcher (process pools) or worker threads
// (thread pools), worker death and replacement, shutdown. Which worker
// process runs which chunk is pool/schedule.cpp's; results and their
// callbacks are pool/result.cpp's.
//
// Locking: pool.mu guards the pool's queues and workers; a result's own mu
// guards its items. Order: pool.mu, then result.mu. Callbacks run on the
// callback thread with no lock held.
#include "pool/pool.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/cond_var.hpp"
#include "core/deadline.hpp"
#include "core/error.hpp"
#include "ipc/conn.hpp"
#include "pool/schedule.hpp"
#include "process/process.hpp"
#include "process/target.hpp"

namespace mp {
namespace {

// imap keeps this many chunks per worker in the pool (back-pressure).
constexpr size_t kImapChunksPerWorker = 4;

// Only a dispatcher asleep in poll() needs the eventfd (pool.mu held, so
// the flag cannot change under us), and one write wakes it: the flag is
// cleared, so the submissions that follow before it runs make no
// syscall (it looks at every pending chunk once awake).
void wake_dispatcher(mp_pool &pool) {
  if (!pool.wake_fd.valid() || !pool.dispatcher_sleeping) return;
  pool.dispatcher_sleeping = false;
  uint64_t one = 1;
  ssize_t w = write(pool.wake_fd.get(), &one, sizeof one);
  (void)w;  // a full counter already wakes it
}

}  // namespace

namespace {

// ---- worker processes -----------------------------------------------------

int start_worker_process(mp_pool &pool, Worker *w) {
  mp_conn_t *a = nullptr, *b = nullptr;
  int r = mp_pipe(&a, &b, 1);
  if (r != MP_OK) return r;
  ConnPtr mine(a), theirs(b);
  WorkerConfig config{pool.opts.init_task, pool.opts.init_arg, pool.opts.max_tasks,
                      uint32_t(w->index), {}};
  if (pool.opts.method == MP_START_FORK) {  // a forked worker inherits these
    config.close_fds.push_back(mp_conn_fileno(mine.get()));
    config.close_fds.push_back(pool.wake_fd.get());
    config.close_fds.push_back(pool.board.fd());  // it uses its passed copy
    for (const auto &other : pool.workers)
      if (other->conn) config.close_fds.push_back(mp_conn_fileno(other->conn.get()));
  }
  std::string arg = encode_config(config);
  mp_process_t *p = nullptr;
  r = mp_process_new(&p, kWorkerTarget, arg.data(), arg.size());
  ProcessPtr proc(p);
  if (r == MP_OK) r = mp_process_set_daemon(p, 1);
  if (r == MP_OK) r = mp_process_set_start_method(p, pool.opts.method);
  // pass_fd answers the descriptor's index (>= 0) or the error.
  if (r == MP_OK) r = std::min(mp_process_pass_fd(p, mp_conn_fileno(theirs.get())), int(MP_OK));
  if (r == MP_OK) r = std::min(mp_process_pass_fd(p, pool.board.fd()), int(MP_OK));
  for (size_t i = 0; r == MP_OK && i < pool.opts.named.size(); ++i) {
    const NamedPass &np = *pool.opts.named[i];
    std::lock_guard<std::mutex> lock(p->mu);
    r = pass_named(*p, np.name.c_str(), np.kind.c_str(), np.fd.get(), "pool: start worker");
  }
  board_reset(w);
  if (r == MP_OK) r = mp_process_start(p);
  theirs.reset();  // the worker has its copy
  if (r != MP_OK) return r;
  w->proc = std::move(proc);
  w->conn = std::move(mine);
  w->alive = true;
  w->tasks_sent = 0;
  bump(pool, MP_POOL_WORKERS_STARTED);
  return MP_OK;
}

// Reap a worker whose connection ended (pool.mu not held).
void reap_worker(Reaped &dead) {
  dead.conn.reset();
  if (mp_process_join(dead.proc.get(), 2000) == MP_ETIMEDOUT) {
    mp_process_kill(dead.proc.get());
    mp_process_join(dead.proc.get(), MP_FOREVER);
  }
  dead.proc.reset();
}

// Reap, without pool.mu (it waits for the processes), and forget them.
void reap_all(std::vector<Reaped> &reap) {
  for (auto &dead : reap) reap_worker(dead);
  reap.clear();
}

bool work_left(const mp_pool &pool) {
  if (!pool.pending.empty()) return true;
  for (const auto &w : pool.workers)
    if (!w->in_flight.empty()) return true;
  return false;
}

// The worker died or exited (pool.mu held): the chunk it was running fails,
// the ones queued behind it go back to the pending queue, a new worker
// takes its place. Returns the process and connection to reap.
void lose_worker(mp_pool &pool, Worker *w, std::vector<Reaped> &reap) {
  if (!w->in_flight.empty()) {
    ChunkPtr died = take_front(w->in_flight);
    if (died->attempts < pool.retries.load()) {  // mp_pool_set_retries: run it again
      ++died->attempts;
      bump(pool, MP_POOL_RUNNING, -int64_t(died->msg.args.size()));
      died->msg.id = ++pool.next_chunk;  // as below: never claimed under its old id
      pool.pending.push_front(std::move(died));
    } else {
      cancel_chunk(pool, std::move(died), MP_EWORKERDIED, "the worker process died running this task");
    }
    while (!w->in_flight.empty()) {  // never started: run them elsewhere
      ChunkPtr c = std::move(w->in_flight.back());
      w->in_flight.pop_back();
      // A new id: a message of the old worker, if it still reads, must
      // never claim the chunk on the board its replacement reuses.
      c->msg.id = ++pool.next_chunk;
      pool.pending.push_front(std::move(c));
    }
  }
  reap.push_back({std::move(w->proc), std::move(w->conn)});
  w->alive = false;
  bump(pool, MP_POOL_WORKERS_REPLACED);
  bool needed = !pool.terminated && (!pool.closed || work_left(pool));
  if (needed && start_worker_process(pool, w) != MP_OK) {
    // Cannot replace it now: fail what is queued rather than hang
    // (retiring an imap's chunk queues its next one: fail that too).
    while (!pool.pending.empty())
      cancel_chunk(pool, take_front(pool.pending), MP_EWORKERDIED,
                   "no worker process could be started");
  }
}

// Only the dispatcher reads from, sends to and replaces a worker's
// connection (w->conn, w->alive), so it does its socket calls without
// pool.mu: a submitter or a result waiter never waits for a system call
// of the dispatcher's, and the lock is held for bookkeeping only.

// Read and decode one result message from a worker (pool.mu not needed;
// the worker is sending, so this returns promptly). False if the worker is
// gone or sent something that is not a result.
bool read_result(Worker *w, ResultMsg &res) {
  void *msg = nullptr;
  size_t len = 0;
  if (mp_conn_recv(&msg, &len, w->conn.get(), MP_FOREVER) != MP_OK) return false;
  int r = decode_result(res, std::string_view(static_cast<char *>(msg), len));
  mp_free(msg);
  return r == MP_OK;
}

// Fill the items of the chunk a result answers (pool.mu held). False if it
// does not answer the worker's oldest chunk: the worker is confused.
bool apply_result(mp_pool &pool, Worker *w, ResultMsg &res) {
  if (w->in_flight.empty() || w->in_flight.front()->msg.id != res.id) return false;
  ChunkPtr c = take_front(w->in_flight);
  front_answered(w, c.get());
  bump(pool, MP_POOL_RUNNING, -int64_t(c->msg.args.size()));
  answer_chunk(pool, std::move(c), res.items, MP_EWORKERDIED,
               "the worker returned no result for this item");
  return true;
}

// One result message read without the lock, to apply with it. ok false:
// the connection failed or the message was not a result.
struct Inbound {
  Worker *w;
  const mp_conn_t *conn;  // the worker's connection it came on
  bool ok;
  ResultMsg res;
};

// Read every result the workers that poll() found ready have sent, and
// what their connections already read ahead (poll() cannot see that).
void read_ready(const std::vector<pollfd> &fds, const std::vector<Worker *> &polled,
                std::vector<Inbound> &in) {
  for (size_t i = 1; i < fds.size(); ++i) {
    Worker *w = polled[i];
    if (!fds[i].revents || !w->alive) continue;
    bool ok;
    do {
      in.push_back(Inbound{w, w->conn.get(), false, {}});
      ok = in.back().ok = read_result(w, in.back().res);
    } while (ok && mp_conn_poll(w->conn.get(), 0) == 1);
  }
}

// Apply what read_ready read (pool.mu held); a worker whose connection
// failed or that answered wrongly is lost (its replacement's connection is
// a new one: what else came on the old one is dropped). The lost
// workers' processes and connections go to reap.
void apply_inbound(mp_pool &pool, std::vector<Inbound> &in, std::vector<Reaped> &reap) {
  for (Inbound &m : in) {
    if (!m.w->alive || m.w->conn.get() != m.conn) continue;
    if (!m.ok || !apply_result(pool, m.w, m.res)) lose_worker(pool, m.w, reap);
  }
}

// The chunks assign() gave one worker, encoded for one write.
struct Outbound {
  Worker *w;
  std::vector<std::string> wires;
};

// Encode the assigned chunks per worker (pool.mu held: a chunk may be
// cancelled once it is released).
std::vector<Outbound> encode_sends(mp_pool &pool,
                                   const std::vector<std::pair<Worker *, Chunk *>> &sends) {
  std::vector<Outbound> out;
  for (const auto &owned : pool.workers) {
    Outbound o{owned.get(), {}};
    for (const auto &[to, c] : sends) {
      if (to != o.w) continue;
      o.wires.push_back(encode_chunk(c->msg));
      bump(pool, MP_POOL_RUNNING, int64_t(c->msg.args.size()));
    }
    if (!o.wires.empty() && o.w->alive) out.push_back(std::move(o));
  }
  return out;
}

// Send each worker its chunks in one write (pool.mu not held). Returns the
// workers whose connection failed.
std::vector<Worker *> deliver(std::vector<Outbound> &out) {
  std::vector<Worker *> failed;
  for (Outbound &o : out) {
    std::lock_guard<std::mutex> send_lock(o.w->conn->send_mu);
    if (conn_send_many(*o.w->conn, o.wires, Deadline(MP_FOREVER)) != MP_OK) failed.push_back(o.w);
  }
  return failed;
}

// Workers whose connection failed on a send (pool.mu held). Results they
// sent before dying may still wait in the socket: take them first, so
// that the chunk one died on is the oldest unanswered one (failing any
// other would be wrong, and the killer would run again elsewhere). Their
// chunks go back to the pending queue.
void lose_senders(mp_pool &pool, const std::vector<Worker *> &failed, std::vector<Reaped> &reap) {
  for (Worker *w : failed) {
    ResultMsg res;
    while (read_result(w, res) && apply_result(pool, w, res)) res = ResultMsg();
    lose_worker(pool, w, reap);
  }
}

// Ask idle workers to exit once the pool is closed and drained.
bool shut_down_if_done(mp_pool &pool, std::vector<Reaped> &reap) {
  if (!(pool.terminated || (pool.closed && !work_left(pool)))) return false;
  for (const auto &w : pool.workers) {
    if (!w->alive) continue;
    std::lock_guard<std::mutex> send_lock(w->conn->send_mu);
    conn_send_many(*w->conn, {std::string()}, Deadline(MP_FOREVER));  // stop
    reap.push_back({std::move(w->proc), std::move(w->conn)});
    w->alive = false;
  }
  return true;
}

// Watch the workers: hand out chunks, read results, replace the dead,
// and shut the workers down once the pool is closed and drained. Each turn
// does its bookkeeping under pool.mu and its socket calls without it.
void dispatcher_loop(mp_pool *pool) {
  std::vector<pollfd> fds;
  std::vector<Worker *> polled;
  for (;;) {
    std::vector<Outbound> out;
    std::vector<Reaped> reap;
    bool done = false;
    int wake_ms;  // a reclaim that is not due yet
    {
      std::lock_guard<std::mutex> lock(pool->mu);
      std::vector<std::pair<Worker *, Chunk *>> sends;
      assign(*pool, sends, &wake_ms);
      out = encode_sends(*pool, sends);
      if (out.empty()) {
        done = shut_down_if_done(*pool, reap);
        pool->dispatcher_sleeping = true;
        fds.assign(1, pollfd{pool->wake_fd.get(), POLLIN, 0});
        polled.assign(1, nullptr);
        for (const auto &w : pool->workers) {
          if (!w->alive) continue;
          fds.push_back(pollfd{mp_conn_fileno(w->conn.get()), POLLIN, 0});
          polled.push_back(w.get());
        }
      }
    }
    if (!out.empty()) {
      // Then look again: a lost worker's chunks are pending once more,
      // and nothing else would wake the dispatcher for them.
      std::vector<Worker *> failed = deliver(out);
      if (failed.empty()) continue;
      std::lock_guard<std::mutex> lock(pool->mu);
      lose_senders(*pool, failed, reap);
    }
    reap_all(reap);
    if (done) break;
    if (!out.empty()) continue;
    if (poll(fds.data(), fds.size(), wake_ms) < 0 && errno != EINTR) break;
    if (fds[0].revents) {
      uint64_t n;
      ssize_t rd = read(pool->wake_fd.get(), &n, sizeof n);
      (void)rd;
    }
    std::vector<Inbound> in;
    read_ready(fds, polled, in);
    {
      std::lock_guard<std::mutex> lock(pool->mu);
      pool->dispatcher_sleeping = false;
      apply_inbound(*pool, in, reap);
    }
    reap_all(reap);
  }
  std::lock_guard<std::mutex> lock(pool->mu);
  pool->workers_done = true;
  pool->cv.notify_all();
}

// ---- worker threads (thread pools) ------------------------------------------

// The initializer runs once per worker thread; a failure is ignored (a
// thread cannot be replaced the way a process is).
void run_thread_initializer(const mp_pool &pool) {
  TaskFn init;
  if (pool.opts.init_task.empty() || !lookup_task(pool.opts.init_task, &init)) return;
  std::string ignored;
  run_task(&ignored, init, pool.opts.init_arg);
}

// The last worker thread out marks the pool's work as done (for join).
void thread_worker_exit(mp_pool *pool) {
  if (--pool->threads_running == 0) {
    pool->workers_done = true;
    pool->cv.notify_all();
  }
}

void thread_worker_loop(mp_pool *pool) {
  run_thread_initializer(*pool);
  std::unique_lock<std::mutex> lock(pool->mu);
  for (;;) {
    pool->cv.wait(lock, [&] {
      return pool->terminated || pool->closed || !pool->pending.empty();
    });
    if (pool->terminated || pool->pending.empty()) return thread_worker_exit(pool);
    ChunkPtr c = take_front(pool->pending);
    bump(*pool, MP_POOL_RUNNING, int64_t(c->msg.args.size()));
    lock.unlock();
    TaskFn task;
    bool found = lookup_task(c->msg.task, &task);
    std::vector<ItemResult> items;
    for (size_t i = 0; i < c->msg.args.size(); ++i) {
      ItemResult item{c->msg.indexes[i], MP_ETASKFAILED, "no such task"};
      if (found) item.status = run_task(&item.data, task, c->msg.args[i]);
      items.push_back(std::move(item));
    }
    lock.lock();
    bump(*pool, MP_POOL_RUNNING, -int64_t(c->msg.args.size()));
    answer_chunk(*pool, std::move(c), items, MP_ETASKFAILED, "no result");  // every item has one
    pool->cv.notify_all();  // imap feeding may have queued more work
  }
}

}  // namespace

size_t pool_width(const mp_pool &pool) {
  if (pool.remote) return remote_width(*pool.remote);
  return pool.workers.size();
}

void pool_cancel_pending(mp_pool &pool, mp_result *r, int status, const char *why) {
  std::lock_guard<std::mutex> lock(pool.mu);
  std::deque<ChunkPtr> keep;
  while (!pool.pending.empty()) {
    ChunkPtr c = take_front(pool.pending);
    if (c->result == r) cancel_chunk(pool, std::move(c), status, why);
    else keep.push_back(std::move(c));
  }
  pool.pending.swap(keep);
}

size_t auto_chunksize(const mp_pool &pool, size_t n) {
  size_t per = pool_width(pool) * 4;
  size_t size = n / per + (n % per ? 1 : 0);
  return size ? size : 1;
}

namespace {

// The pool could not start (a worker process, or what they share): no
// dispatcher runs yet to say when the workers are done, so say it now.
// The caller frees the pool, which closes the started workers'
// connections: they see EOF and exit.
int start_failed(mp_pool &pool, int rc) {
  std::lock_guard<std::mutex> lock(pool.mu);
  pool.workers_done = true;
  return rc;
}

}  // namespace

int pool_start(mp_pool &pool) {
  // A spawned worker re-executes the program: without mp_main() it would
  // run the program's main() instead of the worker loop.
  if (!pool.opts.method_chosen && !pool.opts.threads) pool.opts.method = use_default_start_method();
  if (pool.opts.threads && !pool.opts.named.empty())
    return start_failed(pool, fail(MP_EINVAL, "pool: a thread pool's initializer runs in this "
                                              "process: give it the objects themselves, not "
                                              "handles passed by name"));
  if (!pool.opts.threads && pool.opts.method != MP_START_FORK && !spawn_image_known())
    return start_failed(pool, fail(MP_ESTATE, "pool: MP_START_SPAWN and MP_START_FORKSERVER "
                                              "workers need mp_main() at the top of main()"));
  pool.link->pool = &pool;
  unsigned n = pool.opts.workers ? pool.opts.workers : unsigned(mp_cpu_count());
  if (!pool.opts.threads) {
    pool.wake_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!pool.wake_fd.valid()) return start_failed(pool, fail_errno("pool: eventfd", "", errno));
    int r = pool.board.create("multiproc-pool-board", n * kBoardSlots * sizeof(uint64_t));
    if (r != MP_OK) return start_failed(pool, r);
  }
  for (unsigned i = 0; i < n; ++i) {
    pool.workers.push_back(std::make_unique<Worker>());
    Worker *w = pool.workers.back().get();
    w->index = i;
    if (!pool.opts.threads) w->board = static_cast<uint64_t *>(pool.board.data()) + i * kBoardSlots;
    if (pool.opts.threads) {
      w->alive = true;
      ++pool.threads_running;
      w->thread = std::thread(thread_worker_loop, &pool);
      bump(pool, MP_POOL_WORKERS_STARTED);
    } else {
      int r = start_worker_process(pool, w);
      if (r != MP_OK) return start_failed(pool, r);
    }
  }
  if (!pool.opts.threads) pool.dispatcher = std::thread(dispatcher_loop, &pool);
  pool.callbacks = std::thread(callback_loop, &pool);
  return MP_OK;
}

int pool_submit(mp_pool &pool, mp_result *result, const std::string &task,
                std::vector<std::string> args, size_t chunksize, mp_iter_feed *feed) {
  TaskFn fn;
  // An opened pool's tasks are the owner's: the owner answers an unknown one.
  if (!pool.remote && !lookup_task(task, &fn))
    return fail(MP_ENOENT, "pool: no task registered as '%s'", task.c_str());
  std::lock_guard<std::mutex> lock(pool.mu);
  if (pool.closed || pool.terminated) return fail(MP_ESTATE, "pool: the pool is closed");
  if (pool.remote && remote_broken(*pool.remote))
    return fail(MP_EPIPE, "pool: the pool's owner is gone");
  if (!chunksize) chunksize = auto_chunksize(pool, args.size());
  for (size_t start = 0; start < args.size(); start += chunksize) {
    auto c = std::make_unique<Chunk>();
    c->msg.id = ++pool.next_chunk;
    c->msg.task = task;
    for (size_t i = start; i < args.size() && i < start + chunksize; ++i) {
      c->msg.indexes.push_back(i);
      c->msg.args.push_back(std::move(args[i]));
    }
    c->result = result;
    result->refs.fetch_add(1);
    c->feed = feed;
    if (feed && feed->in_pool >= feed->window) {
      feed->waiting.push_back(std::move(c));
    } else {
      if (feed) ++feed->in_pool;
      pool.pending.push_back(std::move(c));
    }
  }
  bump(pool, MP_POOL_SUBMITTED, int64_t(result->items.size()));
  if (args.empty() && has_callback(result)) queue_callback(pool, result);
  if (feed) feed->window = kImapChunksPerWorker * pool_width(pool);
  pool.cv.notify_all();
  wake_dispatcher(pool);
  return MP_OK;
}

void pool_close(mp_pool &pool) {
  std::lock_guard<std::mutex> lock(pool.mu);
  pool.closed = true;
  pool.cv.notify_all();
  wake_dispatcher(pool);
  if (pool.serving) serve_wake(*pool.serving);
}

void pool_terminate(mp_pool &pool) {
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    if (pool.terminated) return;
    pool.terminated = true;  // from now on no chunk enters the pool
    const char *why = "the pool was terminated";
    // Chunks still waiting outside the pool (imap) never entered it: no
    // feed accounting for them.
    for (const auto &f : pool.feeds) {
      for (const ChunkPtr &c : f->waiting) fail_chunk(pool, c.get(), MP_ECANCELED, why);
      f->waiting.clear();
    }
    // Retiring may free an orphaned feed, never adds work.
    while (!pool.pending.empty())
      cancel_chunk(pool, take_front(pool.pending), MP_ECANCELED, why);
    for (const auto &w : pool.workers) {
      while (!w->in_flight.empty())
        cancel_chunk(pool, take_front(w->in_flight), MP_ECANCELED, why);
      // Under the lock: the dispatcher frees processes it reaps.
      if (w->proc) mp_process_signal(w->proc.get(), SIGTERM, 0);
    }
    if (pool.remote) remote_cancel_all(pool, MP_ECANCELED, why);
    pool.cv.notify_all();
    wake_dispatcher(pool);
    if (pool.serving) serve_wake(*pool.serving);
  }
}

int pool_join(mp_pool &pool, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(pool.mu);
  if (!pool.closed && !pool.terminated)
    return fail(MP_ESTATE, "pool_join: close or terminate the pool first");
  Deadline deadline(timeout_ms);
  // Another thread may be joining already: wait until it is done (a
  // thread is joined once, and the caller may free the pool next).
  if (!wait_cv(pool.cv, lock, deadline,
               [&] { return pool.joined ? pool.join_done : pool.workers_done; }))
    return fail(MP_ETIMEDOUT, "pool_join: work is still running");
  if (pool.joined) return MP_OK;
  pool.joined = true;
  lock.unlock();
  if (pool.dispatcher.joinable()) pool.dispatcher.join();
  for (const auto &w : pool.workers)
    if (w->thread.joinable()) w->thread.join();
  lock.lock();  // every result is in: let the callback thread drain and stop
  pool.cb_stop = true;
  pool.cb_cv.notify_all();
  lock.unlock();
  if (pool.callbacks.joinable()) pool.callbacks.join();
  if (pool.serving) serve_join(*pool.serving);  // it has every outcome now
  lock.lock();
  pool.join_done = true;
  pool.cv.notify_all();
  return MP_OK;
}

mp_iter_feed *feed_open(mp_pool &pool) {
  std::lock_guard<std::mutex> lock(pool.mu);
  pool.feeds.push_back(std::make_unique<mp_iter_feed>());
  mp_iter_feed *feed = pool.feeds.back().get();
  feed->window = kImapChunksPerWorker * pool_width(pool);
  return feed;
}

void feed_release(mp_pool &pool, mp_iter_feed *feed) {
  std::lock_guard<std::mutex> lock(pool.mu);
  for (const ChunkPtr &c : feed->waiting) {  // nobody will read them: never run them
    std::lock_guard<std::mutex> lock(c->result->mu);
    for (uint64_t index : c->msg.indexes) c->result->items[index].status = MP_ECANCELED;
  }
  feed->waiting.clear();
  feed->orphaned = true;
  if (feed->in_pool == 0) forget_feed(pool, feed);
}

void iter_detach(mp_iter &iter) {
  std::lock_guard<std::mutex> link_lock(iter.link->mu);
  if (mp_pool *pool = iter.link->pool) feed_release(*pool, iter.feed);
}

}  // namespace mp

mp_pool::~mp_pool() {
  {  // iterators freed from now on leave the pool alone
    std::lock_guard<std::mutex> lock(link->mu);
    link->pool = nullptr;
  }
  mp::pool_terminate(*this);
  mp::pool_join(*this, MP_FOREVER);
  magic = 0;
  for (mp_result *r : cb_queue) {  // none after a join; never leave a waiter hanging
    mp::mark_done(r);
    mp::result_unref(r);
  }
  // The members go next: workers (their connections and processes),
  // feeds, the claim board, wake_fd.
}
