// Public entry points: mp_register_task, mp_pool_*, mp_result_*, mp_iter_*.

#include <cstdlib>
#include <cstring>
#include <memory>

#include "capi/guard.hpp"
#include "capi/pass_api.hpp"
#include "broker/remote_pool.hpp"
#include "core/address.hpp"
#include "core/cond_var.hpp"
#include "core/deadline.hpp"
#include "pool/pool.hpp"
#include "process/process.hpp"
#include "redis/pool.hpp"

using namespace mp;

namespace {

bool valid(const mp_pool *p) { return p && p->magic == mp_pool::kMagic; }
bool valid(const mp_result *r) { return r && r->magic == mp_result::kMagic; }
bool valid(const mp_iter *i) { return i && i->magic == mp_iter::kMagic; }

#define MP_CHECK_VALID(h, op) MP_CHECK_ARG(valid(h), op, "NULL or not a live handle")

std::vector<std::string> copy_args(const void *const *args, const size_t *lens, size_t n) {
  std::vector<std::string> v(n);
  for (size_t i = 0; i < n; ++i)
    if (lens[i]) v[i].assign(static_cast<const char *>(args[i]), lens[i]);
  return v;
}

int check_args(const void *const *args, const size_t *lens, size_t n, const char *op) {
  if (n == 0) return MP_OK;
  MP_CHECK_ARG(args && lens, op, "args or arg_lens is NULL");
  for (size_t i = 0; i < n; ++i) MP_CHECK_ARG(args[i] || lens[i] == 0, op, "an argument is NULL");
  return MP_OK;
}

// A result usually arrives within a few microseconds of the previous one:
// look a little while before sleeping, which saves two thread switches.
constexpr int kResultSpins = 1000;

int wait_done(mp_result *r, int64_t timeout_ms) {
  for (int i = 0; i < kResultSpins && timeout_ms != 0; ++i) {
    if (result_done(r)) break;
    __builtin_ia32_pause();
  }
  Deadline deadline(timeout_ms);
  std::unique_lock<std::mutex> lock(r->mu);
  if (!wait_cv(r->cv, lock, deadline, [&] { return result_done(r); }))
    return report_cancel("result", fail(MP_ETIMEDOUT, "result: not ready"));
  return MP_OK;
}

// An item's status as the caller sees it; data is the result or message.
int item_status(const ItemResult &item) {
  if (item.status == MP_OK) return MP_OK;
  return fail(item.status, "task failed: %.400s", item.data.c_str());
}

int submit_one(mp_result **out, mp_pool *pool, const char *task, const void *arg, size_t len,
               mp_result_cb ok, mp_result_cb err, void *payload) {
  mp_result *r = result_new(1, ok, err, payload);
  std::vector<std::string> args(1, std::string(static_cast<const char *>(arg ? arg : ""), len));
  int rc = pool_submit(*pool, r, task, std::move(args), 1, nullptr);
  if (rc != MP_OK) {
    result_unref(r);
    return rc;
  }
  *out = r;
  return MP_OK;
}

}  // namespace

