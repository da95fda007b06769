# frozen_string_literal: true

# The Ruby peer of the cross-language rendezvous (tests/rendezvous/xl/README.md):
# two programs that did not start each other share a queue, a lock, a dict
# and a pool through a broker, knowing only its address.
#
#   xl_peer.rb serve unix:/path   publish jobs, lock, dict, pool; print "ready",
#                              then what the opener sent
#   xl_peer.rb open unix:/path    open them by address and answer
#
# Exit 0 on success; any error: a message on stderr and exit 1.
require "multiproc"

LANG = "ruby"
WAIT = 120

# raw: the callers are C, Go or Ruby programs sending plain bytes.
Multiproc.task(:rv_upper, raw: true, &:upcase)
Multiproc.main

def serve(addr)
  q = Multiproc::Queue.new
  lock = Multiproc::Lock.new
  dict = Multiproc::Dict.new(max_entries: 64, max_bytes: 1 << 16)
  Multiproc::Pool.new(2) do |pool|
    lock.acquire
    dict["server"] = LANG
    Multiproc::Broker.new(addr) do |broker|
      broker.publish("jobs", q)
      broker.publish("lock", lock)
      broker.publish("dict", dict)
      broker.publish("pool", pool)
      $stdout.puts "ready"
      $stdout.flush
      puts "got #{q.get(timeout: WAIT)}"
      lock.release
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + WAIT
      until (ack = dict["ack"]) # the opener sets it holding the lock
        raise "no ack from the opener" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.01
      end
      puts "ack=#{ack}"
      $stdout.flush
    end
  end
end

def open(addr)
  q = Multiproc::Queue.open("#{addr}#jobs", timeout: WAIT)
  lock = Multiproc::Lock.open("#{addr}#lock", timeout: WAIT)
  dict = Multiproc::Dict.open("#{addr}#dict", timeout: WAIT)
  Multiproc::Pool.open("#{addr}#pool", timeout: WAIT, raw: true) do |pool|
    # the server holds the lock: the same lock cannot be taken here
    raise "the lock is not the server's: acquired while it holds it" if lock.try_acquire

    server = dict["server"] or raise "dict: no 'server' key"
    result = pool.apply("rv_upper", "ping-#{LANG}")
    q.put("client=#{LANG} server=#{server} pool=#{result}")
    lock.acquire(timeout: WAIT) or raise "lock: not released by the server"
    dict["ack"] = LANG
    lock.release
  end
  puts "done"
ensure
  [q, lock, dict].each { |h| h&.release_handle }
end

begin
  case ARGV
  in ["serve", addr] then serve(addr)
  in ["open", addr] then open(addr)
  else abort "usage: xl_peer.rb serve|open unix:/path"
  end
rescue StandardError => e
  warn "xl_peer.rb(ruby): #{e.class}: #{e.message}"
  exit 1
end
