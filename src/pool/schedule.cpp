// Scheduling of chunks on worker processes: see pool/schedule.hpp.
#include "pool/schedule.hpp"

#include <algorithm>

#include "core/deadline.hpp"

namespace mp {
namespace {

// Chunks a worker process may hold at once: the running one and up to 7
// queued behind it, so a worker never idles waiting for the dispatcher.
// The ones it has not started go to an idle worker if it is slow
// (reclaim_unstarted).
constexpr size_t kInFlightPerWorker = 8;
static_assert(kInFlightPerWorker < kBoardSlots, "every chunk a worker holds needs a slot");
constexpr uint32_t kAllSlots = (1u << kBoardSlots) - 1;
// How long a worker's current chunk runs before the chunks queued behind
// it may go to an idle worker: short tasks are done sooner where they are
// than taken back and sent again.
constexpr int64_t kReclaimAfterMs = 2;

bool has_room(const mp_pool &pool, const Worker *w) {
  if (!w->alive || w->in_flight.size() >= kInFlightPerWorker) return false;
  return !pool.opts.max_tasks || w->tasks_sent < pool.opts.max_tasks;
}

// Give a chunk to a worker (pool.mu held): offered in a free board slot.
Chunk *hand_to(Worker *w, ChunkPtr owned) {
  Chunk *c = owned.get();
  uint32_t slot = uint32_t(__builtin_ctz(w->free_slots));
  w->free_slots &= ~(1u << slot);
  c->msg.slot = slot;
  board_offer(&w->board[slot], c->msg.id);
  if (w->in_flight.empty()) w->front_since_ms = now_ms();
  w->tasks_sent += c->msg.args.size();
  w->in_flight.push_back(std::move(owned));
  return c;
}

// The chunk left the worker's in_flight (pool.mu held).
void release_slot(Worker *w, const Chunk *c) { w->free_slots |= 1u << c->msg.slot; }

// Hand pending chunks to the least busy workers with room (pool.mu held).
void assign_pending(mp_pool &pool, std::vector<std::pair<Worker *, Chunk *>> &sends) {
  while (!pool.terminated && !pool.pending.empty()) {
    Worker *best = nullptr;
    for (const auto &w : pool.workers)
      if (has_room(pool, w.get()) && (!best || w->in_flight.size() < best->in_flight.size()))
        best = w.get();
    if (!best) return;
    sends.push_back({best, hand_to(best, take_front(pool.pending))});
  }
}

// A worker sits idle while nothing is pending: take back half of the
// chunks that wait, unstarted, behind the running one on the busiest
// worker whose current chunk has run kReclaimAfterMs (it may be stuck in
// a long task), and queue them again (pool.mu held). Returns whether any
// came back; *wake_ms: when to look again (-1: only on the next event).
bool reclaim_unstarted(mp_pool &pool, int *wake_ms) {
  *wake_ms = -1;
  if (pool.terminated || !pool.pending.empty()) return false;
  bool idle = false;
  for (const auto &w : pool.workers)
    idle = idle || (w->in_flight.empty() && has_room(pool, w.get()));
  if (!idle) return false;
  Worker *victim = nullptr;
  int64_t now = now_ms();
  for (const auto &w : pool.workers) {
    if (!w->alive || w->in_flight.size() < 2) continue;
    int64_t ripe_in = w->front_since_ms + kReclaimAfterMs - now;
    if (ripe_in > 0) {
      *wake_ms = *wake_ms < 0 ? int(ripe_in) : std::min(*wake_ms, int(ripe_in));
    } else if (!victim || w->in_flight.size() > victim->in_flight.size()) {
      victim = w.get();
    }
  }
  if (!victim) return false;
  bool any = false;
  for (size_t n = victim->in_flight.size() / 2; n > 0; --n) {  // half of size-1, rounded up
    Chunk *c = victim->in_flight.back().get();
    // Claimed: it runs now, and so did the ones before it (claims go in order).
    if (!board_revoke(&victim->board[c->msg.slot], c->msg.id)) break;
    ChunkPtr owned = std::move(victim->in_flight.back());
    victim->in_flight.pop_back();
    release_slot(victim, c);
    victim->tasks_sent -= c->msg.args.size();
    bump(pool, MP_POOL_RUNNING, -int64_t(c->msg.args.size()));
    c->msg.id = ++pool.next_chunk;  // the message the victim will skip keeps the old id
    pool.pending.push_front(std::move(owned));
    any = true;
  }
  return any;
}

}  // namespace

void board_reset(Worker *w) {
  for (uint32_t i = 0; i < kBoardSlots; ++i) w->board[i] = 0;
  w->free_slots = kAllSlots;
}

void front_answered(Worker *w, const Chunk *c) {
  release_slot(w, c);
  if (!w->in_flight.empty()) w->front_since_ms = now_ms();
}

// Reclaim only when nothing was handed out, so that no chunk in sends is
// taken back before it is sent.
void assign(mp_pool &pool, std::vector<std::pair<Worker *, Chunk *>> &sends, int *wake_ms) {
  *wake_ms = -1;
  assign_pending(pool, sends);
  if (sends.empty() && reclaim_unstarted(pool, wake_ms)) assign_pending(pool, sends);
}

}  // namespace mp
