# frozen_string_literal: true

# Port of docs/examples/c/example_pool_echo_server.c (进程池版的socket并发聊天):
# a TCP server whose work is done by a pool: each client gets its message
# back in upper case.
#
#   def talk(conn):                         # in a pool worker
#       msg = conn.recv(1024); conn.send(msg.upper())
#   p = Pool(4)
#   while True:
#       conn, _ = server.accept(); p.apply_async(talk, args=(conn,))
#
# Python pickles the accepted socket to the worker. A pool task here gets
# objects Marshal can dump, and a socket is not one, so the socket stays
# in the process that accepted it and the pool gets the work: the server
# reads the request line and submits apply_async(:upper, line) with a
# callback, which runs in the server (on the pool's callback thread),
# writes the reply and closes the connection. The server goes back to
# accept at once. One request line per connection.
#
# The server listens on 127.0.0.1 with an ephemeral port; the three
# clients are spawned children that get the port as an argument and put
# what they got on a queue, printed sorted once they are joined. Every
# socket wait has a 10 s deadline, so a broken run fails instead of
# hanging.
require "multiproc"
require "socket"
require "io/wait"
$stdout.sync = true

WORKERS = 2
CLIENTS = 3
IO_TIMEOUT = 10

# One line without its "\n", waiting at most IO_TIMEOUT seconds.
def read_line(sock)
  raise IOError, "no line within #{IO_TIMEOUT} s" unless sock.wait_readable(IO_TIMEOUT)

  line = sock.gets or raise EOFError, "the peer closed before the end of the line"
  line.chomp
end

Multiproc.register(:client) do |port, id, results|
  TCPSocket.open("127.0.0.1", port) do |sock|
    sock.write("hello from client-#{id}\n") # client.send(msg)
    results.put("client-#{id} got: #{read_line(sock)}", timeout: IO_TIMEOUT)
  end
end

# msg.upper(): in a worker process.
Multiproc.task(:upper) { |line| "#{line.upcase}\n" }
Multiproc.main

pool = Multiproc::Pool.new(WORKERS)
results = Multiproc::Queue.new
server = TCPServer.new("127.0.0.1", 0) # an ephemeral port
puts "server: listening on 127.0.0.1, an ephemeral port"
port = server.local_address.ip_port
clients = (1..CLIENTS).map do |id|
  Multiproc::Process.new(target: :client, args: [port, id, results], name: "client-#{id}").start
end
puts "server: #{CLIENTS} clients started"

replied = Array.new(CLIENTS, false)
CLIENTS.times do |i|
  raise IOError, "no client within #{IO_TIMEOUT} s" unless server.wait_readable(IO_TIMEOUT)

  conn = server.accept
  send_reply = lambda do |reply| # conn.send(msg.upper()): here, where the socket is
    conn.write(reply)
    replied[i] = true
  ensure
    conn.close
  end
  reply_failed = lambda do |e|
    warn "upper failed: #{e.message}"
    conn.close
  end
  pool.apply_async(:upper, read_line(conn), callback: send_reply, error_callback: reply_failed)
  puts "server: connection #{i + 1}: request read, reply left to the pool"
end

pool.close
pool.join # every reply is written now
puts "server: pool closed and joined: every callback has run"
abort "connections without a reply: #{replied}" unless replied.all?

clients.each do |client|
  code = client.join
  abort "#{client.name} exited with #{code}" unless code.zero?
end
puts "server: clients joined"
puts Array.new(CLIENTS) { results.get_nowait }.sort # every client has ended: all are queued
server.close
