// The parent's side of a command's pipes: write, read, and communicate(),
// which serves stdin, stdout and stderr at once so it never deadlocks.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"
#include "process/process.hpp"

namespace mp {
namespace {

// After the child ends, output still arriving is collected this long, so a
// grandchild holding a pipe open cannot hang communicate() (golang/go#23019).
constexpr int64_t kDrainAfterExitMs = 250;
// How often the exit is checked when there is no pidfd to poll.
constexpr int kExitCheckMs = 20;
constexpr size_t kWriteChunk = 64 * 1024;
constexpr size_t kReadChunk = 64 * 1024;

// A growable malloc() buffer handed to the caller, who frees it with mp_free.
class Buffer {
 public:
  ~Buffer() { free(data_); }
  // Read once from fd into the buffer: >0 bytes read, 0 EOF, -1 errno.
  long read_from(int fd) {
    if (!reserve(len_ + kReadChunk + 1)) {
      errno = ENOMEM;
      return -1;
    }
    long n;
    do {
      n = read(fd, data_ + len_, kReadChunk);
    } while (n < 0 && errno == EINTR);
    if (n > 0) len_ += size_t(n);
    return n;
  }
  // Hand the bytes (NUL-terminated) to the caller.
  int release(void **out, size_t *out_len) {
    if (!reserve(len_ + 1)) return fail(MP_ENOMEM, "communicate: out of memory");
    data_[len_] = '\0';
    *out = data_;
    *out_len = len_;
    data_ = nullptr;
    len_ = cap_ = 0;
    return MP_OK;
  }

 private:
  bool reserve(size_t need) {
    if (need <= cap_) return true;
    size_t cap = cap_ ? cap_ : 4096;
    while (cap < need) cap *= 2;
    char *p = static_cast<char *>(realloc(data_, cap));
    if (!p) return false;
    data_ = p;
    cap_ = cap;
    return true;
  }
  char *data_ = nullptr;
  size_t len_ = 0;
  size_t cap_ = 0;
};

// The state of one communicate() call.
struct Exchange {
  mp_process &proc;
  const char *input;
  size_t input_left;
  Buffer bufs[3];  // [1] stdout, [2] stderr
  bool open[3] = {false, false, false};
  bool child_ended = false;
  int64_t drain_until = 0;