extern "C" {

MP_EXTERN int mp_register_task(const char *name, mp_task_fn fn, void *payload) {
  const char *op = "mp_register_task";
  MP_CHECK_ARG(name && *name && strlen(name) <= 255, op, "name is NULL, empty or too long");
  MP_CHECK_ARG(fn, op, "fn is NULL");
  return guarded(op, [&]() -> int { return register_task(name, fn, payload); });
}

MP_EXTERN int mp_pool_opts_new(mp_pool_opts_t **out) {
  MP_CHECK_ARG(out, "mp_pool_opts_new", "out is NULL");
  *out = nullptr;
  return guarded("mp_pool_opts_new", [&]() -> int {
    *out = new mp_pool_opts();
    return MP_OK;
  });
}

MP_EXTERN void mp_pool_opts_free(mp_pool_opts_t *opts) { delete opts; }

MP_EXTERN int mp_pool_opts_set_workers(mp_pool_opts_t *opts, unsigned workers) {
  MP_CHECK_ARG(opts && workers >= 1 && workers <= 1024, "mp_pool_opts_set_workers",
               "opts is NULL or workers is not 1-1024");
  opts->workers = workers;
  return MP_OK;
}

MP_EXTERN int mp_pool_opts_set_start_method(mp_pool_opts_t *opts, mp_start_method_t method_arg) {
  int method = enum_value(method_arg);
  MP_CHECK_ARG(opts && valid_start_method(method),
               "mp_pool_opts_set_start_method", "opts is NULL or unknown start method");
  opts->method = mp_start_method_t(method);
  opts->method_chosen = true;
  return MP_OK;
}

MP_EXTERN int mp_pool_opts_set_max_tasks_per_worker(mp_pool_opts_t *opts, unsigned n) {
  MP_CHECK_ARG(opts, "mp_pool_opts_set_max_tasks_per_worker", "opts is NULL");
  opts->max_tasks = n;
  return MP_OK;
}

MP_EXTERN int mp_pool_opts_set_initializer(mp_pool_opts_t *opts, const char *task,
                                           const void *arg, size_t arg_len) {
  const char *op = "mp_pool_opts_set_initializer";
  MP_CHECK_ARG(opts && task && *task, op, "opts or task is NULL or empty");
  MP_CHECK_ARG(arg || arg_len == 0, op, "arg is NULL");
  return guarded(op, [&]() -> int {
    opts->init_task = task;
    opts->init_arg.assign(static_cast<const char *>(arg ? arg : ""), arg_len);
    return MP_OK;
  });
}

MP_EXTERN int mp_pool_opts_set_threads(mp_pool_opts_t *opts, int enabled) {
  MP_CHECK_ARG(opts && (enabled == 0 || enabled == 1), "mp_pool_opts_set_threads",
               "opts is NULL or enabled is not 0/1");
  opts->threads = enabled == 1;
  return MP_OK;
}

// ---- handles the workers' initializer opens by name (mp_*_inherit()) ----

namespace {

int opts_pass(mp_pool_opts_t *opts, const char *name, const char *kind, int fd, const char *op) {
  MP_CHECK_ARG(opts, op, "opts is NULL");
  if (fd < 0) return fd;  // the handle's check failed and said why
  MP_CHECK_ARG(valid_handle_name(name), op, "name must be 1-64 characters of [A-Za-z0-9_]");
  for (const auto &p : opts->named)
    if (p->name == name) return fail(MP_EEXIST, "%s: '%s' is already passed", op, name);
  // A worker also gets its connection and the claim board by index.
  if (opts->named.size() + 2 >= kMaxPassFds)
    return fail(MP_ENOSPC, "%s: at most %zu handles", op, kMaxPassFds - 2);
  return guarded(op, [&]() -> int {
    Fd copy;
    int r = dup_cloexec(copy, fd, 3, op);
    if (r != MP_OK) return r;
    opts->named.push_back(std::make_shared<const NamedPass>(NamedPass{name, kind, std::move(copy)}));
    return MP_OK;
  });
}

}  // namespace

MP_EXTERN int mp_pool_opts_pass_queue(mp_pool_opts_t *opts, const char *name, mp_queue_t *queue) {
  const char *op = "mp_pool_opts_pass_queue";
  return opts_pass(opts, name, "queue", passed_queue_fd(queue, op), op);
}

MP_EXTERN int mp_pool_opts_pass_conn(mp_pool_opts_t *opts, const char *name, mp_conn_t *conn) {
  const char *op = "mp_pool_opts_pass_conn";
  return opts_pass(opts, name, "conn", passed_conn_fd(conn, op), op);
}

MP_EXTERN int mp_pool_opts_pass_fd(mp_pool_opts_t *opts, const char *name, int fd) {
  const char *op = "mp_pool_opts_pass_fd";
  MP_CHECK_ARG(fd >= 0, op, "fd is negative");
  return opts_pass(opts, name, "fd", fd, op);
}

MP_EXTERN int mp_pool_new(mp_pool_t **out, const mp_pool_opts_t *opts) {
  const char *op = "mp_pool_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  return guarded(op, [&]() -> int {
    std::unique_ptr<mp_pool> pool(new mp_pool());
    if (opts) pool->opts = *opts;
    int r = pool_start(*pool);
    if (r != MP_OK) {
      std::string why = mp_last_error();  // tearing down may overwrite it
      pool.reset();
      return fail(r, "%s", why.c_str());
    }
    *out = pool.release();
    return MP_OK;
  });
}

