# frozen_string_literal: true

require_relative "helper"
Multiproc.main

# Issue 22 item 2: Pool#terminate could spin for ever. Ruby calls the
# unblock function (which fires the thread's cancel token) from its signal
# handler, on whatever thread the signal lands: a pool's dispatcher, the
# library's loop thread. The fire used to take the token's lock and wait
# for the mutex of the registered wait, which that very thread could hold:
# the handler spun on sched_yield while the main thread waited in
# mp_pool_terminate -> pool_join.
class TestSignalStorm < Minitest::Test
  include MultiprocTestHelper

  # Pools whose tasks raise, each left by the raise out of Pool.new's
  # block (so terminated), under SIGCHLD from the workers and a storm of
  # trapped SIGUSR1 sent to each of its threads; 200 raising tasks in all, or as many
  # as 40 s allow on a loaded machine.
  #
  # The sender signals every thread of the process in turn (tgkill): a
  # process-directed signal mostly lands on the main thread, asleep in its
  # wait, where the old fire did no harm; a library thread holding the
  # wait's mutex is where it hung.
  SENDER = <<~'RUBY'
    syscall = Fiddle::Function.new(Fiddle::Handle::DEFAULT["syscall"], [Fiddle::TYPE_LONG] * 4, Fiddle::TYPE_LONG)
    pid = Integer(ARGV[0])
    loop do
      tids = Dir.children("/proc/#{pid}/task").map(&:to_i)
      tids.each { |tid| syscall.call(234, pid, tid, Signal.list["USR1"]) } # tgkill
      sleep 0.001
    end
  RUBY

  STORM_SCRIPT = <<~RUBY
    STORM_SENDER = #{SENDER.dump}
    require "multiproc"
    Multiproc.task(:fail) { |x| raise ArgumentError, "bad \#{x}" }
    Multiproc.main
    trapped = 0
    trap(:USR1) { trapped += 1 }
    storm = Process.spawn(RbConfig.ruby, "-rfiddle", "-e", STORM_SENDER, Process.pid.to_s)
    now = -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }
    stop_at = now.call + 40
    failed = terminated = 0
    while failed < 200 && now.call < stop_at
      begin
        Multiproc::Pool.new(1) do |pool|
          9.times do |i|
            pool.apply_async(:fail, i).get
          rescue Multiproc::TaskFailedError
            failed += 1
          end
          pool.map(:fail, [9]) # raises out of the block: terminate
        end
      rescue Multiproc::TaskFailedError
        failed += 1
        terminated += 1
      end
    end
    Process.kill(:KILL, storm)
    Process.wait(storm)
    puts "failed \#{failed} terminated \#{terminated} trapped \#{trapped}"
  RUBY

  def test_terminate_under_a_signal_storm_never_hangs
    result = run_ruby_script(STORM_SCRIPT, timeout: 75)
    assert_equal 0, result.exitcode, result.stderr
    m = /failed (\d+) terminated (\d+) trapped (\d+)/.match(result.stdout)
    assert m, result.stdout
    failed, terminated, trapped = m.captures.map(&:to_i)
    assert_operator terminated, :>=, 2, result.stdout
    assert_equal failed, terminated * 10, result.stdout
    assert_operator trapped, :>, 0, result.stdout
    puts result.stdout if ENV["MP_STORM_VERBOSE"]
  end
end
