# Ruby Sidekiq peer of the remote_pool_apply_async row (issue 16), run by
# tests/bench/run: tasks/s end to end of a no-op job on Debian's
# ruby-sidekiq (6.4.1; its CLI `sidekiq -r FILE -c N -q QUEUE`), against the
# redis-server of MP_BENCH_REDIS=HOST:PORT (database 1, flushed at the start).
#
#   ruby sidekiq_bench.rb [--time SEC] [--batches N] [--iters N] [--quick] remote_pool_apply_async
#
# Two sidekiq processes (the row's 2 worker processes) with CONCURRENCY
# threads each, requiring sidekiq_job.rb (NoopJob, logging at WARN), on
# queue "bench", started before and stopped (by pid) after the batches.
# Concurrency 10, Sidekiq's default: on the 2-vCPU machine of issue 16
# (7 Dec 2026, 7 interleaved rounds of 3 x 4000 jobs each, load 5-9) the
# medians were 1: 5.2 k, 2: 6.3 k, 5: 8.0 k, 10: 8.4 k, 25: 8.6 k jobs/s,
# 5 to 25 within the noise of each other (MP_BENCH_SIDEKIQ_CONCURRENCY
# overrides it).
#
# A batch pushes N jobs with Sidekiq::Client.push_bulk in slices of 1000
# (Sidekiq's bulk path: one pipelined LPUSH per slice) and is timed until
# the queue's list is empty. Sidekiq keeps no per-job result, so that is
# how completion is observed without making the job do anything: it
# counts the at most 2 x CONCURRENCY jobs still running at that moment as
# done (no-ops, in the peer's favour) and costs the job no round trip (a
# job incrementing a counter would add one to Sidekiq's one BRPOP per job).
# Checked after the batches: every pushed job was processed and none
# failed (Sidekiq's stat:processed / stat:failed, which each sidekiq
# process flushes when it exits). Method as bench_common.h: a warm-up
# sizes N so that --batches batches take --time (at least 1000 jobs, 100
# with --quick); the figure is the median of the batch rates:
#
#   BENCH remote_pool_apply_async sidekiq <tasks/s> tasks/s
require 'fileutils'
require 'optparse'
require 'tmpdir'
require 'redis'
require 'sidekiq'

NAME = 'remote_pool_apply_async'.freeze
PROCESSES = 2
CONCURRENCY = Integer(ENV.fetch('MP_BENCH_SIDEKIQ_CONCURRENCY', '10'))
QUEUE = 'bench'.freeze
DB = 1
SLICE = 1000       # jobs per push_bulk
POLL_S = 0.001     # how often the client looks at the queue
START_S = 60       # the processes must be up within this
BATCH_S = 120      # a batch that takes longer is a hang
JOB_FILE = File.join(__dir__, 'sidekiq_job.rb')

def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

def options
  o = { time: 1.5, batches: 5, iters: 0, quick: false }
  OptionParser.new do |p|
    p.on('--time SEC', Float) { |v| o[:time] = v }
    p.on('--batches N', Integer) { |v| o[:batches] = v }
    p.on('--iters N', Integer) { |v| o[:iters] = v }
    p.on('--quick') { o[:quick] = true }
  end.parse!(ARGV)
  abort "sidekiq_bench.rb: the only workload is #{NAME}" if ARGV.any? { |n| n != NAME }
  o
end

# The sidekiq processes (their output into a log in the temporary
# directory, shown when they fail to start).
def start_processes(redis, url, log)
  env = { 'REDIS_URL' => url }
  pids = Array.new(PROCESSES) do
    Process.spawn(env, 'sidekiq', '-r', JOB_FILE, '-c', CONCURRENCY.to_s, '-q', QUEUE,
                  '-e', 'production', '-t', '5', %i[out err] => [log, 'a'])
  end
  deadline = now + START_S
  until redis.scard('processes') >= PROCESSES
    if now > deadline || pids.any? { |pid| Process.waitpid(pid, Process::WNOHANG) }
      stop_processes(pids)
      abort "sidekiq_bench.rb: the sidekiq processes did not start: #{File.read(log)[-2000..] || File.read(log)}"
    end
    sleep 0.05
  end
  pids
end

def stop_processes(pids)
  pids.each do |pid|
    Process.kill('TERM', pid)
  rescue Errno::ESRCH
    nil
  end
  pids.each do |pid|
    Process.waitpid(pid)
  rescue Errno::ECHILD
    nil
  end
end

# Push n no-op jobs, wait until the queue is empty: seconds.
def batch(redis, n)
  args = Array.new([n, SLICE].min) { [] }
  t0 = now
  left = n
  while left.positive?
    k = [left, SLICE].min
    Sidekiq::Client.push_bulk('class' => 'NoopJob', 'queue' => QUEUE, 'args' => args.first(k))
    left -= k
  end
  until redis.llen("queue:#{QUEUE}").zero?
    abort "sidekiq_bench.rb: the queue did not empty within #{BATCH_S} s" if now - t0 > BATCH_S
    sleep POLL_S
  end
  now - t0
end

def measure(redis, o)
  first = o[:quick] ? 50 : 200
  per = batch(redis, first) / first # warm-up
  n = o[:iters].positive? ? o[:iters] : [o[:quick] ? 100 : 1000, (o[:time] / (o[:batches] * per)).to_i].max
  rates = Array.new(o[:batches]) { n / batch(redis, n) }.sort
  [first + n * o[:batches], n, rates]
end

def main
  o = options
  addr = ENV['MP_BENCH_REDIS'] or abort 'sidekiq_bench.rb: set MP_BENCH_REDIS to HOST:PORT (tests/bench/run does)'
  url = "redis://#{addr}/#{DB}"
  Sidekiq.logger.level = Logger::WARN
  Redis.silence_deprecations = true # redis-rb 4.8 warns about Sidekiq 6.4's sadd
  Sidekiq.configure_client { |c| c.redis = { url: url, size: 1 } }
  redis = Redis.new(url: url)
  redis.flushdb
  puts "# #{NAME} sidekiq: Sidekiq #{Sidekiq::VERSION}, #{PROCESSES} processes x concurrency " \
       "#{CONCURRENCY}, redis #{addr} db #{DB}; done = the queue empty (the <= " \
       "#{PROCESSES * CONCURRENCY} jobs running then counted as done)"
  dir = Dir.mktmpdir('mp-bench-sidekiq-')
  run(redis, url, o, File.join(dir, 'sidekiq.log'))
ensure
  FileUtils.rm_rf(dir) if dir
end

def run(redis, url, o, log)
  pids = start_processes(redis, url, log)
  begin
    pushed, n, rates = measure(redis, o)
    # The jobs still running when the last batch ended finish before the
    # processes stop (a job fetched while a process stops is put back).
    sleep 0.5
  ensure
    stop_processes(pids)
  end
  processed = redis.get('stat:processed').to_i
  failed = redis.get('stat:failed').to_i
  if processed != pushed || failed != 0
    abort "sidekiq_bench.rb: #{pushed} jobs pushed, Sidekiq processed #{processed}, #{failed} failed; queue #{redis.llen("queue:#{QUEUE}")} retry #{redis.zcard("retry")} dead #{redis.zcard("dead")}"
  end
  puts "# #{NAME} sidekiq: median of #{o[:batches]} batch means, #{n} jobs/batch, batch means " \
       "#{format('%.2f', rates.first)}..#{format('%.2f', rates.last)} tasks/s"
  puts "BENCH #{NAME} sidekiq #{format('%.2f', rates[rates.size / 2])} tasks/s"
  $stdout.flush
end

main
