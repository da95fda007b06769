#include "core/runtime.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>

#include "core/error.hpp"

namespace mp::rt {
namespace {

struct Task {
  const std::function<int(uv_loop_t *)> *fn = nullptr;
  std::function<void(uv_loop_t *)> posted;  // set for post(): run, then delete
  int result = 0;
  std::string message;  // the runtime thread's mp_last_error() on failure
  bool done = false;
};

struct Runtime {
  std::mutex mu;
  std::condition_variable done_cv;
  std::deque<Task *> queue;
  bool stopping = false;
  uv_loop_t loop;
  uv_async_t wake;
  pthread_t thread;
};

// Heap-allocated and never destroyed: a runtime a forked child inherits is
// abandoned, not torn down (its thread does not exist in the child).
Runtime *g_runtime = nullptr;
std::mutex g_start_mu;
bool g_stopped = false;  // the exit handler ran; no new runtime
void (*g_exit_hook)() = nullptr;
thread_local bool t_is_runtime_thread = false;

void run_queued(uv_async_t *handle) {
  Runtime *rt = static_cast<Runtime *>(handle->data);
  for (;;) {
    Task *task;
    {
      std::lock_guard<std::mutex> lock(rt->mu);
      if (rt->queue.empty()) {
        if (rt->stopping) uv_stop(&rt->loop);
        return;
      }
      task = rt->queue.front();
      rt->queue.pop_front();
    }
    if (!task->fn) {
      task->posted(&rt->loop);
      delete task;
      continue;
    }
    int result = (*task->fn)(&rt->loop);
    std::string message = result < 0 ? last_error_message() : "";
    {
      std::lock_guard<std::mutex> lock(rt->mu);
      task->result = result;
      task->message = std::move(message);
      task->done = true;
    }
    rt->done_cv.notify_all();
  }
}

void *thread_main(void *arg) {
  Runtime *rt = static_cast<Runtime *>(arg);
  t_is_runtime_thread = true;
  uv_run(&rt->loop, UV_RUN_DEFAULT);
  return nullptr;
}

void stop_at_exit() {
  if (g_exit_hook) g_exit_hook();
  Runtime *rt;
  {
    std::lock_guard<std::mutex> lock(g_start_mu);
    g_stopped = true;
    rt = g_runtime;
  }
  if (!rt || t_is_runtime_thread) return;
  {
    std::lock_guard<std::mutex> lock(rt->mu);
    rt->stopping = true;
  }
  uv_async_send(&rt->wake);
  pthread_join(rt->thread, nullptr);
}

// Start the thread with every signal blocked: signals belong to the host
// program's threads, and children cloned from this thread reset their mask.
int start_runtime(Runtime **out) {
  // The process's first uv_loop_init makes its epoll descriptor, then
  // libuv's signal pipe, and libuv calls abort() when the pipe fails: at
  // the descriptor limit the call that starts the runtime would kill the
  // program. Make sure three descriptors are free (two pipes' worth, for
  // margin), so that such a call fails with MP_ENOSPC instead.
  int probe[4];
  if (pipe2(probe, O_CLOEXEC) != 0) return fail_errno("runtime: pipe", "", errno);
  int r = pipe2(probe + 2, O_CLOEXEC) == 0 ? 0 : errno;
  close(probe[0]);
  close(probe[1]);
  if (r != 0) return fail_errno("runtime: pipe", "", r);
  close(probe[2]);
  close(probe[3]);
  auto *rt = new Runtime();
  r = uv_loop_init(&rt->loop);
  if (r != 0) {
    delete rt;
    return fail_errno("runtime: uv_loop_init", "", -r);  // libuv's codes are -errno
  }
  r = uv_async_init(&rt->loop, &rt->wake, run_queued);
  if (r != 0) {
    uv_loop_close(&rt->loop);
    delete rt;
    return fail_errno("runtime: uv_async_init", "", -r);
  }
  rt->wake.data = rt;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r = pthread_create(&rt->thread, nullptr, thread_main, rt);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (r != 0) {
    uv_close(reinterpret_cast<uv_handle_t *>(&rt->wake), nullptr);
    uv_run(&rt->loop, UV_RUN_NOWAIT);
    uv_loop_close(&rt->loop);
    delete rt;
    return fail_errno("runtime: pthread_create", "", r);
  }
  static bool atexit_registered = false;
  if (!atexit_registered) {
    atexit(stop_at_exit);
    atexit_registered = true;
  }
  *out = rt;
  return MP_OK;
}

int get_runtime(Runtime **out) {
  std::lock_guard<std::mutex> lock(g_start_mu);
  if (g_stopped)
    return fail(MP_ESTATE, "runtime: the process is exiting");
  if (!g_runtime) {
    int r = start_runtime(&g_runtime);
    if (r != MP_OK) return r;
  }
  *out = g_runtime;
  return MP_OK;
}

// In any forked child (ours or the host's) the runtime thread is gone.
const int g_runtime_atfork = pthread_atfork(nullptr, nullptr, forget_after_fork);

}  // namespace

int call(const std::function<int(uv_loop_t *)> &fn) {
  if (t_is_runtime_thread) return fn(&g_runtime->loop);
  Runtime *rt = nullptr;
  int r = get_runtime(&rt);
  if (r != MP_OK) return r;
  Task task;
  task.fn = &fn;
  std::unique_lock<std::mutex> lock(rt->mu);
  if (rt->stopping) return fail(MP_ESTATE, "runtime: the process is exiting");
  rt->queue.push_back(&task);
  lock.unlock();
  uv_async_send(&rt->wake);
  lock.lock();
  rt->done_cv.wait(lock, [&] { return task.done; });
  if (task.result < 0) fail(task.result, "%s", task.message.c_str());
  return task.result;
}

int post(std::function<void(uv_loop_t *)> fn) {
  if (t_is_runtime_thread) {
    fn(&g_runtime->loop);
    return MP_OK;
  }
  Runtime *rt = nullptr;
  int r = get_runtime(&rt);
  if (r != MP_OK) return r;
  auto *task = new Task();
  task->posted = std::move(fn);
  {
    std::lock_guard<std::mutex> lock(rt->mu);
    if (rt->stopping) {
      delete task;
      return fail(MP_ESTATE, "runtime: the process is exiting");
    }
    rt->queue.push_back(task);
  }
  uv_async_send(&rt->wake);
  return MP_OK;
}

void set_exit_hook(void (*hook)()) { g_exit_hook = hook; }

void forget_after_fork() {
  // The mutexes may have been held by threads that do not exist here:
  // construct fresh ones in place rather than unlocking foreign locks.
  new (&g_start_mu) std::mutex();
  static Runtime *volatile abandoned = nullptr;  // reachable, for leak checkers
  abandoned = g_runtime;
  (void)abandoned;
  g_runtime = nullptr;
  g_stopped = false;
  t_is_runtime_thread = false;
}

}  // namespace mp::rt
