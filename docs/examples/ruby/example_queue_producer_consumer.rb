# frozen_string_literal: true

# Port of docs/examples/c/example_queue_producer_consumer.c (队列):
# Queue(3), 3 producers and 2 consumers; closing the queue replaces the
# None sent once per consumer.
require "multiproc"

Multiproc.register(:producer) do |q, food|
  3.times do |i|
    item = "#{food}#{i}"
    q.put(item)
    puts "#{food} produced #{item}"
    $stdout.flush
  end
end

Multiproc.register(:consumer) do |q, eaten|
  q.each do |item|
    puts "ate #{item}"
    $stdout.flush
    eaten.put(item)
  end
  puts "#{Multiproc.current_name}: queue closed and empty, stopping"
end
Multiproc.main

q = Multiproc::Queue.new(maxsize: 3)
eaten = Multiproc::Queue.new
producers = %w[baozi bone slop].map { |f| Multiproc::Process.new(target: :producer, args: [q, f], name: f) }
consumers = Array.new(2) do |i|
  Multiproc::Process.new(target: :consumer, args: [q, eaten], name: "consumer-#{i + 1}")
end
(producers + consumers).each(&:start)
producers.each(&:join)
q.close
puts "main: producers joined, queue closed"
$stdout.flush
consumers.each(&:join)
puts "main: consumers joined"
begin
  q.put("late")
rescue Multiproc::ClosedError => e
  puts "main: put after close -> #{e.name}"
end
eaten.close
items = eaten.each.to_a.sort
puts "main: #{items.size} of 9 items eaten: #{items.join(' ')}"
