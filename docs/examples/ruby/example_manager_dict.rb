# frozen_string_literal: true

# Port of docs/examples/c/example_manager_dict.c (数据共享, Manager):
# Manager().dict({'count': 100}), 100 processes doing d['count'] -= 1 (an
# atomic incr here: no lock, ends at exactly 0), and the other operations.
require "multiproc"
Multiproc.main

def show(d)
  items = d.to_h.sort.map do |k, v|
    "'#{k}': #{k == 'count' ? v.unpack1('q<') : "'#{v}'"}"
  end
  puts "{#{items.join(', ')}}"
end

d = Multiproc::Dict.new(max_entries: 64, max_bytes: 4096)
d["count"] = [100].pack("q<")
show(d)
workers = Array.new(100) { Multiproc::Process.new { d.incr("count", -1) }.start }
workers.each(&:join)
puts "100 processes did d['count'] -= 1:"
show(d)

d["name"] = "tickets"
d["city"] = "Beijing"
puts "len(d) = #{d.size}"
puts "d['name'] = '#{d['name']}'"
puts "'city' in d: #{d.key?('city') ? 'True' : 'False'}"
d.delete("city")
puts "del d['city']"
puts "'city' in d: #{d.key?('city') ? 'True' : 'False'}"
begin
  d.fetch("city")
rescue KeyError
  puts "d['city'] -> ENOENT (KeyError)"
end
2.times do
  swapped = d.cas("name", "tickets", "sold out")
  puts "cas d['name'] 'tickets' -> 'sold out': #{swapped ? 'swapped' : 'not swapped (the value had changed)'}"
end
show(d)
