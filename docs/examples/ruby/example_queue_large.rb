# frozen_string_literal: true

# Port of docs/examples/c/example_queue_large.c (Queue; 队列): one message
# much larger than the queue. A multiproc queue is a ring of max_bytes in
# shared memory, here only 64 KiB; a message larger than half of it is
# streamed through it in pieces while the consumer reads them, so 16 MiB
# go through whole and memory stays bounded by the ring.
#
#   def producer(q):
#       data = make_data(16 * 1024 * 1024); print('put', len(data), checksum(data))
#       q.put(data); q.put('end')
#   q = Queue(); Process(target=producer, args=(q,)).start()
#   data = q.get(); print('got', len(data), checksum(data)); print(q.get())
#
# Both sides print the length and a 64-bit FNV-1a checksum; the small
# message after the large one shows that order is kept. Before taking the
# big message, the parent offers a buffer that is too small: get_into
# says NoSpaceError and the size needed, and leaves the message queued.
require "multiproc"
$stdout.sync = true

RING_BYTES = 64 * 1024
MESSAGE_BYTES = 16 * 1024 * 1024
MASK32 = 0xFFFF_FFFF

# Deterministic test data, as in the C port: the top byte of a 32-bit LCG.
def make_data(len)
  x = 12_345
  bytes = Array.new(len) do
    x = (x * 1_664_525 + 1_013_904_223) & MASK32
    x >> 24
  end
  bytes.pack("C*")
end

# 64-bit FNV-1a, computed in two 32-bit halves (Integers that stay small).
def fnv1a64(data)
  hi = 0xcbf2_9ce4
  lo = 0x8422_2325
  data.each_byte do |b|
    lo ^= b
    product = lo * 0x1b3 # the prime is 2**40 + 0x1b3
    hi = (hi * 0x1b3 + (lo << 8) + (product >> 32)) & MASK32
    lo = product & MASK32
  end
  format("%08x%08x", hi, lo)
end

Multiproc.register(:producer) do |q|
  data = make_data(MESSAGE_BYTES)
  puts "child: put #{data.bytesize} bytes, checksum #{fnv1a64(data)}"
  q.put(data)
  q.put("end")
end
Multiproc.main

q = Multiproc::Queue.new(max_bytes: RING_BYTES)
puts "main: queue of #{RING_BYTES} bytes"
producer = Multiproc::Process.new(target: :producer, args: [q]).start
begin
  small = "\0".b * 4096
  begin
    q.get_into(small)
    abort "a 16 MiB message fit in #{small.bytesize} bytes"
  rescue Multiproc::NoSpaceError => e # the message stays queued
    puts "main: get_into a #{small.bytesize}-byte buffer -> #{e.name}, needs #{e.size_needed} bytes"
  end
  data = q.get
  puts "main: got #{data.bytesize} bytes, checksum #{fnv1a64(data)}"
  puts "main: then got \"#{q.get}\""
  code = producer.join
  puts "main: #{producer.name} exited with #{code}"
  exit 1 unless code.zero?
ensure
  q.close unless producer.exitcode # a producer blocked in put returns, so the exit-time join cannot hang
end
