#include "core/wait_any.hpp"

#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/futex.hpp"

namespace mp {
namespace {

// poll() the descriptors and the cancel token's eventfd (and an extra
// descriptor, -1 for none). MP_OK when one of them is readable or on EINTR,
// MP_ETIMEDOUT.
int poll_fds(WaitSet &set, int extra_fd, const Deadline &deadline) {
  std::vector<pollfd> p(set.fds);
  p.push_back(pollfd{deadline.cancel_fd(), POLLIN, 0});
  p.push_back(pollfd{extra_fd, POLLIN, 0});
  int r = poll(p.data(), p.size(), deadline.poll_ms());
  if (r == 0) return MP_ETIMEDOUT;
  if (r < 0 && errno != EINTR) return fail_errno("wait: poll", "", errno);
  for (size_t i = 0; i < set.fds.size(); ++i) set.fds[i].revents = r > 0 ? p[i].revents : 0;
  return MP_OK;
}

// The futex half of a mixed wait: sleeps on the words and on `stop`, and
// once a word has moved (or stop is set) signals `wake` and ends.
struct FutexHelper {
  std::atomic<uint32_t> stop{0};
  Fd wake;

  void run(const WaitSet &set) {
    std::vector<std::atomic<uint32_t> *> words(set.words);
    std::vector<uint32_t> values(set.values);
    words.push_back(&stop);
    values.push_back(0);
    const Deadline forever = Deadline::uncancelable(MP_FOREVER);
    while (!moved(words, values))
      futex_wait_any(words.data(), values.data(), words.size(), forever);
    uint64_t one = 1;
    ssize_t n = write(wake.get(), &one, sizeof one);
    (void)n;  // cannot fail on a fresh eventfd
  }

  static bool moved(const std::vector<std::atomic<uint32_t> *> &words,
                    const std::vector<uint32_t> &values) {
    for (size_t i = 0; i < words.size(); ++i)
      if (words[i]->load(std::memory_order_seq_cst) != values[i]) return true;
    return false;
  }
};

// Start the helper on a thread with every signal blocked, so that the host's
// signal handlers never run on it.
std::thread start_quiet_thread(FutexHelper &helper, const WaitSet &set) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  struct Restore {
    sigset_t *old;
    ~Restore() { pthread_sigmask(SIG_SETMASK, old, nullptr); }
  } restore{&old};
  return std::thread([&helper, &set] { helper.run(set); });
}

int mixed_wait(WaitSet &set, const Deadline &deadline) {
  FutexHelper helper;
  int efd = eventfd(0, EFD_CLOEXEC);
  if (efd < 0) return fail_errno("wait: eventfd", "", errno);
  helper.wake.reset(efd);
  std::thread t = start_quiet_thread(helper, set);  // throws: MP_ESYS at the edge
  int r = poll_fds(set, efd, deadline);
  helper.stop.store(1, std::memory_order_seq_cst);
  futex_wake(&helper.stop, 1);
  t.join();
  return r;
}

}  // namespace

int wait_any(WaitSet &set, const Deadline &deadline) {
  if (set.words.empty()) return poll_fds(set, -1, deadline);
  if (set.fds.empty())
    return futex_wait_any(set.words.data(), set.values.data(), set.words.size(), deadline);
  return mixed_wait(set, deadline);
}

}  // namespace mp
