// The runtime: one long-lived libuv loop thread per process, started on
// first use. It spawns children (so PR_SET_PDEATHSIG is tied to a thread
// that lives as long as the process; under the portable backend uv_spawn
// runs here and libuv reaps its children here) and watches them exit so
// that every child is reaped. Hot paths never go through it.
#pragma once

#include <functional>

#include <uv.h>

namespace mp::rt {

// Run fn on the runtime thread, starting the thread if needed, and wait for
// its result. fn must not block for long: it holds up every other task.
// Returns fn's result, or MP_ESTATE/MP_ESYS if the runtime cannot run
// (the process is exiting, or the thread could not start).
int call(const std::function<int(uv_loop_t *)> &fn);

// Queue fn to run on the runtime thread without waiting for it.
// Returns MP_OK, or MP_ESTATE/MP_ESYS when the runtime cannot run (then fn
// never runs).
int post(std::function<void(uv_loop_t *)> fn);

// A function the exit handler runs before it stops the runtime thread
// (set once, by the process module, to join or terminate children).
void set_exit_hook(void (*hook)());

// In a child created by fork(): forget the parent's runtime (its thread does
// not exist here) so that the next call() starts a fresh one.
void forget_after_fork();

}  // namespace mp::rt
