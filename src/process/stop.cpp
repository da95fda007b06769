#include "process/stop.hpp"

#include <signal.h>

#include "core/error.hpp"

namespace mp {
namespace {

int signal_of(mp_stop_action_t action) {
  switch (action) {
    case MP_STOP_TERMINATE:
      return SIGTERM;
    case MP_STOP_KILL:
      return SIGKILL;
    case MP_STOP_INTERRUPT:
      return SIGINT;
    case MP_STOP_WAIT:
      break;
  }
  return 0;
}

}  // namespace

const mp_stop &default_stop() {
  static const mp_stop *s = new mp_stop{{{MP_STOP_TERMINATE, 3000},
                                         {MP_STOP_KILL, MP_FOREVER}}};
  return *s;
}

int run_stop(Child &child, const mp_stop &stop, bool group) {
  for (const auto &step : stop.steps) {
    if (child.ended() && !group) return MP_OK;
    int sig = signal_of(step.action);
    if (sig) {
      int r = child.signal(sig, group);
      if (r != MP_OK) return r;
    }
    if (child.wait(Deadline(step.timeout_ms)) == MP_OK) return MP_OK;
  }
  if (child.ended()) return MP_OK;
  return fail(MP_ETIMEDOUT, "stop: the child still runs after the last step");
}

}  // namespace mp
