// Stopping a child as a list of steps: signal, then wait with a deadline.
#pragma once

#include <cstdint>
#include <vector>

#include "multiproc.h"
#include "process/child.hpp"

struct mp_stop {
  static constexpr size_t kMaxSteps = 8;
  struct Step {
    mp_stop_action_t action;
    int64_t timeout_ms;
  };
  std::vector<Step> steps;
};

namespace mp {

// The default: SIGTERM, wait 3 s, SIGKILL, wait forever.
const mp_stop &default_stop();

// MP_OK once the child ended, MP_ETIMEDOUT after the last step.
int run_stop(Child &child, const mp_stop &stop, bool group);

}  // namespace mp