  explicit Exchange(mp_process &p) : proc(p) {}
};

void close_stream(Exchange &x, int i) {
  x.open[i] = false;
  if (i == MP_STDIN) {
    std::lock_guard<std::mutex> lock(x.proc.stdio_mu[i]);
    x.proc.stdio[i].reset();
  }
}

int feed_stdin(Exchange &x) {
  size_t chunk = x.input_left < kWriteChunk ? x.input_left : kWriteChunk;
  long n = write_no_sigpipe(x.proc.stdio[MP_STDIN].get(), x.input, chunk);
  if (n > 0) {
    x.input += n;
    x.input_left -= size_t(n);
    if (x.input_left == 0) close_stream(x, MP_STDIN);
    return MP_OK;
  }
  if (n < 0 && errno == EAGAIN) return MP_OK;
  if (n < 0 && errno != EPIPE) return fail_errno("communicate: write", "stdin", errno);
  close_stream(x, MP_STDIN);  // the child stopped reading: not an error
  return MP_OK;
}

int drain_output(Exchange &x, int i) {
  long n = x.bufs[i].read_from(x.proc.stdio[i].get());
  if (n > 0 || (n < 0 && errno == EAGAIN)) return MP_OK;
  if (n < 0 && errno == ENOMEM) return fail(MP_ENOMEM, "communicate: out of memory");
  if (n < 0) return fail_errno("communicate: read", i == 1 ? "stdout" : "stderr", errno);
  close_stream(x, i);
  return MP_OK;
}

void note_child_ended(Exchange &x) {
  x.child_ended = true;
  x.drain_until = now_ms() + kDrainAfterExitMs;
  if (x.open[MP_STDIN]) close_stream(x, MP_STDIN);
}

// One poll() round over the open pipes and the child's pidfd.
// MP_OK to go on, MP_ECLOSED when done, MP_ETIMEDOUT, or an error.
int exchange_round(Exchange &x, const Deadline &deadline) {
  pollfd fds[5];
  int which[5];
  int n = 0;
  for (int i = 0; i < 3; ++i) {
    if (!x.open[i]) continue;
    fds[n] = {x.proc.stdio[i].get(), short(i == MP_STDIN ? POLLOUT : POLLIN), 0};
    which[n++] = i;
  }
  bool outputs_open = x.open[MP_STDOUT] || x.open[MP_STDERR];
  if (!outputs_open && !x.open[MP_STDIN]) return MP_ECLOSED;
  if (x.child_ended && !outputs_open) return MP_ECLOSED;
  int wait_ms = deadline.poll_ms();
  if (!x.child_ended && x.proc.child->pidfd() >= 0) {
    fds[n] = {x.proc.child->pidfd(), POLLIN, 0};
    which[n++] = -1;
  } else if (!x.child_ended) {
    // No pidfd (old kernel, valgrind): notice the exit by checking often.
    if (x.proc.child->ended()) {
      note_child_ended(x);
    } else if (wait_ms < 0 || wait_ms > kExitCheckMs) {
      wait_ms = kExitCheckMs;
    }
  }
  if (x.child_ended) {
    int64_t left = x.drain_until - now_ms();
    if (left <= 0) return MP_ECLOSED;
    if (wait_ms < 0 || left < wait_ms) wait_ms = int(left);
  }
  fds[n] = {deadline.cancel_fd(), POLLIN, 0};  // -1 (ignored) without a token
  which[n++] = -2;
  int r = poll(fds, nfds_t(n), wait_ms);
  if (r < 0 && errno == EINTR) return MP_OK;
  if (r < 0) return fail_errno("communicate: poll", "", errno);
  if (r == 0) return deadline.expired() ? MP_ETIMEDOUT : MP_OK;
  for (int k = 0; k < n; ++k) {
    if (!fds[k].revents) continue;
    int i = which[k];
    int rc = MP_OK;
    if (i == -2) return MP_ETIMEDOUT;  // canceled
    if (i < 0) {
      note_child_ended(x);
    } else if (i == MP_STDIN) {
      rc = (fds[k].revents & POLLOUT) ? feed_stdin(x) : (close_stream(x, i), MP_OK);
    } else {
      rc = drain_output(x, i);
    }
    if (rc != MP_OK) return rc;
  }
  return MP_OK;
}

int hand_over(Captured &cap, Exchange &x) {
  int r = MP_OK;
  if (x.proc.stdio_piped[MP_STDOUT]) r = x.bufs[MP_STDOUT].release(&cap.out, &cap.out_len);
  if (r == MP_OK && x.proc.stdio_piped[MP_STDERR])
    r = x.bufs[MP_STDERR].release(&cap.err, &cap.err_len);
  return r;
}

}  // namespace

int process_write(mp_process &proc, const void *buf, size_t len,
                  const Deadline &deadline) {
  std::lock_guard<std::mutex> lock(proc.stdio_mu[MP_STDIN]);
  if (!proc.stdio_piped[MP_STDIN])
    return fail(MP_ESTATE, "write: the child's stdin is not a pipe");
  if (!proc.stdio[MP_STDIN].valid())
    return fail(MP_ESTATE, "write: stdin was closed");
  return write_all(proc.stdio[MP_STDIN].get(), buf, len, deadline, "write stdin");
}

int process_close_stream(mp_process &proc, int stream) {
  static const char *const names[] = {"stdin", "stdout", "stderr"};
  std::lock_guard<std::mutex> lock(proc.stdio_mu[stream]);
  if (!proc.stdio_piped[stream])
    return fail(MP_ESTATE, "close: the child's %s is not a pipe", names[stream]);
  proc.stdio[stream].reset();
  return MP_OK;
}

int process_read(size_t *out_len, mp_process &proc, int stream, void *buf,
                 size_t cap, const Deadline &deadline) {
  std::lock_guard<std::mutex> lock(proc.stdio_mu[stream]);
  if (!proc.stdio_piped[stream])
    return fail(MP_ESTATE, "read: the child's %s is not a pipe",
                stream == MP_STDOUT ? "stdout" : "stderr");
  int fd = proc.stdio[stream].get();
  if (fd < 0) return fail(MP_ECLOSED, "read: the stream was closed");
  for (;;) {
    long n = read(fd, buf, cap);
    if (n > 0) {
      *out_len = size_t(n);
      return MP_OK;
    }
    if (n == 0) return fail(MP_ECLOSED, "read: end of stream");
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return fail_errno("read", "", errno);
    int r = wait_ready(fd, POLLIN, deadline);
    if (r == MP_ETIMEDOUT) return fail(MP_ETIMEDOUT, "read: timed out");
    if (r != MP_OK) return r;
  }
}

int process_communicate(Captured &cap, mp_process &proc, const void *input,
                        size_t input_len, const Deadline &deadline) {
  if (input_len > 0 && !proc.stdio_piped[MP_STDIN])
    return fail(MP_ESTATE, "communicate: input given but stdin is not a pipe");
  // One communicate at a time; stdout/stderr readers are kept out.
  std::lock_guard<std::mutex> out_lock(proc.stdio_mu[MP_STDOUT]);
  std::lock_guard<std::mutex> err_lock(proc.stdio_mu[MP_STDERR]);
  Exchange x(proc);
  x.input = static_cast<const char *>(input);
  x.input_left = input_len;
  {
    std::lock_guard<std::mutex> lock(proc.stdio_mu[MP_STDIN]);
    x.open[MP_STDIN] = proc.stdio[MP_STDIN].valid();
  }
  if (x.open[MP_STDIN] && input_len == 0) close_stream(x, MP_STDIN);
  for (int i = 1; i < 3; ++i) x.open[i] = proc.stdio[i].valid();
  int r;
  do {
    r = exchange_round(x, deadline);
  } while (r == MP_OK);
  if (r == MP_ECLOSED) {
    r = proc.child->wait(deadline);
    if (r == MP_ETIMEDOUT) fail(MP_ETIMEDOUT, "communicate: the child still runs");
  } else if (r == MP_ETIMEDOUT) {
    fail(MP_ETIMEDOUT, "communicate: timed out; the child still runs");
  }
  if (x.open[MP_STDIN]) close_stream(x, MP_STDIN);
  if (r != MP_OK && r != MP_ETIMEDOUT) return r;
  int h = hand_over(cap, x);
  return h != MP_OK ? h : r;
}

}  // namespace mp
