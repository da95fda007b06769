# frozen_string_literal: true

require_relative "helper"

Multiproc.register(:bump) { |d, v| 100.times { d.incr("n"); v.add(1) } }
Multiproc.main

class TestShared < Minitest::Test
  include MultiprocTestHelper

  def test_value_types
    assert_equal 1.875, Multiproc::Value.new(:double, 1.875).value
    assert_equal(-5, Multiproc::Value.new(:int32, -5).value)
    assert_equal 2**63, Multiproc::Value.new(:uint64, 2**63).value
    arr = Multiproc::Value.new(:int32, [0, 1, 2, 3, 4])
    assert_equal 5, arr.size
    arr[1] = -1
    assert_equal [0, -1, 2, 3, 4], arr.to_a
    assert_raises(IndexError) { arr[5] }
    s = Multiproc::Value.new(:bytes, "hello world")
    s.value = "HELLO"
    assert_equal "HELLO", s.value
    assert_raises(Multiproc::NoSpaceError) { s.value = "x" * 100 }
    assert_raises(ArgumentError) { Multiproc::Value.new(:real) }
  end

  # Python's typecodes 'h', 'H', 'b', 'B', 'c', 'f' (issue 20).
  def test_value_small_types
    { "h" => [-32_768, 32_767], "H" => [0, 65_535], "b" => [-128, 127], "B" => [0, 255] }.each do |code, (lo, hi)|
      v = Multiproc::Value.new(code, [lo, hi])
      assert_equal [lo, hi], v.to_a
      assert_raises(Multiproc::InvalidArgumentError) { v[0] = hi + 1 }
      assert_equal lo, v.add(1, 1), "#{code}: add wraps as ctypes"
      assert v.cas(lo, 5, 1)
      assert_equal 5, v[1]
    end
    c = Multiproc::Value.new("c", "x")
    assert_equal :char, c.type
    assert_equal "x", c.value
    c.value = "y"
    assert_equal "y", c.value
    assert_equal %w[a b], Multiproc::Value.new(:char, "ab").to_a
    f = Multiproc::Value.new("f", 0.1)
    assert_equal :float, f.type
    assert_equal [0.1].pack("f").unpack1("f"), f.value
    Multiproc::Process.new { exit(f.value == [0.1].pack("f").unpack1("f") && c.value == "y" ? 0 : 1) }.start.tap do |p|
      p.join
      assert_equal 0, p.exitcode
    end
  end

  def test_value_atomics_across_processes
    v = Multiproc::Value.new(:int64)
    Array.new(4) { Multiproc::Process.new { 250.times { v.add(1) } }.start }.each(&:join)
    assert_equal 1000, v.value
    assert v.cas(1000, 7)
    refute v.cas(1000, 8)
    assert_equal 7, v.value
  end

  def test_value_lock
    v = Multiproc::Value.new(:double, 0.5, lock: true)
    v.synchronize { v.value *= 2 }
    assert_equal 1.0, v.value
    assert_raises(Multiproc::StateError) { Multiproc::Value.new(:double).acquire }
  end

  def test_shared_memory
    shm = Multiproc::SharedMemory.new(64)
    assert_equal 64, shm.size
    Multiproc::Process.new { shm.write("from child", 8) }.start.join
    assert_equal "from child", shm.read(8, 10)
    assert_equal "\0" * 8, shm.read(0, 8)
    assert_raises(Multiproc::InvalidArgumentError) { shm.read(60, 10) }
    shm.release_handle
    assert_raises(Multiproc::ClosedError) { shm.read }
  end

  def test_dict_operations
    d = Multiproc::Dict.new(max_entries: 16, max_bytes: 4096)
    d["name"] = "tickets"
    assert_equal "tickets", d["name"]
    assert_nil d["missing"]
    assert_raises(KeyError) { d.fetch("missing") }
    assert d.key?("name")
    assert_equal 1, d.size
    assert_equal 5, d.incr("count", 5)
    assert_equal 5, d.counter("count")
    assert d.cas("name", "tickets", "sold out")
    refute d.cas("name", "tickets", "again")
    assert d.cas("new", nil, "x")
    assert_equal({ "name" => "sold out", "count" => [5].pack("q<"), "new" => "x" }, d.to_h)
    assert_equal "x", d.delete("new")
    assert_nil d.delete("new")
    d.set_object("obj", [1, 2])
    assert_equal [1, 2], d.get_object("obj")
    assert_raises(TypeError) { d["k"] = 1 }
    d.clear
    assert d.empty?
  end

  def test_dict_full_is_no_space
    d = Multiproc::Dict.new(max_entries: 2, max_bytes: 4096)
    d["a"] = "1"
    d["b"] = "2"
    assert_raises(Multiproc::NoSpaceError) { d["c"] = "3" }
  end

  def test_dict_and_value_reach_spawned_children
    d = Multiproc::Dict.new
    v = Multiproc::Value.new(:int64)
    Array.new(3) { Multiproc::Process.new(target: :bump, args: [d, v]).start }.each { |p| assert_equal 0, p.join(20) }
    assert_equal 300, d.counter("n")
    assert_equal 300, v.value
  end

  def test_dict_survives_a_sigkilled_writer
    d = Multiproc::Dict.new
    writer = Multiproc::Process.new { loop { d.incr("n") } }.start
    sleep 0.1
    writer.kill
    writer.join(5)
    before = d.counter("n")
    assert_operator before, :>, 0
    assert_equal before + 1, d.incr("n")
  end
end
