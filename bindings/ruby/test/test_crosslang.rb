# frozen_string_literal: true

# The Ruby side of the cross-language contract: the Ruby peer
# (tests/crosslang/ruby/peer.rb) driven from Ruby, and the Go peer as
# workers of a Ruby parent (MP_GO_PEER: the Go peer executable).
require_relative "helper"
Multiproc.main

class TestCrossLanguage < Minitest::Test
  PEER = File.expand_path("../../../tests/crosslang/ruby/peer.rb", __dir__)

  def ruby_peer(*args)
    [RbConfig.ruby, *$LOAD_PATH.grep(/multiproc|ext|lib/).flat_map { |d| ["-I", d] }, PEER, *args]
  end

  def test_ruby_peer_produce_and_consume
    q = Multiproc::Queue.new
    cmd = Multiproc::Command.new(*ruby_peer("produce", "7", "5")).pass("q", q)
    assert_equal 0, cmd.spawn.join(30)
    q.close
    assert_equal (0...5).map { |i| "7:#{i}" }, q.each.to_a
    q2 = Multiproc::Queue.new
    %w[a b].each { |m| q2.put(m) }
    q2.close
    r = Multiproc::Command.new(*ruby_peer("consume"), stdout: :pipe).pass("q", q2).spawn
    out, = r.communicate(nil, timeout: 30)
    assert_equal "a\nb\n", out
    assert_equal 0, r.exitcode
  end

  def test_ruby_peer_reports_errors
    r = Multiproc.run(ruby_peer("consume"))
    assert_equal 1, r.exitcode
    refute_empty r.stderr
  end

  def test_go_peer_workers
    go_peer = ENV.fetch("MP_GO_PEER", "")
    skip "MP_GO_PEER is not set: no Go peer executable to run as workers" if go_peer.empty?

    tasks = Multiproc::Queue.new
    results = Multiproc::Queue.new
    workers = Array.new(2) do
      Multiproc::Command.new(go_peer, "worker").pass("tasks", tasks).pass("results", results).spawn
    end
    200.times { |i| tasks.put("t#{i}") }
    tasks.close
    got = Array.new(200) { results.get(timeout: 30) }
    workers.each { |w| assert_equal 0, w.join(30) }
    assert_equal (0...200).map { |i| "done:t#{i}" }.sort, got.sort
    assert_equal 200, got.uniq.size
    assert results.empty?
  end
end
