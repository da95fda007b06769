// Busy waiting capped by time, not by iterations: a pause costs 10 ns on
// one machine and 100+ ns on a virtual machine that traps it, and a spinner
// that was preempted mid-spin should find its time gone and go to sleep
// (the peer it waits for is then likely not running either).
#pragma once

#include <time.h>

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace mp {

// A cheap clock for spin caps, in about-nanoseconds: the TSC divided by 3
// on x86 (TSCs tick at 1-4 GHz: close enough for a cap of microseconds,
// and ~20 ns a read where clock_gettime may cost 200), the monotonic clock
// elsewhere.
inline uint64_t spin_clock_ns() {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc() / 3;
#else
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
#endif
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// Spin until done() or about budget_ns have passed; whether done() came
// true. No sched_yield: on a loaded machine it hands the rest of the slice
// to any other process, rarely to the peer we wait for; sleeping on a
// futex hands it on and is woken by the peer instead.
template <class Done>
bool spin_for(uint64_t budget_ns, Done done) {
  if (done()) return true;
  uint64_t end = spin_clock_ns() + budget_ns;
  for (;;) {
    for (int i = 0; i < 8; ++i) {
      cpu_relax();
      if (done()) return true;
    }
    if (spin_clock_ns() >= end) return false;
  }
}

}  // namespace mp
