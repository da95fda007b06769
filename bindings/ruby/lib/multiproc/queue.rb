# frozen_string_literal: true

module Multiproc
  # A multi-producer, multi-consumer queue of byte messages in shared
  # memory, usable from every process it reaches (Python's Queue /
  # JoinableQueue). Messages are binary Strings of any size;
  # put_object/get_object carry any object through Marshal.
  #
  # #close ends the stream for everyone: consumers drain what is queued,
  # then get raises ClosedError and #each stops. No poison pills.
  #
  # Not Enumerable: every Enumerable method would take messages from the
  # queue (q.max would wait until the queue is closed, consuming it, where
  # a SizedQueue user wants the bound). Taking is always spelled out:
  # #each (until closed and drained; q.each.to_a, q.each.first(3) when an
  # Enumerable is wanted) and #drain (what is queued now). See ThreadQueue
  # for Thread::Queue's semantics.
  class Queue < Handle
    prepend WithCodec
    # The largest message #put first tries without waiting (below the
    # smallest ring's streaming size).
    TRY_MAX = 512

    c_functions free: :mp_queue_free, fileno: :mp_queue_fileno, from_fd: :mp_queue_from_fd,
                open: :mp_queue_open

    # maxsize: the most messages queued at once (0: no limit); max_bytes:
    # the shared ring's size (0: 1 MiB); joinable: count task_done (join);
    # codec: of the object methods (put_object, get_object, each_object):
    # :marshal, :json or :raw (see Codecs).
    def initialize(maxsize: 0, max_bytes: 0, joinable: false, codec: :marshal)
      self.codec = codec
      maxsize = Multiproc.int_arg(maxsize, "Queue.new: maxsize", 0, SIZE_MAX,
                                  "an Integer >= 0 (0: no limit)")
      max_bytes = Multiproc.int_arg(max_bytes, "Queue.new: max_bytes", 0, SIZE_MAX,
                                    "an Integer >= 0 (0: 1 MiB)")
      flags = joinable ? N::MP_QUEUE_JOINABLE : 0
      _rc, ptr = Multiproc.call_out(N.mp_queue_new(maxsize, max_bytes, flags), "Queue.new")
      adopt(ptr)
    end

    # Which message a get returned from a queue on a redis server: id
    # names it for its whole life (the same on every delivery: a consumer
    # that must not act twice dedupes by it), count is how often it was
    # delivered, this time included (2 or more: a consumer that had it
    # died or was cut off before it was done).
    Delivery = Struct.new(:id, :count) do
      def redelivered?
        count > 1
      end
    end

    # Create the queue of address "redis://[user@]host[:port][/db]#name"
    # with these settings, or open the one already there if it has the same
    # settings: every program sharing it can call this, in any order
    # (Queue.open of a name with no queue makes a plain unbounded one).
    # maxsize: the most messages queued at once (0: no limit); joinable:
    # count task_done (join); timeout: seconds for connecting and the reply
    # (nil: no limit); codec: as for Queue.new. With a block, yields the
    # queue and releases its handle when the block ends. Raises
    # InvalidArgumentError (not a redis:// address, a bad maxsize),
    # ExistsError (the queue exists with other settings), and the errors of
    # Queue.open on a redis server.
    def self.new_at(address, maxsize: 0, joinable: false, timeout: nil, codec: :marshal, &block)
      maxsize = Multiproc.int_arg(maxsize, "Queue.new_at: maxsize", 0, SIZE_MAX,
                                  "an Integer >= 0 (0: no limit)")
      flags = joinable ? N::MP_QUEUE_JOINABLE : 0
      queue = wrap(opened(:mp_queue_new_at, address, timeout, maxsize, flags))
      queue.codec = codec
      Handle.yield_released(queue, &block)
    end

    # In a program started by a Multiproc::Command that passed a queue
    # under name (Command#pass), open it.
    def self.inherit(name)
      _rc, ptr = Multiproc.call_out(N.mp_queue_inherit(name.to_s), "Queue.inherit #{name}")
      wrap(ptr)
    end

    # Put one message (a String, sent as its bytes). timeout: seconds
    # (nil: wait while full). Raises TimeoutError, FullError (timeout 0),
    # ClosedError.
    def put(message, timeout: nil)
      # The hot path: no method call for the handle or a nil timeout;
      # mp_rb_queue_put (ext/multiproc/queue_ext.cxx) checks that message is a String and
      # raises the error.
      # The try (timeout 0) first, uncounted; only a put that must wait
      # pays for #num_waiting's count (and the error of the try: FullError,
      # or TimeoutError behind another process's large message).
      # A message that may be streamed (larger than TRY_MAX) skips the try:
      # a try that cannot finish a stream aborts it, after copying chunks
      # for nothing.
      if message.is_a?(String) && message.bytesize > TRY_MAX && timeout != 0
        waiting { N.mp_rb_queue_put(ptr, message, timeout && Multiproc.timeout_ms(timeout)) }
        return self
      end

      tried = true
      N.mp_rb_queue_put(@state[0] || ptr, message, 0)
      self
    rescue FullError, TimeoutError
      raise if timeout == 0 || !tried # rubocop:disable Style/NumericPredicate

      waiting { N.mp_rb_queue_put(ptr, message, timeout && Multiproc.timeout_ms(timeout)) }
      self
    end

    def <<(message)
      put(message)
    end

    def put_nowait(message)
      put(message, timeout: 0)
    end

    # Get the oldest message as a binary String. Raises TimeoutError,
    # EmptyError (timeout 0), ClosedError (closed and drained).
    def get(timeout: nil)
      # mp_rb_queue_get (ext/multiproc/queue_ext.cxx) raises the error.
      # As #put: the uncounted try first (TimeoutError: it stopped in the
      # middle of a large message, which the handle keeps for the wait).
      N.mp_rb_queue_get(@state[0] || ptr, 0, false)
    rescue EmptyError, TimeoutError
      raise if timeout == 0 # rubocop:disable Style/NumericPredicate

      waiting { N.mp_rb_queue_get(ptr, timeout && Multiproc.timeout_ms(timeout), false) }
    end

    def get_nowait
      get(timeout: 0)
    end

    # Put every String of messages (an Array), in order, as many #put
    # calls would, but taking the queue's lock once for as many as fit:
    # for many small messages several times the rate of #put. timeout:
    # seconds for the whole call (nil: wait while full; 0: put what fits
    # now). Returns self. Raises TypeError (a message is not a String;
    # nothing is put), TimeoutError, FullError, ClosedError: the messages
    # before the one that failed went in, and the error's #put_count says
    # how many.
    def put_many(messages, timeout: nil)
      done = N.mp_rb_queue_put_many(@state[0] || ptr, messages, timeout && Multiproc.timeout_ms(timeout))
      return self if done.is_a?(Integer)

      rc, count = done
      error = Multiproc.error_for(rc, "Queue#put_many")
      error.put_count = count
      raise error
    end

    # Get the oldest message and the messages queued right behind it, up to
    # max of them (and 16 KiB in all; a larger first message comes alone),
    # as an Array of binary Strings. Only the first is waited for (timeout
    # as #get); the Array is never empty. The counterpart of #put_many.
    # Messages got are taken from the queue: a consumer that stops half-way
    # through the Array still took all of them.
    def get_many(max = 256, timeout: nil)
      max = Multiproc.int_arg(max, "Queue#get_many: max", 1, INT64_MAX)
      N.mp_rb_queue_get_many(@state[0] || ptr, max, timeout && Multiproc.timeout_ms(timeout), false)
    end

    # #get_many without a String per message: the messages go into buffer
    # (a String whose bytesize is the room, e.g. "\0".b * 16384), back to
    # back from offset 0, and the Array of their lengths comes back
    # (message i starts where message i-1 ends). The allocation-free way
    # to drain a busy queue. A first message longer than buffer is not
    # taken: NoSpaceError, whose #size_needed is its length.
    def get_many_into(buffer, max = 256, timeout: nil)
      max = Multiproc.int_arg(max, "Queue#get_many_into: max", 1, INT64_MAX)
      lens = N.mp_rb_queue_get_many_into(@state[0] || ptr, buffer, max,
                                         timeout && Multiproc.timeout_ms(timeout), false)
      return lens unless lens[0].negative?

      error = Multiproc.error_for(lens[0], "Queue#get_many_into")
      error.size_needed = lens[1]
      raise error
    end

    # Get the oldest message into buffer, a String whose bytesize is the
    # room (e.g. "\0".b * 4096), and return the message's length: the
    # message is buffer.byteslice(0, length). A longer message is not
    # taken: NoSpaceError, whose #size_needed is its length. Otherwise as
    # #get.
    def get_into(buffer, timeout: nil)
      rc, len = N.mp_rb_queue_get_into(ptr, buffer, Multiproc.timeout_ms(timeout))
      return len unless rc.negative?

      error = Multiproc.error_for(rc, "Queue#get_into")
      error.size_needed = len if rc == N::MP_ENOSPC
      raise error
    end

    # Put obj encoded by the queue's codec (EncodeError puts nothing).
    def put_object(obj, timeout: nil)
      put(encode(obj, "Queue#put_object"), timeout: timeout)
    end

    # Get one message decoded by the queue's codec; a message that does not
    # decode is taken all the same and raises DecodeError.
    def get_object(timeout: nil)
      decode(get(timeout: timeout), "Queue#get_object")
    end

    # Yield every message until the queue is closed and drained.
    def each
      return enum_for(:each) unless block_given?

      while (message = take_or_wait(nil)) # nil: closed and drained
        yield message
      end
      self
    end

    # Yield every object (put_object) until the queue is closed and drained.
    def each_object
      return enum_for(:each_object) unless block_given?

      each { |m| yield decode(m, "Queue#each_object") }
    end

    # The messages queued now, oldest first, taken without waiting (an
    # empty Array when there are none, also when closed): the explicit
    # "take everything" that Enumerable methods would do by surprise.
    def drain
      out = []
      loop { out.concat(get_many(256, timeout: 0)) }
    rescue EmptyError, ClosedError
      out
    end

    # Discard the messages queued now (Thread::Queue#clear). Returns self.
    def clear
      drain
      self
    end

    # Close the queue for every process (see the class comment). Closing
    # again does nothing. The handle stays usable for gets; see #release.
    # Returns self, as Thread::Queue#close does.
    def close
      Multiproc.check(N.mp_queue_close(ptr), "Queue#close")
      self
    end

    # Whether the queue was closed, by any process.
    def closed?
      Multiproc.check(N.mp_queue_closed(ptr), "Queue#closed?") == 1
    end

    # The most messages queued at once (maxsize:), nil for no limit: the
    # SizedQueue#max reader (the bound is fixed when the queue is made).
    def max
      n = Multiproc.check(N.mp_queue_maxsize(ptr), "Queue#max")
      n.zero? ? nil : n
    end

    # Threads of this process waiting in a put/get (push/pop) of this
    # Queue object now; waits in other processes are not seen.
    def num_waiting
      @waiting || 0
    end

    def size
      Multiproc.check(N.mp_queue_qsize(ptr), "Queue#size")
    end
    alias qsize size
    alias length size

    def empty?
      Multiproc.check(N.mp_queue_empty(ptr)) == 1
    end

    # Whether a put would wait now (a snapshot): maxsize messages queued,
    # or too few bytes free for a message of up to a quarter of the ring
    # (max_bytes / 4 - 24 bytes). When false, a put of such a message goes
    # in without waiting, unless another producer gets there first; a
    # larger message is streamed and may wait for consumers anyway.
    def full?
      Multiproc.check(N.mp_queue_full(ptr)) == 1
    end

    # The Delivery (id and count) of the last message got through this
    # handle from a queue on a redis server. With several threads getting
    # through one handle the last get of any of them counts: give each its
    # own. Raises NotSupportedError (a local queue: it delivers each
    # message once and keeps no ids), StateError (nothing got yet).
    def last_delivery
      _rc, count, id = Multiproc.call_out(N.mp_queue_last_delivery(ptr), "Queue#last_delivery")
      Delivery.new(id, count)
    end

    # JoinableQueue: mark one message got by this process as processed.
    def task_done
      Multiproc.check(N.mp_queue_task_done(ptr), "Queue#task_done")
      nil
    end

    # JoinableQueue: wait until every message put was got and task_done.
    # Returns true, or false when timeout passed.
    def join(seconds = nil, timeout: seconds)
      rc = N.mp_queue_join(ptr, Multiproc.timeout_ms(timeout))
      return false if rc == N::MP_ETIMEDOUT

      Multiproc.check(rc, "Queue#join")
      true
    end

    private

    # The oldest message, nil once closed and drained; an uncounted try
    # first, then a wait (timeout: seconds or nil) counted in #num_waiting.
    def take_or_wait(timeout)
      N.mp_rb_queue_get(@state[0] || ptr, 0, true)
    rescue EmptyError, TimeoutError
      raise if timeout == 0 # rubocop:disable Style/NumericPredicate

      waiting { N.mp_rb_queue_get(ptr, timeout && Multiproc.timeout_ms(timeout), true) }
    end

    # Counts the caller in #num_waiting for the call (a wait).
    def waiting
      @waiting = (@waiting || 0) + 1
      yield
    ensure
      @waiting -= 1
    end
  end
end
