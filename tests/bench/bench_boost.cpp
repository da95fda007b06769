/*
 * The Boost peer of the queue workloads of bench_ipc.c:
 * boost::interprocess::message_queue, the same process layout, messages,
 * checks and measurement (bench_common.h).
 *
 *   bench_boost [--time SEC] [--batches N] [--iters N] [--quick] [--list] NAME...
 *
 * Prints `BENCH <name> boost <value> <unit>` per workload:
 *   queue_64B_1to1  message_queue(max_num_msg 1024, max_msg_size 64),
 *                   1 producer -> 1 consumer process, send / receive
 *   queue_64B_2to2  the same, 2 producers -> 2 consumers
 *   queue_64B_4to4, queue_64B_8to8
 *                   the same, 4 / 8 producers -> as many consumers
 *   queue_64B_1to1_loaded
 *                   queue_64B_1to1 while 2 CPU-bound busy processes run
 *   queue_1MiB      message_queue(8, 1 MiB), 1 -> 1
 *   queue_idle_rss_1, _8, _64
 *                   KiB: VmRSS growth of a forked child that creates 1 / 8
 *                   / 64 message_queue(1024, 64) (the 64 B rows' queue)
 * A batch creates the queue (a named shared-memory object, removed after
 * the batch), forks the children (they open it by name), and times from the
 * first send to the end of the last receive.
 */
#include <unistd.h>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"

namespace bip = boost::interprocess;

