# frozen_string_literal: true

# Port of docs/examples/c/example_pipe.c (管道; 管道（了解）; pip): Pipe() with
# send/recv both ways, recv until the end of the stream (Python's
# EOFError, ClosedError here), and the tutorial's warning: close the ends
# you do not use, or recv never sees the end of the stream.
#
#   def f(conn):
#       conn.send('hello'); print(conn.recv()); conn.close()
#   parent_conn, child_conn = Pipe()
#   p = Process(target=f, args=(child_conn,)); p.start()
#   print(parent_conn.recv()); parent_conn.send('world'); p.join()
#
# A child end given in args reaches the spawned child as a descriptor; the
# parent still holds its own copy of that end, which it closes at once in
# parts 1 and 2. Part 3 forgets to: the child sends, closes its end and
# exits, yet the parent's recv sees no end of the stream until the parent
# closes its copy too.
require "multiproc"
$stdout.sync = true

Multiproc.register(:greeter) do |conn|
  conn.send_bytes("hello")
  puts "child received: #{conn.recv_bytes}"
  conn.close
end

Multiproc.register(:sender) do |conn|
  puts "child: sending 3 messages, then closing its end"
  3.times { |i| conn.send_bytes("message #{i}") }
  conn.close
end
Multiproc.main

def join_ok(child)
  code = child.join
  abort "#{child.name} exited with #{code}" unless code.zero?
end

puts "-- part 1: a duplex pipe"
Multiproc.pipe do |parent_conn, child_conn|
  child = Multiproc::Process.new(target: :greeter, args: [child_conn]).start
  child_conn.close # the child has its own copy
  puts "main received: #{parent_conn.recv_bytes}"
  parent_conn.send_bytes("world")
  join_ok(child)
end

puts "-- part 2: the child closes its end: EOF"
Multiproc.pipe do |parent_conn, child_conn|
  child = Multiproc::Process.new(target: :sender, args: [child_conn]).start
  child_conn.close # close the end we do not use
  begin # parent_conn.each { |msg| ... } would stop there quietly
    loop { puts "main received: #{parent_conn.recv_bytes}" }
  rescue Multiproc::ClosedError => e # every copy of the child's end is closed
    puts "main: recv -> #{e.name} (Python's EOFError)"
  end
  join_ok(child)
  begin
    parent_conn.send_bytes("anyone?")
    abort "send to a closed pipe succeeded"
  rescue Multiproc::BrokenPipeError => e
    puts "main: send -> #{e.name} (Python's BrokenPipeError)"
  end
end

puts "-- part 3: the parent forgets to close its copy of the child's end"
Multiproc.pipe do |parent_conn, child_conn|
  child = Multiproc::Process.new(target: :sender, args: [child_conn]).start
  begin # Python's recv() would now wait for ever; wait 1 s
    loop { puts "main received: #{parent_conn.recv_bytes(timeout: 1)}" }
  rescue Multiproc::TimeoutError => e
    puts "main: recv -> #{e.name}: no EOF"
  end
  join_ok(child)
  begin
    parent_conn.recv_bytes(timeout: 0.1)
    abort "got a message after the child's last one"
  rescue Multiproc::TimeoutError => e
    puts "main: the child has exited, still recv -> #{e.name}: our own copy of the child's end " \
         "keeps the pipe open"
  end
  child_conn.close # the close that was missing
  begin
    parent_conn.recv_bytes(timeout: 5)
    abort "got a message after the child's last one"
  rescue Multiproc::ClosedError => e
    puts "main: closed our copy; recv -> #{e.name}"
  end
end
