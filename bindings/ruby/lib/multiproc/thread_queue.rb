# frozen_string_literal: true

module Multiproc
  # A Queue with Thread::Queue's (and Thread::SizedQueue's) semantics, for
  # code written against them: push/pop of any object (Marshal, Strings
  # as their bytes; see Codec), pop returning nil once the queue is closed
  # and drained and when timeout: expires (`while (x = q.pop(timeout: 1))`),
  # pop(true) raising ThreadError when empty, push raising
  # ClosedQueueError when closed, ThreadQueue.new(enumerable).
  #
  # It is an option, not Queue's default: Queue speaks bytes with C, Go
  # and Python peers and reports a timeout or a closed queue as an error,
  # as multiprocessing does; a nil from pop cannot tell "closed", "timed
  # out" and a queued nil apart, which is Thread::Queue's contract but
  # would silently change every existing `get` caller. The raised
  # ClosedQueueError and ThreadError (QueueEmptyError, QueueFullError) are
  # Ruby's classes and also match `rescue Multiproc::ClosedError` /
  # `EmptyError` / `FullError`. Like Queue, a ThreadQueue is shared by the
  # processes it is passed to.
  class ThreadQueue < Queue
    # items: an Enumerable pushed first (Thread::Queue.new(items)); maxsize:
    # SizedQueue's max (0: no limit); max_bytes as Queue.
    def initialize(items = nil, maxsize: 0, max_bytes: 0)
      if items && !items.respond_to?(:to_a)
        raise TypeError, "can't convert #{items.class} into Array"
      end

      super(maxsize: maxsize, max_bytes: max_bytes)
      items&.to_a&.each { |obj| push(obj) }
    end

    # Push obj (any object Marshal takes). non_block: raise ThreadError
    # (QueueFullError) instead of waiting while full; timeout: seconds,
    # then nil (SizedQueue#push). Raises ClosedQueueError when closed.
    def push(obj, non_block = false, timeout: nil)
      put(Codec.dump(obj), timeout: wait_timeout(non_block, timeout))
      self
    rescue FullError
      raise QueueFullError, "queue full" if non_block

      nil # timeout: expired
    rescue TimeoutError
      nil
    rescue ClosedError
      raise ClosedQueueError, "queue closed"
    end
    alias << push
    alias enq push

    # The oldest object; nil once the queue is closed and drained, or when
    # timeout: seconds pass. non_block: raise ThreadError (QueueEmptyError)
    # when nothing is queued.
    def pop(non_block = false, timeout: nil)
      bytes = take_or_wait(wait_timeout(non_block, timeout))
      raise QueueEmptyError, "queue empty" if bytes.nil? && non_block # closed and drained

      bytes && Codec.load(bytes)
    rescue EmptyError
      raise QueueEmptyError, "queue empty" if non_block

      nil # timeout: 0
    rescue TimeoutError
      nil
    end
    alias shift pop
    alias deq pop

    # Yield every object until the queue is closed and drained.
    def each
      return enum_for(:each) unless block_given?

      super { |bytes| yield Codec.load(bytes) }
    end

    # The objects queued now, taken without waiting.
    def drain
      super.map { |bytes| Codec.load(bytes) }
    end

    # The bound is fixed when the queue is made (it is shared memory).
    def max=(_max)
      raise NotImplementedError, "#{self.class}#max=: the bound is fixed when the queue is made"
    end

    # Thread::Queue cannot be frozen (Ruby 3.3); neither can this.
    def freeze
      raise TypeError, "cannot freeze #{self}"
    end

    private

    # The timeout in seconds (0: no wait, nil: none).
    def wait_timeout(non_block, timeout)
      if non_block && timeout
        raise ArgumentError, "can't set a timeout if non_block is enabled"
      end
      return 0 if non_block

      timeout
    end
  end
end