namespace {

const char *const kImpls[] = {"boost"};

struct BoostRun {
  qcfg_t cfg;
  size_t capacity;  // max_num_msg
  std::string name; // of the shared-memory object
  int idx;          // producer number, set per child
};

int producer(void *arg) {
  BoostRun *run = static_cast<BoostRun *>(arg);
  try {
    bip::message_queue mq(bip::open_only, run->name.c_str());
    size_t size = run->cfg.msg_size;
    std::vector<unsigned char> buf(size);
    q_fill(buf.data(), size, run->idx);
    long n = q_share(&run->cfg, run->idx);
    ctl_wait_go();
    ctl_first_put();
    for (long i = 0; i <= n; ++i) {  // n data messages, then the pill
      q_stamp(buf.data(), size, i < n ? uint64_t(i) : Q_PILL);
      mq.send(buf.data(), size, 0);
      ctl_put_progress(i);
    }
  } catch (const std::exception &e) {
    return ctl_fail("boost producer: %s", e.what());
  }
  return 0;
}

int consumer(void *arg) {
  BoostRun *run = static_cast<BoostRun *>(arg);
  try {
    bip::message_queue mq(bip::open_only, run->name.c_str());
    size_t size = run->cfg.msg_size, len = 0;
    unsigned prio = 0;
    std::vector<unsigned char> buf(size);
    qcheck_t check;
    std::memset(&check, 0, sizeof check);
    ctl_ready();
    int k;
    do {
      mq.receive(buf.data(), size, len, prio);
      if ((k = q_check(&check, buf.data(), len, size)) < 0) return 1;
    } while (k > 0);
    ctl_last_get(check.got);
  } catch (const std::exception &e) {
    return ctl_fail("boost consumer: %s", e.what());
  }
  return 0;
}

double boost_batch(void *ctx, long n) {
  BoostRun *run = static_cast<BoostRun *>(ctx);
  run->cfg.n = n;
  ctl_reset();
  bip::message_queue::remove(run->name.c_str());
  double secs;
  try {
    bip::message_queue mq(bip::create_only, run->name.c_str(), run->capacity,
                          run->cfg.msg_size);
    pid_t pids[16];
    int np = 0;
    for (int i = 0; i < run->cfg.consumers; ++i) pids[np++] = fork_child(consumer, run);
    for (int i = 0; i < run->cfg.producers; ++i) {
      run->idx = i;  // the child's copy keeps it
      pids[np++] = fork_child(producer, run);
    }
    ctl_start(np, "boost queue");
    wait_children(pids, np, BENCH_WATCHDOG_S, "boost queue");
    secs = ctl_elapsed(&run->cfg, "boost queue");
  } catch (const std::exception &e) {
    bip::message_queue::remove(run->name.c_str());
    die("boost message_queue: %s", e.what());
  }
  bip::message_queue::remove(run->name.c_str());
  return secs;
}

// The queue of the batch in progress, removed if the program dies in it.
std::string g_queue_name;
pid_t g_parent;

void remove_queue_at_exit() {
  if (getpid() == g_parent && !g_queue_name.empty())
    bip::message_queue::remove(g_queue_name.c_str());
}

void run_queue(const char *name, int pairs, size_t msg_size, size_t capacity,
               int busy = 0) {
  bool big = msg_size >= 4096;
  BoostRun run;
  run.cfg = qcfg_t{pairs, pairs, msg_size, 0};
  run.capacity = capacity;
  run.name = "multiproc_bench_boost_" + std::to_string(getpid());
  if (g_queue_name.empty()) {
    g_parent = getpid();
    std::atexit(remove_queue_at_exit);
  }
  g_queue_name = run.name;
  run.idx = 0;
  bench_metric_t m = {big ? "MB/s" : "msg/s", 1, big ? double(msg_size) / 1e6 : 1.0,
                      big ? 16L : 20000L, 0.0, nullptr, nullptr};
  bench_impl_t impl = {"boost", boost_batch, &run};
  std::printf("# %s boost: message_queue(max_num_msg %zu, max_msg_size %zu)\n", name,
              capacity, msg_size);
  if (busy) std::printf("# %s: %d CPU-bound busy processes running\n", name, busy);
  busy_start(busy);
  bench_measure(name, &m, &impl, 1);
  busy_stop();
}

void run_64B_1to1(const char *name) { run_queue(name, 1, 64, 1024); }
void run_64B_2to2(const char *name) { run_queue(name, 2, 64, 1024); }
void run_64B_4to4(const char *name) { run_queue(name, 4, 64, 1024); }
void run_64B_8to8(const char *name) { run_queue(name, 8, 64, 1024); }
void run_64B_1to1_loaded(const char *name) { run_queue(name, 1, 64, 1024, 2); }
void run_1MiB(const char *name) { run_queue(name, 1, 1 << 20, 8); }

// A child: VmRSS growth over creating *(int *)arg queues, into t_last_ns.
int idle_queues_child(void *arg) {
  int nq = *static_cast<int *>(arg);
  std::string base = "multiproc_bench_boost_idle_" + std::to_string(getpid()) + "_";
  long before = vm_rss_kib(), after = -1;
  try {
    std::vector<std::unique_ptr<bip::message_queue>> qs;
    for (int i = 0; i < nq; ++i)
      qs.emplace_back(new bip::message_queue(bip::create_only,
                                             (base + std::to_string(i)).c_str(), 1024, 64));
    after = vm_rss_kib();
  } catch (const std::exception &e) {
    ctl_fail("boost message_queue: %s", e.what());
  }
  for (int i = 0; i < nq; ++i) bip::message_queue::remove((base + std::to_string(i)).c_str());
  if (g_ctl->failed) return 1;
  if (before < 0 || after < 0) return ctl_fail("no VmRSS in /proc/self/status");
  g_ctl->t_last_ns = after - before;
  return 0;
}

void run_idle_rss(const char *name, int nq) {
  std::vector<double> v;
  for (int b = 0; b < g_opts.batches; ++b) {
    ctl_reset();
    wait_ok(fork_child(idle_queues_child, &nq), name);
    v.push_back(double(g_ctl->t_last_ns));
  }
  double med = bench_median(v.data(), int(v.size()));
  std::printf("# %s boost: median of %zu samples, VmRSS growth %.0f..%.0f KiB for %d "
              "message_queue(1024, 64)\n", name, v.size(), v.front(), v.back(), nq);
  std::printf("BENCH %s boost %.2f KiB\n", name, med);
  std::fflush(stdout);
}

void run_idle_rss_1(const char *name) { run_idle_rss(name, 1); }
void run_idle_rss_8(const char *name) { run_idle_rss(name, 8); }
void run_idle_rss_64(const char *name) { run_idle_rss(name, 64); }

const bench_workload_t kWorkloads[] = {
    {"queue_64B_1to1", "msg/s", run_64B_1to1},
    {"queue_64B_2to2", "msg/s", run_64B_2to2},
    {"queue_64B_4to4", "msg/s", run_64B_4to4},
    {"queue_64B_8to8", "msg/s", run_64B_8to8},
    {"queue_64B_1to1_loaded", "msg/s", run_64B_1to1_loaded},
    {"queue_1MiB", "MB/s", run_1MiB},
    {"queue_idle_rss_1", "KiB", run_idle_rss_1},
    {"queue_idle_rss_8", "KiB", run_idle_rss_8},
    {"queue_idle_rss_64", "KiB", run_idle_rss_64},
};

}  // namespace

int main(int argc, char **argv) {
  char banner[64];
  std::snprintf(banner, sizeof banner, "Boost %d.%d.%d", BOOST_VERSION / 100000,
                BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
  return bench_main("bench_boost", banner, argc, argv, kWorkloads,
                    sizeof kWorkloads / sizeof kWorkloads[0], kImpls, 1);
}
