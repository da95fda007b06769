# frozen_string_literal: true

# Command#pass with any shared object: a lock, an event and a dict reach a
# spawned ruby by name and are opened there with their class's inherit.
require_relative "helper"
require "rbconfig"
Multiproc.main

class TestPass < Minitest::Test
  # The command's program: sees the parent's lock held, says so through
  # the event, then counts in the dict once it gets the lock.
  CHILD = <<~RUBY
    require "multiproc"
    lock = Multiproc::Lock.inherit("lock")
    seen = Multiproc::Event.inherit(:held_seen)
    dict = Multiproc::Dict.inherit("dict")
    begin
      Multiproc::Lock.inherit("nothing_here")
      abort "inherit of an unknown name did not raise"
    rescue Multiproc::NotFoundError
    end
    begin
      Multiproc::Event.inherit("lock")
      abort "Event.inherit of a lock did not raise"
    rescue Multiproc::InvalidArgumentError
    end
    abort "the parent's lock was free" if lock.try_acquire
    seen.set
    lock.synchronize { dict.incr("n") }
  RUBY

  def ruby_command(script)
    load_path = $LOAD_PATH.grep(/multiproc|ext|lib/).flat_map { |d| ["-I", d] }
    Multiproc::Command.new(RbConfig.ruby, *load_path, "-e", script)
  end

  def test_lock_event_and_dict_reach_a_command
    lock = Multiproc::Lock.new
    seen = Multiproc::Event.new
    dict = Multiproc::Dict.new(max_entries: 16, max_bytes: 4096)
    cmd = ruby_command(CHILD).pass("lock", lock).pass(:held_seen, seen).pass("dict", dict)
    lock.acquire
    child = cmd.spawn
    assert seen.wait(30), "the command never saw the lock held"
    lock.release
    assert_equal 0, child.join(30)
    assert_equal 1, dict.incr("n", 0)
  end

  def test_pass_errors
    assert_raises(Multiproc::NotFoundError) { Multiproc::Dict.inherit("not_passed") }
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Lock.inherit("a b") }
    assert_raises(TypeError) { ruby_command("").pass("x", Object.new) }
    assert_raises(Multiproc::InvalidArgumentError) { ruby_command("").pass("a-b", Multiproc::Event.new) }
    released = Multiproc::Lock.new
    released.release_handle
    assert_raises(Multiproc::ClosedError) { ruby_command("").pass("l", released) }
  end
end
