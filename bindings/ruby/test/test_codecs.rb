# frozen_string_literal: true

# The codec: of queues, connections and dicts (Codecs): objects round trip
# in each codec, across a spawned child (the codec travels with the object)
# and a fork; :json reads what Go's JSONCodec writes (bytes put by hand);
# decode and encode errors name the call and the codec.
require_relative "helper"

# A child that gets a point from in and puts it back doubled on out, with
# the queues' own codecs (passed with them).
Multiproc.register(:codec_echo) do |inq, outq|
  pt = inq.get_object(timeout: 30)
  outq.put_object(pt.transform_values { |v| v.is_a?(Integer) ? v * 2 : v }, timeout: 30)
end
Multiproc.main

class TestCodecs < Minitest::Test
  POINT = { "X" => 1, "Y" => -2, "Tag" => "a" }.freeze

  def test_queue_codecs_round_trip
    { marshal: [1, :sym, { a: [1.5, nil] }], json: [1, "s", { "a" => [1.5, nil] }], raw: ["\x00\xff".b] }
      .each do |codec, objs|
        q = Multiproc::Queue.new(codec: codec)
        assert_equal codec, q.codec
        objs.each { |o| q.put_object(o) }
        assert_equal objs, objs.map { q.get_object(timeout: 5) }, "codec #{codec}"
        q.release_handle
      end
  end

  def test_json_is_the_wire_format
    q = Multiproc::Queue.new(codec: :json)
    q.put('{"X":3,"Y":4,"Tag":"go"}') # as Go's TypedQueue[point] puts it
    assert_equal({ "X" => 3, "Y" => 4, "Tag" => "go" }, q.get_object(timeout: 5))
    q.put_object(POINT)
    assert_equal '{"X":1,"Y":-2,"Tag":"a"}', q.get(timeout: 5)
  end

  def test_codec_travels_to_a_spawned_child
    inq = Multiproc::Queue.new(codec: :json)
    outq = Multiproc::Queue.new(codec: :json)
    child = Multiproc::Process.new(target: :codec_echo, args: [inq, outq]).start
    inq.put_object(POINT)
    assert_equal '{"X":2,"Y":-4,"Tag":"a"}', outq.get(timeout: 30), "the child used :json"
    child.join(30)
    assert_equal 0, child.exitcode
  end

  def test_connection_and_fork
    a, b = Multiproc.pipe(codec: :json)
    assert_equal %i[json json], [a.codec, b.codec]
    pid = fork do
      b.send_object(POINT.merge("pid" => Process.pid))
      exit!(0)
    end
    got = a.recv_object(timeout: 30)
    Process.wait(pid)
    assert_equal POINT.merge("pid" => pid), got
  end

  def test_dict_codec
    d = Multiproc::Dict.new(codec: :json)
    d.set_object("p", POINT)
    assert_equal POINT, d.get_object("p")
    assert_equal '{"X":1,"Y":-2,"Tag":"a"}', d["p"]
    assert_nil d.get_object("missing")
    d["bad"] = "{"
    err = assert_raises(Multiproc::DecodeError) { d.get_object("bad") }
    assert_match(/Dict#get_object "bad".*:json/, err.message)
  end

  def test_errors_name_call_and_codec
    q = Multiproc::Queue.new(codec: :json)
    q.put("not json")
    err = assert_raises(Multiproc::DecodeError) { q.get_object(timeout: 5) }
    assert_match(/Queue#get_object: cannot decode a :json message/, err.message)
    assert_equal 0, q.size, "the bad message was taken"
    assert_raises(Multiproc::EncodeError) { Multiproc::Queue.new(codec: :raw).put_object(42) }
    assert_raises(Multiproc::EncodeError) { Multiproc::Queue.new.put_object(-> {}) }
    assert_raises(ArgumentError) { Multiproc::Queue.new(codec: :yaml) }
    m = Multiproc::Queue.new
    m.put("\x04\x08junk")
    assert_raises(Multiproc::DecodeError) { m.get_object(timeout: 5) }
  end
end
