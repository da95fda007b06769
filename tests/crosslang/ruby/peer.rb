# frozen_string_literal: true

# The Ruby cross-language peer (tests/crosslang): queues come from the
# parent by name (Multiproc::Queue.inherit = mp_queue_inherit), or, with
# MP_CROSSLANG_QUEUE_AT set ("redis://host:port"), are opened at
# MP_CROSSLANG_QUEUE_AT#NAME (Multiproc::Queue.open).
#
#   peer.rb produce ID COUNT [BATCH]
#                              put "ID:SEQ" for SEQ = 0...COUNT on "q"
#                              (BATCH > 1: BATCH per Queue#put_many)
#   peer.rb consume            print every message of "q" until it is closed
#   peer.rb worker             for each m of "tasks" put "done:" + m on
#                              "results", until "tasks" is closed and drained
#   peer.rb produce-json ID COUNT
#                              put_object {"id", "seq", "text"} on "q" with
#                              codec: :json
#   peer.rb consume-json       print "ID:SEQ" of every object of "q" (codec:
#                              :json); a text other than JSON_TEXT fails
#
# Exit 0 on success; any error: a message on stderr and exit 1.
require "multiproc"
Multiproc.main

def open_queue(name, codec: :marshal)
  at = ENV.fetch("MP_CROSSLANG_QUEUE_AT", "")
  return Multiproc::Queue.inherit(name, codec: codec) if at.empty?

  Multiproc::Queue.open("#{at}##{name}", timeout: 10).tap { |q| q.codec = codec }
end

def produce(id, count, batch = "1")
  q = open_queue("q")
  batch = Integer(batch)
  raise ArgumentError, "bad BATCH #{batch}" if batch < 1

  (0...Integer(count)).each_slice(batch) do |seqs|
    messages = seqs.map { |seq| "#{id}:#{seq}" }
    batch == 1 ? q.put(messages[0]) : q.put_many(messages)
  end
end

def consume
  q = open_queue("q")
  q.each { |m| $stdout.write(m, "\n") }
  $stdout.flush
end

JSON_TEXT = "h\u00e9llo \u2713"

def produce_json(id, count)
  q = open_queue("q", codec: :json)
  Integer(count).times { |seq| q.put_object({ "id" => id, "seq" => seq, "text" => JSON_TEXT }) }
end

def consume_json
  q = open_queue("q", codec: :json)
  q.each_object do |m|
    raise ArgumentError, "not the JSON message expected: #{m.inspect}" unless m["text"] == JSON_TEXT

    $stdout.write("#{m.fetch('id')}:#{m.fetch('seq')}\n")
  end
  $stdout.flush
end

def worker
  tasks = open_queue("tasks")
  results = open_queue("results")
  tasks.each { |m| results.put("done:" + m) }
end

begin
  case ARGV
  in ["produce", id, count] then produce(id, count)
  in ["produce", id, count, batch] then produce(id, count, batch)
  in ["consume"] then consume
  in ["worker"] then worker
  in ["produce-json", id, count] then produce_json(id, count)
  in ["consume-json"] then consume_json
  else raise ArgumentError, "usage: peer.rb produce ID COUNT [BATCH] | consume | worker"
  end
rescue StandardError => e
  warn "peer.rb: #{e.class}: #{e.message}"
  exit 1
end
