# frozen_string_literal: true

# start_method: :forkserver for target: children and pools: the children
# are forked by a server (this script executed once more), exit codes, a
# signal, an object passed by name, the default start method.
require_relative "helper"

# Puts "<pid> <ppid>" on "out", then exits with the code given.
Multiproc.register(:fs_pids) do |code|
  Multiproc::Queue.inherit("out").put("#{::Process.pid} #{::Process.ppid}")
  exit code
end
Multiproc.register(:fs_sleep) { sleep 60 }
Multiproc.task(:fs_ppid) { |*| ::Process.ppid }
Multiproc.main

class TestForkserver < Minitest::Test
  def test_process_on_forkserver
    q = Multiproc::Queue.new
    p = Multiproc::Process.new(target: :fs_pids, args: [7], pass: { "out" => q }, start_method: :forkserver)
    p.start
    pid, ppid = q.get(timeout: 30).split.map(&:to_i)
    assert_equal p.pid, pid
    refute_equal ::Process.pid, ppid, "forked by the server, not by this process"
    assert_equal 7, p.join(30)
    s = Multiproc::Process.new(target: :fs_sleep, daemon: true, start_method: :forkserver).start
    assert_nil s.join(0.1)
    s.kill
    assert_equal(-9, s.join(30))
  end

  def test_pool_on_forkserver
    pool = Multiproc::Pool.new(2, start_method: :forkserver)
    ppid = pool.apply(:fs_ppid)
    refute_equal ::Process.pid, ppid
    assert_operator ppid, :>, 1
    pool.close
    pool.join
  end

  def test_default_start_method_forkserver
    Multiproc.set_start_method(:forkserver, force: true)
    assert_equal :forkserver, Multiproc.get_start_method
    q = Multiproc::Queue.new
    p = Multiproc::Process.new(target: :fs_pids, args: [0], pass: { "out" => q }).start
    _pid, ppid = q.get(timeout: 30).split.map(&:to_i)
    refute_equal ::Process.pid, ppid, "the default (forkserver) was not used"
    assert_equal 0, p.join(30)
  ensure
    Multiproc.set_start_method(:spawn, force: true)
  end

  def test_start_method_option_checked
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Process.new(target: :fs_sleep, start_method: :fork) }
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Pool.new(1, start_method: :thread) }
  end
end