MP_EXTERN int mp_pool_apply(void **out, size_t *out_len, mp_pool_t *pool, const char *task,
                            const void *arg, size_t arg_len) {
  const char *op = "mp_pool_apply";
  MP_CHECK_ARG(out && out_len, op, "out or out_len is NULL");
  *out = nullptr;
  *out_len = 0;
  MP_CHECK_VALID(pool, op);
  MP_CHECK_ARG(task, op, "task is NULL");
  MP_CHECK_ARG(arg || arg_len == 0, op, "arg is NULL");
  return guarded(op, [&]() -> int {
    mp_result *r = nullptr;
    int rc = submit_one(&r, pool, task, arg, arg_len, nullptr, nullptr, nullptr);
    if (rc != MP_OK) return rc;
    rc = wait_done(r, MP_FOREVER);  // only a cancel token ends it early
    if (rc != MP_OK) {
      mp_result_free(r);  // the task still runs; its result is dropped
      return rc;
    }
    const ItemResult &item = r->items[0];
    char *p = static_cast<char *>(malloc(item.data.size() + 1));
    if (p) {
      memcpy(p, item.data.data(), item.data.size());
      p[item.data.size()] = '\0';
      *out = p;
      *out_len = item.data.size();
    }
    rc = p ? item_status(item) : fail(MP_ENOMEM, "%s: out of memory", op);
    mp_result_free(r);
    return rc;
  });
}

MP_EXTERN int mp_pool_apply_async(mp_result_t **out, mp_pool_t *pool, const char *task,
                                  const void *arg, size_t arg_len, mp_result_cb on_success,
                                  mp_result_cb on_error, void *payload) {
  const char *op = "mp_pool_apply_async";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_VALID(pool, op);
  MP_CHECK_ARG(task, op, "task is NULL");
  MP_CHECK_ARG(arg || arg_len == 0, op, "arg is NULL");
  return guarded(op, [&]() -> int {
    return submit_one(out, pool, task, arg, arg_len, on_success, on_error, payload);
  });
}

MP_EXTERN int mp_pool_map_async(mp_result_t **out, mp_pool_t *pool, const char *task,
                                const void *const *args, const size_t *arg_lens, size_t n,
                                size_t chunksize, mp_result_cb on_success,
                                mp_result_cb on_error, void *payload) {
  const char *op = "mp_pool_map_async";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_VALID(pool, op);
  MP_CHECK_ARG(task, op, "task is NULL");
  int rc = check_args(args, arg_lens, n, op);
  if (rc != MP_OK) return rc;
  return guarded(op, [&]() -> int {
    mp_result *r = result_new(n, on_success, on_error, payload);
    int s = pool_submit(*pool, r, task, copy_args(args, arg_lens, n), chunksize, nullptr);
    if (s != MP_OK) {
      result_unref(r);
      return s;
    }
    *out = r;
    return MP_OK;
  });
}

MP_EXTERN int mp_pool_map(mp_result_t **out, mp_pool_t *pool, const char *task,
                          const void *const *args, const size_t *arg_lens, size_t n,
                          size_t chunksize) {
  int rc = mp_pool_map_async(out, pool, task, args, arg_lens, n, chunksize, nullptr, nullptr,
                             nullptr);
  if (rc != MP_OK) return rc;
  rc = wait_done(*out, MP_FOREVER);  // only a cancel token ends it early
  if (rc != MP_OK) return rc;
  const void *data;
  size_t len;
  return mp_result_get(&data, &len, *out, 0);
}

MP_EXTERN int mp_pool_imap(mp_iter_t **out, mp_pool_t *pool, const char *task,
                           const void *const *args, const size_t *arg_lens, size_t n,
                           size_t chunksize, int flags) {
  const char *op = "mp_pool_imap";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_VALID(pool, op);
  MP_CHECK_ARG(task, op, "task is NULL");
  MP_CHECK_ARG(flags == 0 || flags == MP_IMAP_UNORDERED, op, "unknown flags");
  int rc = check_args(args, arg_lens, n, op);
  if (rc != MP_OK) return rc;
  return guarded(op, [&]() -> int {
    mp_iter_feed *feed = feed_open(*pool);
    mp_result *r = result_new(n, nullptr, nullptr, nullptr);
    r->per_item = true;
    int s = pool_submit(*pool, r, task, copy_args(args, arg_lens, n), chunksize ? chunksize : 1,
                        feed);
    if (s != MP_OK) {
      feed_release(*pool, feed);  // nothing was queued
      result_unref(r);
      return s;
    }
    auto *it = new mp_iter();
    it->link = pool->link;
    it->result = r;
    it->feed = feed;
    it->ordered = flags == 0;
    *out = it;
    return MP_OK;
  });
}

}  // extern "C"

