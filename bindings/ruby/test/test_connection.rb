# frozen_string_literal: true

require_relative "helper"

Multiproc.register(:echo) do |conn|
  conn.each { |m| conn.send_bytes(m.upcase) }
end
Multiproc.main

class TestConnection < Minitest::Test
  include MultiprocTestHelper

  def test_duplex_bytes_and_objects
    Multiproc.pipe do |a, b|
      a.send_bytes("ping")
      assert_equal "ping", b.recv_bytes
      b.send_object([1, :two])
      assert_equal [1, :two], a.recv_object
      refute a.poll
      b.send_bytes("x")
      assert a.poll(1)
    end
  end

  def test_one_way_pipe
    r, w = Multiproc.pipe(duplex: false)
    assert r.readable?
    refute r.writable?
    w.send_bytes("one way")
    assert_equal "one way", r.recv_bytes
    [r, w].each(&:close)
  end

  def test_a_blocked_send_sends_the_bytes_it_was_given
    r, w = Multiproc.pipe(duplex: false)
    message = "m" * (1 << 20) # more than the pipe holds: the send waits
    sender = Thread.new { w.send_bytes(message, timeout: 30) }
    sleep 0.05 until sender.status == "sleep" || !sender.alive?
    message.replace("changed while the send waited") # frees the old bytes
    filler = Array.new(4) { "z" * (1 << 20) } # and reuses the memory
    assert_equal "m" * (1 << 20), r.recv_bytes(timeout: 30)
    sender.join(30)
    assert_equal 4, filler.size
    [r, w].each(&:close)
  end

  def test_end_of_stream_and_broken_pipe
    a, b = Multiproc.pipe
    b.send_bytes("last")
    b.close
    assert b.closed?
    assert_equal ["last"], a.each.to_a
    assert_raises(Multiproc::ClosedError) { a.recv_bytes }
    assert_raises(Multiproc::BrokenPipeError) { a.send_bytes("nobody") }
    assert_raises(Multiproc::ClosedError) { b.send_bytes("closed") }
    a.close
  end

  def test_recv_timeout
    Multiproc.pipe do |a, _b|
      assert_raises(Multiproc::TimeoutError) { a.recv_bytes(timeout: 0.05) }
    end
  end

  def test_spawned_echo_child
    a, b = Multiproc.pipe
    pr = Multiproc::Process.new(target: :echo, args: [b]).start
    b.close
    a.send_bytes("hello")
    assert_equal "HELLO", a.recv_bytes(timeout: 10)
    a.close
    assert_equal 0, pr.join(10)
  end

  def test_sigkilled_peer_is_the_end_of_the_stream
    a, b = Multiproc.pipe
    pr = Multiproc::Process.new { sleep 30 }.start
    b.close
    pr.kill
    pr.join(5)
    assert_raises(Multiproc::ClosedError) { a.recv_bytes(timeout: 5) }
    a.close
  end

  def test_thread_kill_of_blocked_recv_is_prompt
    Multiproc.pipe do |a, _b|
      assert_thread_kill_prompt { a.recv_bytes }
    end
  end
end
