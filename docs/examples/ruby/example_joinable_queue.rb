# frozen_string_literal: true

# Port of docs/examples/c/example_joinable_queue.c (JoinableQueue;
# 利用Queue 多进程并发运行处理数据): each put counts one unfinished item,
# each task_done one finished; join waits until none is left, in any
# process that holds the queue (here the producers and the parent).
#
#   def consumer(q):
#       while True:
#           res = q.get(); print('ate', res); q.task_done()
#   def producer(name, q):
#       for i in range(3): q.put('%s%s' % (name, i)) ...
#       q.join()
#
# The consumers never return, so they are daemons: at the parent's exit
# they are terminated instead of joined; no poison pill, no close. They
# also put what they ate on a second queue before their task_done, so
# once join returns the parent can show that every item was processed
# exactly once.
require "multiproc"
$stdout.sync = true

Multiproc.register(:producer) do |name, q|
  3.times do |i|
    item = "#{name}#{i}"
    q.put(item)
    puts "#{name} produced #{item}"
  end
  puts "#{name} done producing"
  q.join # until every item put so far is task_done
  puts "#{name}: all eaten"
end

Multiproc.register(:consumer) do |q, results|
  loop do
    item = q.get
    puts "ate #{item}"
    results.put(item)
    q.task_done # the item is fully processed
  end
end
Multiproc.main

q = Multiproc::Queue.new(joinable: true) # JoinableQueue()
results = Multiproc::Queue.new
names = %w[baozi bone slop]
producers = names.map { |n| Multiproc::Process.new(target: :producer, args: [n, q], name: n) }
consumers = Array.new(2) do |i|
  Multiproc::Process.new(target: :consumer, args: [q, results], name: "consumer-#{i + 1}", daemon: true)
end
(producers + consumers).each(&:start)

producers.each do |producer|
  code = producer.join
  abort "#{producer.name} exited with #{code}" unless code.zero?
end
q.join # every item is put: wait until each one is task_done
puts "main: all tasks done"

begin
  q.task_done # for an item nobody got: Python raises ValueError
rescue Multiproc::StateError => e
  puts "main: one task_done too many -> #{e.name}"
end

# Each result was put before its task_done, so all are queued now.
results.close
eaten = results.each.to_a.sort
puts "main: #{eaten.size} of #{names.size * 3} items processed: #{eaten.join(' ')}"
exit 1 unless eaten.size == names.size * 3
puts "main: exiting; the daemon consumers are terminated"
