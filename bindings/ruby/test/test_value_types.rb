# frozen_string_literal: true

# Values of 0.4 from Ruby: :bool, records (the tutorials' Point array) as
# live rows, values sharing one Multiproc::Lock, met by forked and spawned
# children.

require_relative "helper"

# The tutorial's modify(): square every point under the shared lock.
Multiproc.register(:square_points) do |a|
  a.synchronize { a.each { |p| p.x **= 2; p.y **= 2 } }
end
# n unatomic increments of a counter and a record under their shared lock,
# taken through one and released through the other.
Multiproc.register(:shared_incr) do |n, counter, rec|
  n.times do
    counter.acquire
    c = counter.value
    q = rec[0].q
    d = rec[0].d
    Thread.pass
    counter.value = c + 1
    rec[0] = { q: q + 1, d: d + 0.5 }
    rec.release
  end
end
Multiproc.register(:set_flag) { |b| b.value = true }
Multiproc.main

class TestValueTypes < Minitest::Test
  include MultiprocTestHelper

  def test_bool
    b = Multiproc::Value.new(:bool, false) # Value(c_bool, False, lock=False)
    assert_equal :bool, b.type
    assert_equal false, b.value
    b.value = 1
    assert_equal true, b.value
    assert_raises(TypeError) { b.value = 2 }
    assert_raises(TypeError) { b.value = "yes" }
    assert_equal [true, false, true], Multiproc::Value.new("?", [true, nil, 1]).to_a
    b.value = false
    assert_equal 0, Multiproc::Process.new(target: :set_flag, args: [b]).start.join(30)
    assert_equal true, b.value
    b.value = false
    Multiproc::Process.new { b.value = true }.start.join(30)
    assert_equal true, b.value
  end

  def test_records_are_live_rows
    a = Multiproc::Value.new(record: { x: :double, y: :double }, initial: [[1.875, -6.25], { y: 2.0, x: -5.75 }])
    assert_equal :record, a.type
    assert_equal 2, a.size
    assert_equal [[:x, :double], [:y, :double]], a.record_fields
    assert_equal [[1.875, -6.25], [-5.75, 2.0]], a.map(&:to_a)
    row = a[0]
    row.x = 3
    assert_equal 3.0, a[0].x
    assert_equal({ x: 3.0, y: -6.25 }, row.to_h)
    row[:y] = 4
    assert_equal 4.0, row[1]
    point = Struct.new(:x, :y)
    a[1] = point.new(7, 8)
    assert_equal [7.0, 8.0], a[1].to_a
    assert_raises(ArgumentError) { a[1] = [1] }
    assert_raises(IndexError) { a[2] }
    assert_raises(IndexError) { row[:z] }
    m = Multiproc::Value.new(record: [[:b, :int8], [:flag, :bool], [:c, :char], [:q, :uint64], [:f, :float]], count: 1)
    m[0] = [-7, true, "z", 2**62, 0.1]
    assert_equal [-7, true, "z", 2**62, [0.1].pack("f").unpack1("f")], m.value.to_a
    assert_raises(Multiproc::InvalidArgumentError) { m.value.b = 200 }
    assert_raises(ArgumentError) { Multiproc::Value.new(record: { s: :bytes }) }
    assert_raises(ArgumentError) { Multiproc::Value.new(:record) }
  end

  # A = Array(Point, [(1.875, -6.25), (-5.75, 2.0)], lock=lock): squared by
  # a spawned child (the lock and the field names travel with the value)
  # and a forked one.
  def test_points_squared_by_children_under_a_shared_lock
    lock = Multiproc::Lock.new
    a = Multiproc::Value.new(record: { x: :double, y: :double }, initial: [[1.875, -6.25], [-5.75, 2.0]], lock: lock)
    assert_equal 0, Multiproc::Process.new(target: :square_points, args: [a]).start.join(30)
    assert_equal [[3.515625, 39.0625], [33.0625, 4.0]], a.map(&:to_a)
    Multiproc::Process.new { a.synchronize { a.each { |p| p.x = -p.x } } }.start.join(30)
    assert_equal [[-3.515625, 39.0625], [-33.0625, 4.0]], a.map(&:to_a)
    refute lock.locked?
  end

  def test_shared_lock_exact_totals
    lock = Multiproc::Lock.new
    counter = Multiproc::Value.new(:int64, 0, lock: lock)
    rec = Multiproc::Value.new(record: { q: :int64, d: :double }, count: 1, lock: lock)
    kids = Array.new(3) { Multiproc::Process.new(target: :shared_incr, args: [1000, counter, rec]).start }
    kids.each { |p| assert_equal 0, p.join(60) }
    assert_equal 3000, counter.value
    assert_equal [3000, 1500.0], rec[0].to_a
  end

  def test_bind_lock
    lock = Multiproc::Lock.new
    v = Multiproc::Value.new(:int32, 5, lock: lock)
    opened = Multiproc::Value.from_fd(IO.sysopen("/proc/self/fd/#{v.fileno}", "r+"))
    assert_raises(Multiproc::StateError) { opened.acquire }
    assert_raises(Multiproc::InvalidArgumentError) { opened.bind_lock(Multiproc::Lock.new) }
    opened.bind_lock(Multiproc::Lock.from_fd(IO.sysopen("/proc/self/fd/#{lock.fileno}", "r+")))
    opened.synchronize { assert lock.locked? }
    assert_raises(Multiproc::StateError) { Multiproc::Value.new(:int32, lock: true).bind_lock(lock) }
    r = Multiproc::Value.new(record: { x: :double, n: :int32 }, count: 1)
    o = Multiproc::Value.from_fd(IO.sysopen("/proc/self/fd/#{r.fileno}", "r+"))
    assert_equal [[:f0, :double], [:f1, :int32]], o.record_fields
    o.as_record(x: :double, n: :int32)
    o[0].n = 9
    assert_equal 9, r[0].n
    assert_raises(Multiproc::InvalidArgumentError) { o.as_record(x: :double, n: :int64) }
  end
end
