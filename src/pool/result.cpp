// A pool's results: items filled as chunks finish, the callback thread,
// retiring and canceling chunks, the result's reference count (see
// pool/pool.cpp for the locking order: pool.mu, then result.mu).
#include <algorithm>

#include "pool/pool.hpp"

namespace mp {
namespace {

// ---- results --------------------------------------------------------------

// The result whose callback this thread is running.
thread_local const mp_result *t_calling_back = nullptr;

}  // namespace

bool has_callback(const mp_result *r) { return r->on_success || r->on_error; }

// Record one item's outcome (result.mu held). Returns whether it filled a
// pending item; finishing the last one marks the result complete.
static bool fill_locked(mp_pool &pool, mp_result *r, ItemResult &item) {
  if (item.index >= r->items.size() || r->complete) return false;
  ItemResult &slot = r->items[item.index];
  if (slot.status != kItemPending) return false;  // already filled
  bump(pool, item.status == MP_OK ? MP_POOL_DONE : MP_POOL_FAILED);
  if (item.status != MP_OK && r->status == MP_OK) r->status = item.status;
  size_t index = item.index;
  slot = std::move(item);
  if (r->per_item) r->finished.push_back(index);
  r->complete = --r->remaining == 0;
  if (r->complete && !has_callback(r)) r->done = true;
  return true;
}

// Items were filled (result.mu released; pool.mu held): a finished result
// goes to the callback thread, or wakes its waiters when it has none.
static void filled(mp_pool &pool, mp_result *r, bool finished) {
  if (finished && has_callback(r)) return queue_callback(pool, r);
  if (finished || r->per_item) r->cv.notify_all();
}

// Record one item's outcome (pool.mu held). Finishing the last item queues
// the callback, or wakes the waiters when there is none.
void fill_item(mp_pool &pool, mp_result *r, ItemResult item) {
  bool any, finished;
  {
    std::lock_guard<std::mutex> lock(r->mu);
    bool was_complete = r->complete;
    any = fill_locked(pool, r, item);
    finished = !was_complete && r->complete;
  }
  if (any) filled(pool, r, finished);
}

// Fill chunk c's items from items (those that are c's), then those still
// pending with missing and why, under the result's lock once; then run or
// wake what waits for the result.
static void fill_chunk(mp_pool &pool, const Chunk &c, std::vector<ItemResult> &items,
                       int missing, const char *why) {
  mp_result *r = c.result;
  const auto &idx = c.msg.indexes;
  bool any = false, finished;
  {
    std::lock_guard<std::mutex> lock(r->mu);
    bool was_complete = r->complete;
    size_t next = 0;  // answers come in the chunk's order: look there first
    for (auto &item : items) {
      bool ours = next < idx.size() && idx[next] == item.index;
      if (ours) ++next;
      else ours = std::binary_search(idx.begin(), idx.end(), item.index);
      if (ours) any |= fill_locked(pool, r, item);
    }
    for (uint64_t index : idx) {
      if (index >= r->items.size() || r->items[index].status != kItemPending) continue;
      ItemResult lost{index, missing, why};
      any |= fill_locked(pool, r, lost);
    }
    finished = !was_complete && r->complete;
  }
  if (any) filled(pool, r, finished);
}

void answer_chunk(mp_pool &pool, ChunkPtr c, std::vector<ItemResult> &items, int missing,
                  const char *why) {
  fill_chunk(pool, *c, items, missing, why);
  retire_chunk(pool, std::move(c));
}

void fail_chunk(mp_pool &pool, const Chunk *c, int status, const char *why) {
  std::vector<ItemResult> none;
  fill_chunk(pool, *c, none, status, why);
}

void forget_feed(mp_pool &pool, mp_iter_feed *f) {
  pool.feeds.erase(std::find_if(pool.feeds.begin(), pool.feeds.end(),
                                [&](const auto &owned) { return owned.get() == f; }));
}

// One of the feed's chunks left the pool (pool.mu held): let the next
// waiting one in, unless the pool is terminated (a terminated pool must
// not take new work: its dispatcher would send it after the cancellation).
static void feed_retired(mp_pool &pool, mp_iter_feed *f) {
  --f->in_pool;
  while (!pool.terminated && f->in_pool < f->window && !f->waiting.empty()) {
    pool.pending.push_back(take_front(f->waiting));
    ++f->in_pool;
  }
  if (f->orphaned && f->in_pool == 0) forget_feed(pool, f);
}

// A chunk is finished (pool.mu held): feed its imap, and free it.
void retire_chunk(mp_pool &pool, ChunkPtr c) {
  if (c->feed) feed_retired(pool, c->feed);
}

// Fail a chunk no worker will answer, and retire it (pool.mu held).
void cancel_chunk(mp_pool &pool, ChunkPtr c, int status, const char *why) {
  fail_chunk(pool, c.get(), status, why);
  retire_chunk(pool, std::move(c));
}

void callback_loop(mp_pool *pool) {
  std::unique_lock<std::mutex> lock(pool->mu);
  for (;;) {
    pool->cb_cv.wait(lock, [&] { return pool->cb_stop || !pool->cb_queue.empty(); });
    if (pool->cb_queue.empty()) return;
    mp_result *r = pool->cb_queue.front();
    pool->cb_queue.pop_front();
    lock.unlock();
    mp_result_cb cb = r->status == MP_OK ? r->on_success : r->on_error;
    t_calling_back = r;
    if (cb) cb(r, r->payload);
    t_calling_back = nullptr;
    mark_done(r);  // only now: whoever waited sees what the callback did
    result_unref(r);
    lock.lock();
  }
}

bool result_done(const mp_result *r) {
  return r->done.load(std::memory_order_acquire) || t_calling_back == r;
}

void mark_done(mp_result *r) {
  {
    std::lock_guard<std::mutex> lock(r->mu);
    r->done = true;
  }
  r->cv.notify_all();
}

void queue_callback(mp_pool &pool, mp_result *r) {
  r->refs.fetch_add(1);
  pool.cb_queue.push_back(r);
  pool.cb_cv.notify_one();
}

void result_unref(mp_result *r) {
  if (r->refs.fetch_sub(1) != 1) return;
  r->magic = 0;  // the handle stays valid until its last reference goes
  delete r;
}

Chunk::~Chunk() {
  if (result) result_unref(result);
}

mp_result *result_new(size_t n, mp_result_cb ok, mp_result_cb err, void *payload) {
  auto *r = new mp_result();
  r->items.resize(n);
  for (size_t i = 0; i < n; ++i) r->items[i] = ItemResult{i, kItemPending, {}};
  r->remaining = n;
  r->complete = n == 0;
  r->done = n == 0 && !ok && !err;  // else once the callback ran
  r->on_success = ok;
  r->on_error = err;
  r->payload = payload;
  return r;
}

}  // namespace mp
