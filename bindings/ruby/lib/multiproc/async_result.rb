# frozen_string_literal: true

# What a pool hands back: AsyncResult (apply_async, map_async) and the
# thread that runs its callbacks (Completions). The pool itself is in
# pool.rb.
module Multiproc
  # The pending or finished outcome of apply_async / map_async
  # (AsyncResult).
  class AsyncResult
    include Uncopyable

    def initialize(res, many, callback, error_callback, pool, raw: false) # :nodoc:
      @res = res
      @raw = raw
      @many = many
      @callback = callback
      @error_callback = error_callback
      @pool = pool
      # The callbacks run on the completion thread after the library
      # reports the result finished: as in Python, the result is ready to
      # others only once they returned (see #__complete).
      @called_back = !__callbacks?
      @calling_back = nil # the thread running the callback
      @called_lock = Mutex.new
      @called_cv = ConditionVariable.new
      ObjectSpace.define_finalizer(self, Handle.finalizer([res], :mp_result_free, ::Process.pid))
    end

    # Release this process's handle on the result now rather than at
    # garbage collection (the one name in every class, see
    # Handle#release_handle); the pool keeps what it needs. Its methods
    # raise ClosedError afterwards; releasing again does nothing.
    def release_handle
      return unless @res

      ptr = @res
      @res = nil
      ObjectSpace.undefine_finalizer(self)
      N.mp_result_free(ptr)
      nil
    end

    # The result (for map: the Array of results); raises the task's
    # failure (TaskFailedError, WorkerDiedError, CanceledError), or
    # TimeoutError after timeout seconds.
    def get(seconds = nil, timeout: seconds)
      unless wait(timeout: timeout)
        raise Multiproc.error_for(N::MP_ETIMEDOUT, "AsyncResult#get")
      end

      fetch
    end

    # Wait until ready (the callback, if any, has run): true, or false after
    # timeout seconds.
    def wait(seconds = nil, timeout: seconds)
      deadline = timeout && ::Process.clock_gettime(::Process::CLOCK_MONOTONIC) + timeout
      rc = N.mp_result_wait(res, Multiproc.timeout_ms(timeout))
      raise Multiproc.error_for(rc, "AsyncResult#wait") if rc == N::MP_EINVAL
      rc.zero? && wait_called_back(deadline)
    end

    def ready?
      Multiproc.check(N.mp_result_ready(res)) == 1 && called_back?
    end

    def successful?
      raise StateError.new("AsyncResult#successful?: not ready") unless ready?

      Multiproc.check(N.mp_result_successful(res), "AsyncResult#successful?") == 1
    end

    def __addr # :nodoc:
      N.mp_rb_result_addr(res)
    end

    def __callbacks? # :nodoc:
      !(@callback.nil? && @error_callback.nil?)
    end

    # Run the callbacks (on the completion thread), then let the waiters go.
    # The library's record can come a moment before it marks the result
    # finished: wait for that without a timeout.
    def __complete # :nodoc:
      @calling_back = Thread.current
      value = begin
        N.mp_result_wait(res, FOREVER)
        fetch
      rescue Error => e
        e
      end
      if value.is_a?(Error)
        @error_callback&.call(value)
      else
        @callback&.call(value)
      end
    rescue Exception => e # rubocop:disable Lint/RescueException
      warn "multiproc: a pool callback raised #{e.class}: #{e.message}"
    ensure
      @called_lock.synchronize do
        @called_back = true
        @called_cv.broadcast
      end
      @pool.__callback_done(self)
    end

    private

    def res
      @res || raise(ClosedError.new("AsyncResult: the handle was released"))
    end

    # The finished result's value; raises the task's failure.
    def fetch
      rc, data = N.mp_result_get(res, 0)
      raise Multiproc.error_for(rc, "AsyncResult#get") if rc == N::MP_ETIMEDOUT || rc == N::MP_EINVAL
      return items if @many
      raise Pool.failure(rc, data, "task") if rc.negative?
      return (data || "".b) if @raw

      Codec.load(data)
    end

    # Inside its own callback a result is finished already.
    def called_back?
      @called_back || @calling_back == Thread.current
    end

    # Wait for the callback to have run, until deadline (nil: no limit).
    def wait_called_back(deadline)
      @called_lock.synchronize do
        until called_back?
          left = deadline && deadline - ::Process.clock_gettime(::Process::CLOCK_MONOTONIC)
          return false if left && left <= 0

          @called_cv.wait(@called_lock, left)
        end
      end
      true
    end

    # Every item of a finished map, decoded in one call; raises the first
    # failure.
    def items
      failure = []
      values = N.mp_rb_result_values(res, failure)
      Multiproc.check(values, "map") if values.is_a?(Integer)
      raise Pool.failure(*failure, "map item") unless values

      values
    end
  end

  # The Ruby thread that runs pool callbacks: the library's callback thread
  # writes each finished result's address to a pipe (it must not call
  # Ruby); this thread reads it and runs the result's blocks.
  module Completions
    @lock = Mutex.new
    @arrived = ConditionVariable.new
    @expected = {}
    @thread = nil

    class << self
      def start
        @lock.synchronize do
          return if @thread && @owner == ::Process.pid

          @owner = ::Process.pid
          @reader, writer = IO.pipe
          @writer = writer # kept open for the library
          N.mp_rb_set_notify_fd(writer.fileno)
          reader = @reader
          @thread = Thread.new { run(reader) }
          @thread.name = "multiproc-callbacks"
        end
      end

      def expect(result)
        @lock.synchronize do
          @expected[result.__addr] = result
          @arrived.broadcast
        end
      end

      private

      def run(reader)
        while (record = reader.read(8))
          addr = record.unpack1("Q")
          # The record can come before expect() ran (a fast task).
          result = @lock.synchronize do
            @arrived.wait(@lock) until @expected.key?(addr)
            @expected.delete(addr)
          end
          result.__complete
        end
      end
    end
  end
end
