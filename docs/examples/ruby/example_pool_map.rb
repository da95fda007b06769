# frozen_string_literal: true

# Port of docs/examples/c/example_pool_map.c (进程池 map): p.map(work,
# range(1, 11)) in argument order, sum(p.imap_unordered(work, ...)).
require "multiproc"

Multiproc.task(:work) { |n| n * n }
Multiproc.main

Multiproc::Pool.new(4) do |pool|
  puts "map: [#{pool.map(:work, 1..10).join(', ')}]"
  results = pool.imap_unordered(:work, 1..10).to_a
  puts "imap_unordered: #{results.size} results, sum #{results.sum}"
  every = results.sort == (1..10).map { |n| n * n }
  puts "imap_unordered: every argument's result came once: #{every ? 'yes' : 'no'}"
end
puts "main: pool closed and joined"