namespace {

// The next result: its item's status, or kIterEnd after the last one.
constexpr int kIterEnd = 1;
int iter_next(size_t *index, const void **data, size_t *len, mp_iter_t *iter,
              int64_t timeout_ms, const char *op) {
  MP_CHECK_ARG(index && data && len, op, "an out parameter is NULL");
  *data = nullptr;
  *len = 0;
  MP_CHECK_VALID(iter, op);
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  mp_result *r = iter->result;
  Deadline deadline(timeout_ms);
  std::unique_lock<std::mutex> lock(r->mu);
  if (iter->handed == r->items.size()) return kIterEnd;
  auto ready = [&] {
    if (iter->ordered) return r->items[iter->next].status != kItemPending;
    return !r->finished.empty();
  };
  if (!wait_cv(r->cv, lock, deadline, ready))
    return report_cancel(op, fail(MP_ETIMEDOUT, "%s: timed out", op));
  size_t i;
  if (iter->ordered) {
    i = iter->next++;
  } else {
    i = r->finished.front();
    r->finished.pop_front();
  }
  ++iter->handed;
  const ItemResult &item = r->items[i];
  *index = i;
  *data = item.data.c_str();
  *len = item.data.size();
  return item_status(item);
}

}  // namespace

extern "C" {

MP_EXTERN int mp_pool_iter_next(size_t *index, const void **data, size_t *len,
                                mp_pool_iter_t *iter, int64_t timeout_ms) {
  int rc = iter_next(index, data, len, iter, timeout_ms, "mp_pool_iter_next");
  if (rc == kIterEnd) return 0;
  return rc == MP_OK ? 1 : rc;
}

MP_EXTERN int mp_iter_next(size_t *index, const void **data, size_t *len, mp_iter_t *iter,
                           int64_t timeout_ms) {
  const char *op = "mp_iter_next";
  int rc = iter_next(index, data, len, iter, timeout_ms, op);
  return rc == kIterEnd ? fail(MP_ECLOSED, "%s: no more results", op) : rc;
}

MP_EXTERN void mp_pool_iter_free(mp_pool_iter_t *iter) { mp_iter_free(iter); }

MP_EXTERN void mp_iter_free(mp_iter_t *iter) {
  if (!valid(iter)) return;
  iter->magic = 0;
  iter_detach(*iter);
  result_unref(iter->result);
  delete iter;
}

MP_EXTERN int mp_result_get(const void **data, size_t *len, mp_result_t *result,
                            int64_t timeout_ms) {
  const char *op = "mp_result_get";
  MP_CHECK_ARG(data && len, op, "data or len is NULL");
  *data = nullptr;
  *len = 0;
  MP_CHECK_VALID(result, op);
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  int rc = wait_done(result, timeout_ms);
  if (rc != MP_OK) return rc;
  // The first item (apply_async), or for a map the first failed item.
  const ItemResult *pick = result->items.empty() ? nullptr : &result->items[0];
  for (const auto &item : result->items)
    if (item.status != MP_OK) {
      pick = &item;
      break;
    }
  if (!pick) return MP_OK;
  *data = pick->data.c_str();
  *len = pick->data.size();
  return item_status(*pick);
}

MP_EXTERN int mp_result_wait(mp_result_t *result, int64_t timeout_ms) {
  MP_CHECK_VALID(result, "mp_result_wait");
  MP_CHECK_ARG(timeout_valid(timeout_ms), "mp_result_wait", "timeout must be MP_FOREVER or >= 0");
  return wait_done(result, timeout_ms);
}

MP_EXTERN int mp_result_ready(mp_result_t *result) {
  MP_CHECK_VALID(result, "mp_result_ready");
  std::lock_guard<std::mutex> lock(result->mu);
  return result_done(result) ? 1 : 0;
}

MP_EXTERN int mp_result_successful(mp_result_t *result) {
  MP_CHECK_VALID(result, "mp_result_successful");
  std::lock_guard<std::mutex> lock(result->mu);
  if (!result_done(result)) return fail(MP_ESTATE, "mp_result_successful: not ready");
  return result->status == MP_OK ? 1 : 0;
}

MP_EXTERN int mp_result_count(mp_result_t *result) {
  MP_CHECK_VALID(result, "mp_result_count");
  return int(result->items.size());
}

MP_EXTERN int mp_result_item(const void **data, size_t *len, mp_result_t *result, size_t i) {
  const char *op = "mp_result_item";
  MP_CHECK_ARG(data && len, op, "data or len is NULL");
  *data = nullptr;
  *len = 0;
  MP_CHECK_VALID(result, op);
  std::lock_guard<std::mutex> lock(result->mu);
  if (!result_done(result)) return fail(MP_ESTATE, "%s: not ready", op);
  MP_CHECK_ARG(i < result->items.size(), op, "index out of range");
  const ItemResult &item = result->items[i];
  *data = item.data.c_str();
  *len = item.data.size();
  return item_status(item);
}

MP_EXTERN void mp_result_free(mp_result_t *result) {
  // The pool may still hold references (a running task, a pending
  // callback): the handle stays valid for them until the last one goes.
  if (!valid(result)) return;
  result_unref(result);
}

MP_EXTERN int mp_pool_close(mp_pool_t *pool) {
  MP_CHECK_VALID(pool, "mp_pool_close");
  pool_close(*pool);
  return MP_OK;
}

MP_EXTERN int mp_pool_join(mp_pool_t *pool, int64_t timeout_ms) {
  MP_CHECK_VALID(pool, "mp_pool_join");
  MP_CHECK_ARG(timeout_valid(timeout_ms), "mp_pool_join", "timeout must be MP_FOREVER or >= 0");
  return guarded("mp_pool_join", [&]() -> int { return pool_join(*pool, timeout_ms); });
}

MP_EXTERN int mp_pool_terminate(mp_pool_t *pool) {
  MP_CHECK_VALID(pool, "mp_pool_terminate");
  return guarded("mp_pool_terminate", [&]() -> int {
    pool_terminate(*pool);  // allocates the canceled items' messages
    return pool_join(*pool, MP_FOREVER);
  });
}

MP_EXTERN int mp_pool_serve(mp_pool_t *pool, const char *address, int64_t timeout_ms) {
  static const char op[] = "mp_pool_serve";
  MP_CHECK_VALID(pool, op);
  MP_CHECK_ARG(!pool->remote, op, "an opened pool has no workers to serve with");
  MP_CHECK_ARG(address, op, "address is NULL");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int {
    Address a;
    int r = parse_address(a, address, NameRule::kRequired, op);
    if (r == MP_OK) r = require_scheme(a, int(Scheme::kRedis), op);
    if (r != MP_OK) return r;
    return redis_pool_serve(*pool, a, Deadline(timeout_ms), op);
  });
}

