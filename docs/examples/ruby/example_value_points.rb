# frozen_string_literal: true

# Port of docs/examples/c/example_value_points.c (共享内存, the whole
# modify): Value('i', 7), Value(c_bool, False), Array('c', ..., lock=lock),
# Array('i', range(5)), Array(Point, ..., lock=lock) changed by a child.
# The values reach the spawned child as the target's arguments; s and a
# arrive bound to the lock they share, a's rows with their field names.
require "multiproc"

Multiproc.register(:modify) do |n, b, s, arr, a|
  n.synchronize { n.value **= 2 }
  b.value = true
  s.synchronize { s.value = s.value.upcase }
  arr[0] = 10
  a.synchronize { a.each { |p| p.x **= 2; p.y **= 2 } }
end
Multiproc.main

lock = Multiproc::Lock.new
n = Multiproc::Value.new("i", 7, lock: true)
b = Multiproc::Value.new(:bool, false)
s = Multiproc::Value.new(:bytes, "hello world", lock: lock)
arr = Multiproc::Value.new("i", (0...5).to_a, lock: true)
a = Multiproc::Value.new(record: { x: :double, y: :double }, initial: [[1.875, -6.25], [-5.75, 2.0]], lock: lock)

p = Multiproc::Process.new(target: :modify, args: [n, b, s, arr, a])
p.start.join
exit 1 unless p.exitcode.zero?

puts n.value
puts b.value ? "True" : "False"
puts "b'#{s.value}'"
puts "[#{arr.to_a.join(', ')}]"
puts "[#{a.map { |pt| "(#{pt.x}, #{pt.y})" }.join(', ')}]"
