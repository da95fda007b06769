# frozen_string_literal: true

require_relative "helper"
require "tmpdir"

Multiproc.main

# Multiproc::Listener and Multiproc::Client (Python's Listener and Client).
class TestListener < Minitest::Test
  include MultiprocTestHelper

  KEY = "ruby secret".b

  def exchange(server, client)
    client.send_bytes("from the client")
    assert_equal "from the client", server.recv_bytes(timeout: 30)
    server.send_bytes("from the listener")
    assert_equal "from the listener", client.recv_bytes(timeout: 30)
  end

  def test_both_schemes_block_forms
    Dir.mktmpdir do |dir|
      path = File.join(dir, "l.sock")
      ["tcp://127.0.0.1:0", "unix:#{path}"].each do |address|
        Multiproc::Listener.open(address, authkey: KEY) do |l|
          refute_match(/:0\z/, l.address)
          Multiproc::Client.connect(l.address, authkey: KEY, timeout: 30) do |c|
            s = l.accept(timeout: 30)
            exchange(s, c)
            s.close
          end
          assert_equal 0o600, File.stat(path).mode & 0o777 if address.start_with?("unix:")
        end
        refute File.exist?(path), "the socket file stays after close"
      end
    end
  end

  def test_wrong_key_fails_on_both_sides
    Multiproc::Listener.open("tcp://127.0.0.1:0", authkey: KEY) do |l|
      assert_raises(Multiproc::PermissionError) do
        Multiproc::Client.connect(l.address, authkey: "wrong", timeout: 30)
      end
      e = assert_raises(Multiproc::PermissionError) { l.accept(timeout: 30) }
      assert_match(/peer 127\.0\.0\.1:/, e.message)
      c = Multiproc::Client.connect(l.address, authkey: KEY, timeout: 30)
      exchange(l.accept(timeout: 30), c)
      c.close
    end
  end

  def test_tcp_without_key_needs_allow_no_auth
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Listener.new("tcp://127.0.0.1:0") }
    Multiproc::Listener.open("tcp://127.0.0.1:0", allow_no_auth: true) do |l|
      c = Multiproc::Client.connect(l.address)
      exchange(l.accept, c)
      c.close
    end
  end

  def test_accept_timeout_and_close_from_another_thread
    l = Multiproc::Listener.new("tcp://127.0.0.1:0", authkey: KEY)
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_raises(Multiproc::TimeoutError) { l.accept(timeout: 0.2) }
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0, :>=, 0.15
    waiter = Thread.new do
      l.accept
    rescue Multiproc::ClosedError => e
      e
    end
    sleep 0.2
    l.close
    assert_kind_of Multiproc::ClosedError, waiter.join(10)&.value
    assert l.closed?
    l.close # again: nothing
    assert_raises(Multiproc::ClosedError) { l.accept(timeout: 0) }
  end

  def test_bad_addresses_and_existing_file
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Listener.new("unix:relative") }
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Client.connect("tcp://h:1#name") }
    assert_raises(Multiproc::InvalidArgumentError) { Multiproc::Client.connect("redis://localhost") }
    Dir.mktmpdir do |dir|
      path = File.join(dir, "taken")
      File.write(path, "x")
      assert_raises(Multiproc::ExistsError) { Multiproc::Listener.new("unix:#{path}") }
      assert File.exist?(path)
      assert_raises(Multiproc::NotFoundError) { Multiproc::Client.connect("unix:#{path}.none") }
    end
  end
end
