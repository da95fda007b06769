# frozen_string_literal: true

# The pieces of the C API the Ruby binding lacked (issue 17): Connection#
# recv_bytes_into, SharedMemory#buffer (a zero-copy IO::Buffer view) and
# Command's arg0:.
require_relative "helper"

Multiproc.main

class TestRubyPieces < Minitest::Test
  include MultiprocTestHelper
  M = Multiproc

  def test_recv_bytes_into_at_offset
    M.pipe do |a, b|
      a.send_bytes("hello")
      buf = "#" * 8
      assert_equal 5, b.recv_bytes_into(buf, 2)
      assert_equal "##hello#", buf
    end
  end

  def test_recv_bytes_into_too_small_keeps_the_message
    M.pipe do |a, b|
      a.send_bytes("0123456789")
      small = "\0".b * 4
      err = assert_raises(M::NoSpaceError) { b.recv_bytes_into(small, 1) }
      assert_equal 10, err.size_needed
      big = "\0".b * 16
      assert_equal 10, b.recv_bytes_into(big)
      assert_equal "0123456789", big.byteslice(0, 10)
    end
  end

  def test_recv_bytes_into_bad_offset_receives_nothing
    M.pipe do |a, b|
      a.send_bytes("x")
      assert_raises(M::InvalidArgumentError) { b.recv_bytes_into("ab", 3) }
      assert_raises(ArgumentError) { b.recv_bytes_into("ab", -1) }
      assert_raises(FrozenError) { b.recv_bytes_into("ab".freeze) }
      assert_raises(TypeError) { b.recv_bytes_into(nil) }
      assert_equal "x", b.recv_bytes(timeout: 5)
    end
  end

  def test_recv_bytes_into_end_and_timeout
    a, b = M.pipe
    assert_raises(M::TimeoutError) { b.recv_bytes_into("\0" * 4, timeout: 0.05) }
    a.close
    assert_raises(M::ClosedError) { b.recv_bytes_into("\0" * 4, timeout: 5) }
  ensure
    b&.close
  end

  def test_recv_bytes_into_releases_the_gvl
    a, b = M.pipe
    buf = "\0".b * 8
    t = assert_threads_run_while_blocked { b.recv_bytes_into(buf) }
    a.send_bytes("late")
    assert_equal 4, t.value
    assert_equal "late", buf.byteslice(0, 4)
  ensure
    a&.close
    b&.close
  end

  def test_shm_buffer_is_a_view_without_copy
    shm = M::SharedMemory.new(64)
    view = shm.buffer
    assert_kind_of IO::Buffer, view
    assert_equal 64, view.size
    view.set_string("through the view", 3)
    assert_equal "through the view", shm.read(3, 16)
    shm.write("both ways", 40)
    assert_equal "both ways", shm.buffer.get_string(40, 9)
    assert_equal "both ways", view.get_string(40, 9)
  ensure
    shm&.release_handle
  end

  def test_shm_buffer_is_shared_with_a_forked_child
    shm = M::SharedMemory.new(16)
    view = shm.buffer
    pid = fork { view.set_value(:U32, 0, 0xC0FFEE); exit!(0) }
    Process.wait(pid)
    assert_equal 0xC0FFEE, shm.buffer.get_value(:U32, 0)
  ensure
    shm&.release_handle
  end

  def test_shm_buffer_invalidated_by_release_handle
    shm = M::SharedMemory.new(32)
    view = shm.buffer
    part = view.slice(4, 8)
    moved = shm.buffer.transfer
    shm.release_handle
    [view, part, moved].each do |b|
      assert_raises(IO::Buffer::InvalidatedError, IO::Buffer::AllocationError) { b.get_value(:U8, 0) }
    end
    assert_raises(M::ClosedError) { shm.buffer }
  end

  def test_shm_buffer_keeps_the_block_alive
    view = M::SharedMemory.new(4096).buffer
    GC.start
    GC.start
    view.set_string("still mapped", 4000)
    assert_equal "still mapped", view.get_string(4000, 12)
  end

  def test_arg0_is_what_the_child_sees
    cmd = M::Command.new("sh", "-c", "tr '\\0' '\\n' < /proc/$$/cmdline", stdout: :pipe, arg0: "zeroth")
    out = cmd.run(timeout: 30).stdout
    assert_equal %w[zeroth -c], out.lines.map(&:chomp).first(2)
    assert_equal %w[sh -c], cmd.argv.first(2)
  end

  def test_arg0_default_is_the_program
    out = M::Command.new("sh", "-c", "tr '\\0' '\\n' < /proc/$$/cmdline", stdout: :pipe).run(timeout: 30).stdout
    assert_equal "sh", out.lines.first.chomp
  end

  def test_arg0_refuses_nul
    assert_raises(ArgumentError) { M::Command.new("true", arg0: "a\0b") }
  end
end
