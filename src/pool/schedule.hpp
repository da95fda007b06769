// Which worker process runs which chunk (pool.mu held for all of these):
// pending chunks go to the least busy worker with room, each offered in a
// slot of that worker's claim board (pool/protocol.hpp); when a worker is
// idle while another is stuck in a long task, the chunks waiting unstarted
// behind that task are taken back and handed out again.
#pragma once

#include <utility>
#include <vector>

#include "pool/pool.hpp"

namespace mp {

// A (re)started worker: its board holds no offer, every slot is free.
void board_reset(Worker *w);

// The worker answered c, the front of its in_flight, already popped: c's
// slot is free, and the next chunk, if any, starts running now.
void front_answered(Worker *w, const Chunk *c);

// Move pending chunks into workers' in_flight and onto sends (to be sent);
// if none could be handed out, take unstarted chunks back from a stuck
// worker for an idle one first. *wake_ms: when a worker becomes stuck
// enough to look again (-1: only on the next event), for poll().
void assign(mp_pool &pool, std::vector<std::pair<Worker *, Chunk *>> &sends, int *wake_ms);

}  // namespace mp
