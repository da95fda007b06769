# frozen_string_literal: true

# Port of docs/examples/c/example_value_array.c (共享内存, modify):
# Value('d', lock=True), Array('c', b'hello world'), Array('i', range(5))
# changed by a child.
require "multiproc"
Multiproc.main

def show(n, s, arr)
  puts "  n.value = #{n.value}"
  puts "  s.value = b'#{s.value}'"
  puts "  arr[:] = [#{arr.to_a.join(', ')}]"
end

n = Multiproc::Value.new(:double, 1.875, lock: true)
s = Multiproc::Value.new(:bytes, "hello world")
arr = Multiproc::Value.new(:int32, (0...5).to_a)
puts "before:"
show(n, s, arr)

modify = Multiproc::Process.new(name: "modify()") do
  n.synchronize { n.value *= 2 }
  s.value = s.value.upcase
  arr.size.times { |i| arr[i] = -arr[i] }
end
modify.start.join
puts "#{modify.name} exited with #{modify.exitcode}"
puts "after:"
show(n, s, arr)