MP_EXTERN int mp_pool_set_retries(mp_pool_t *pool, unsigned retries) {
  static const char op[] = "mp_pool_set_retries";
  MP_CHECK_VALID(pool, op);
  MP_CHECK_ARG(retries <= 1000, op, "retries above 1000");
  if (pool->remote && !pool->remote->redis)
    return fail(MP_ENOTSUP, "%s: a pool opened through a broker runs its tasks as its owner "
                "decides; set the retries on the owner's pool", op);
  pool->retries.store(retries);
  return MP_OK;
}

MP_EXTERN int64_t mp_pool_stat(mp_pool_t *pool, mp_pool_stat_t what_arg) {
  int what = enum_value(what_arg);
  MP_CHECK_VALID(pool, "mp_pool_stat");
  MP_CHECK_ARG(what >= MP_POOL_SUBMITTED && what <= MP_POOL_WORKERS_REPLACED, "mp_pool_stat",
               "unknown statistic");
  return pool->stats[what].load();
}

MP_EXTERN void mp_pool_free(mp_pool_t *pool) {
  if (!valid(pool)) return;
  // Terminating allocates (the canceled items' messages): here, guarded,
  // rather than in the destructor, where nothing may throw.
  guarded("mp_pool_free", [&]() -> int {
    pool_terminate(*pool);
    return MP_OK;
  });
  delete pool;
}

}  // extern "C"
