# frozen_string_literal: true

module Multiproc
  # A pool of worker processes (multiprocessing.Pool). Workers are started
  # by the C library by re-executing this script (spawn): register the
  # tasks with Multiproc.task(:name) { |x| ... } before Multiproc.main, and
  # name them: pool.map(:square, 1..10).
  #
  # A block cannot be given instead (pool.map(items) { ... } raises
  # ArgumentError): a closure cannot cross exec, and the workers must not
  # be forked from C under the running Ruby VM. See README.md.
  #
  # A worker that dies (SIGKILL, crash) fails only its task with
  # WorkerDiedError and is replaced; a task that raises fails with
  # TaskFailedError (its message names the exception).
  class Pool
    include Uncopyable

    NO_BLOCK = "Pool: a block cannot run in a pool worker: workers are separate ruby processes " \
               "that re-execute the script, and a closure cannot cross exec. Register the block " \
               "with Multiproc.task(:name) { |x| ... } before Multiproc.main and pass the name, " \
               "e.g. pool.map(:name, items)"

    # processes: workers (default cpu count); initializer: a task name each
    # worker runs once with initargs; maxtasksperchild: recycle a worker
    # after that many tasks. With a block: yields the pool, then closes and
    # joins it. If the block raised (or was left by throw, Timeout or
    # Thread#kill) the pool is terminated and the block's own exception
    # goes on: an error of the cleanup never replaces it.
    # Hand obj to every worker of pool options opts under name.
    def self.pass_named(opts, name, obj) # :nodoc:
      case obj
      when Queue then N.mp_pool_opts_pass_queue(opts, name, obj.ptr)
      when Connection then N.mp_pool_opts_pass_conn(opts, name, obj.ptr)
      when Handle
        raise TypeError, "a #{obj.class} cannot be passed to a pool" unless obj.class.c_fileno

        N.mp_pool_opts_pass_fd(opts, name, obj.fileno)
      else raise TypeError, "only a multiproc object can be passed to a pool, not #{obj.class}"
      end
    end

    def self.new(*args, **kw)
      pool = super
      return pool unless block_given?

      finished = false
      begin
        result = yield pool
        finished = true
      ensure
        pool.__terminate_quietly unless finished
      end
      begin
        pool.close
        pool.join
      ensure
        pool.terminate unless pool.joined?
      end
      result
    end

    # pass: { name => object } hands shared objects to every worker by
    # name, replacements included (Python's initargs with a Queue or
    # Lock): the initializer, or any task, opens them with Queue.inherit,
    # Lock.inherit, ... (see Process#pass).
    # start_method: :spawn or :forkserver (the workers forked by a server,
    # this script executed once more); nil: the process-wide default.
    def initialize(processes = nil, initializer: nil, initargs: [], maxtasksperchild: nil, pass: {},
                   start_method: nil)
      method = Multiproc.child_start_method(start_method, "Pool.new")
      unless Multiproc.main_called?
        raise StateError.new("Pool workers re-execute the script: call Multiproc.main at its top, " \
                             "after Multiproc.task")
      end
      _rc, opts = Multiproc.call_out(N.mp_pool_opts_new, "Pool.new")
      begin
        if processes
          processes = Multiproc.int_arg(processes, "Pool.new: processes", 1, UINT_MAX)
          Multiproc.check(N.mp_pool_opts_set_workers(opts, processes), "Pool.new")
        end
        Multiproc.check(N.mp_pool_opts_set_start_method(opts, method))
        if maxtasksperchild
          n = Multiproc.int_arg(maxtasksperchild, "Pool.new: maxtasksperchild", 1, UINT_MAX)
          Multiproc.check(N.mp_pool_opts_set_max_tasks_per_worker(opts, n), "Pool.new")
        end
        if initializer
          Multiproc.check(N.mp_pool_opts_set_initializer(opts, initializer.to_s, Pool.splat(initargs)),
                          "Pool initializer")
        end
        pass.each { |n, obj| Multiproc.check(Pool.pass_named(opts, n.to_s, obj), "Pool.new pass #{n}") }
        $stdout.flush
        $stderr.flush
        _rc, @pool = Multiproc.call_out(N.mp_pool_new(opts), "Pool.new")
      ensure
        N.mp_pool_opts_free(opts)
      end
      adopt(@pool, false)
    end

    # Open the pool that a program this one did not start published with
    # Broker#publish_pool (in any language), by address
    # ("unix:/run/app.sock#pool"): apply, map, imap run the owner's tasks
    # (registered there, by name) on its workers, with the same results and
    # worker-death errors; when the owner or its broker ends, the waits in
    # progress raise (BrokenPipeError, ClosedError), never hang.
    # timeout: seconds to wait for the broker (nil: no limit). raw: true
    # for an owner in another language: apply/apply_async send one String
    # as its bytes and return the result's bytes (a binary String), without
    # Marshal (map, starmap and imap need the Codec: Ruby owners only).
    # With a block, yields the pool and releases the handle at the end.
    def self.open(address, timeout: nil, raw: false, &block)
      _rc, ptr = Multiproc.call_out(N.mp_pool_open(address.to_s, Multiproc.timeout_ms(timeout)),
                                    "Pool.open #{address}")
      Multiproc.warn_after_open(address)
      pool = allocate
      pool.send(:adopt, ptr, raw)
      Handle.yield_released(pool, &block)
    end

    # Release this process's handle now rather than at garbage collection
    # (the one name in every class, see Handle#release_handle): an owned
    # pool is withdrawn from its brokers and terminated (its workers
    # killed: the pool lives in this process alone); an opened pool only
    # lets go of the owner. Its methods raise ClosedError afterwards.
    # Releasing again does nothing.
    def release_handle
      ptr = @state[0]
      return nil unless ptr

      ObjectSpace.undefine_finalizer(self)
      Pool.finalizer(@state, @publications, ::Process.pid).call
      @pool = nil
      @joined = true
      nil
    end

    # Withdraw the pool from the brokers that publish it (each a live
    # broker's state [ptr] and a name), then free it: a broker borrows the
    # C pool and must not use it once freed.
    def self.finalizer(state, publications, owner) # :nodoc:
      proc do
        ptr = state[0]
        state[0] = nil
        if ptr && ::Process.pid == owner
          publications.each { |broker, name| N.mp_broker_unpublish(broker[0], name) if broker[0] }
          N.mp_pool_free(ptr)
        end
      end
    end

    def __handle # :nodoc:
      pool
    end

    def __published(broker_state, name) # :nodoc:
      @publications << [broker_state, name]
    end

    def __unpublished(broker_state, name) # :nodoc:
      @publications.delete_if { |b, n| b.equal?(broker_state) && n == name }
    end

    # Run task with args in a worker and return its result.
    def apply(task, *args, &block)
      apply_async(task, *args, &block).get
    end

    # Submit task with args; returns an AsyncResult. callback runs with
    # the result, error_callback with the exception, on a Ruby thread of
    # this process (one at a time, in completion order).
    def apply_async(task, *args, callback: nil, error_callback: nil)
      raise ArgumentError, NO_BLOCK if block_given?

      notify = callback || error_callback ? 1 : 0
      Completions.start if notify == 1
      _rc, res = Multiproc.call_out(N.mp_rb_apply_async(pool, task.to_s, task_arg(args), notify),
                                    "apply_async #{task}")
      track(AsyncResult.new(res, false, callback, error_callback, self, raw: @raw))
    end

    # task applied to each item, in order; raises the first failure.
    # chunksize: items per message (nil: automatic, as Python).
    def map(task, items = nil, chunksize: nil)
      raise ArgumentError, NO_BLOCK if block_given?

      map_async(task, items, chunksize: chunksize).get
    end

    def map_async(task, items, chunksize: nil, callback: nil, error_callback: nil)
      raise ArgumentError, NO_BLOCK if block_given?

      no_raw("map")
      notify = callback || error_callback ? 1 : 0
      Completions.start if notify == 1
      _rc, res = Multiproc.call_out(
        N.mp_rb_map_async(pool, task.to_s, list(items), 0, Pool.chunksize(chunksize), notify), "map #{task}"
      )
      track(AsyncResult.new(res, true, callback, error_callback, self))
    end

    # map with each item an Array of arguments (Python's starmap).
    def starmap(task, items, chunksize: nil)
      raise ArgumentError, NO_BLOCK if block_given?
      no_raw("starmap")

      _rc, res = Multiproc.call_out(
        N.mp_rb_map_async(pool, task.to_s, list(items), 1, Pool.chunksize(chunksize), 0),
        "starmap #{task}"
      )
      AsyncResult.new(res, true, nil, nil, self).get
    end

    # An Enumerator over task(item) results, in order (ordered: false: as
    # they complete). Lazy: at most a few chunks per worker are in flight.
    # A failed item raises when the Enumerator reaches it.
    #
    # The Enumerator runs once, as Python's imap iterator does: its pass
    # consumes the results (stopping early, e.g. first(2), drops the rest).
    # A second pass raises StateError ("the results were already
    # consumed"); keep them with to_a, or call imap again.
    def imap(task, items = nil, chunksize: 1, ordered: true)
      raise ArgumentError, NO_BLOCK if block_given?
      no_raw("imap")

      flags = ordered ? 0 : N::MP_IMAP_UNORDERED
      chunksize = Multiproc.int_arg(chunksize, "imap: chunksize", 1, SIZE_MAX)
      _rc, iter = Multiproc.call_out(N.mp_rb_imap(pool, task.to_s, list(items), chunksize, flags),
                                     "imap #{task}")
      state = [iter] # nil once a pass took it
      Enumerator.new { |y| Pool.imap_pass(state, task, y) }
    end

    # One pass of an imap Enumerator over the iterator in state[0], which
    # it takes and frees at the end.
    def self.imap_pass(state, task, yielder) # :nodoc:
      iter = state[0]
      unless iter
        raise StateError.new("imap #{task}: the results were already consumed (an imap Enumerator " \
                             "runs once: keep them with to_a, or call imap again)")
      end

      state[0] = nil
      begin
        loop do
          rc, _index, data = N.mp_pool_iter_next(iter, FOREVER)
          break if rc.zero?
          raise Pool.failure(rc, data, "imap #{task}") if rc.negative?

          yielder << Codec.load(data)
        end
      ensure
        N.mp_pool_iter_free(iter)
      end
    end

    def imap_unordered(task, items = nil, chunksize: 1)
      imap(task, items, chunksize: chunksize, ordered: false)
    end

    # Also run, on this pool's workers, the tasks that programs on any host
    # submit to address ("redis://[user@]host[:port][/db]#name") through
    # Pool.open of the same address (a pool across hosts, mp_pool_serve):
    # tasks are looked up by name (Multiproc.task here; raw: true ones for
    # callers in other languages), arguments and results are the same bytes
    # as locally. A worker's death fails its task with WorkerDiedError
    # unless the client asked for retries; a host that vanishes is noticed
    # within MULTIPROC_REDIS_LEASE_MS (default 10 s) and its tasks retried
    # or failed; a host cut off from redis cannot publish a stale result.
    # Serving runs in the background until close (the tasks taken are
    # finished; join waits for them), terminate or release_handle (they go
    # back to the server for other hosts). timeout: seconds for the
    # registration (nil: no limit). Raises StateError when closed or
    # serving already, NotSupportedError without the redis backend.
    def serve(address, timeout: nil)
      Multiproc.check(N.mp_pool_serve(pool, address.to_s, Multiproc.timeout_ms(timeout)), "Pool#serve #{address}")
      Multiproc.warn_after_open(address)
      nil
    end

    # Run a task whose worker died (or, on a pool opened at a redis://
    # address, whose serving host vanished) again up to n times (0 to
    # 1000, default 0) before it fails with WorkerDiedError; for tasks
    # submitted afterwards. NotSupportedError on a pool opened through a
    # broker (its owner decides).
    def retries=(n)
      Multiproc.check(N.mp_pool_set_retries(pool, Integer(n)), "Pool#retries=")
    end

    # Refuse new work.
    def close
      Multiproc.check(N.mp_pool_close(pool), "Pool#close")
      nil
    end

    # Wait for the workers to finish the submitted tasks and exit (after
    # close or terminate), and for every callback to have run. Returns
    # true, or false if timeout passed.
    def join(seconds = nil, timeout: seconds)
      rc = N.mp_pool_join(pool, Multiproc.timeout_ms(timeout))
      return false if rc == N::MP_ETIMEDOUT

      Multiproc.check(rc, "Pool#join")
      @pending_lock.synchronize { @pending_done.wait(@pending_lock) until @pending.empty? }
      @joined = true
    end

    def joined?
      @joined
    end

    # Stop at once: workers are killed; unfinished tasks fail with
    # CanceledError.
    def terminate
      return unless @pool

      Multiproc.check(N.mp_pool_terminate(@pool), "Pool#terminate")
      @joined = true
      nil
    end

    # terminate for a block that is being left by its own exception, which
    # must win: a failure here is dropped.
    def __terminate_quietly # :nodoc:
      terminate
    rescue StandardError
      nil
    end

    # Counters: :submitted, :running, :done, :failed, :workers_started,
    # :workers_replaced.
    def stats
      { submitted: N::MP_POOL_SUBMITTED, running: N::MP_POOL_RUNNING, done: N::MP_POOL_DONE,
        failed: N::MP_POOL_FAILED, workers_started: N::MP_POOL_WORKERS_STARTED,
        workers_replaced: N::MP_POOL_WORKERS_REPLACED }.transform_values { |w| N.mp_pool_stat(pool, w) }
    end

    def __callback_done(result) # :nodoc:
      @pending_lock.synchronize do
        @pending.delete(result.__addr)
        @pending_done.broadcast
      end
    end

    # The exception for a failed task: the task's own exception class when
    # it can be raised here, else TaskFailedError (TaskFailedError.for).
    def self.failure(rc, data, op)
      return Multiproc.error_for(rc, op) unless data && !data.empty?

      klass = ERRORS_BY_CODE.fetch(rc) { Error }
      err = klass.new("#{op}: #{Native.mp_err_name(rc)}: #{data.dup.force_encoding(Encoding::UTF_8)}", code: rc)
      err.is_a?(TaskFailedError) ? TaskFailedError.for(err) : err
    end

    # map's chunksize: nil (automatic, 0 for the library) or >= 1.
    def self.chunksize(value)
      value.nil? ? 0 : Multiproc.int_arg(value, "map: chunksize", 1, SIZE_MAX, "nil or an Integer >= 1")
    end

    # An argument list for the worker to splat (tag "*").
    def self.splat(args)
      "*".b << Codec.dump(args)
    end

    private

    def adopt(ptr, raw)
      @pool = ptr
      @state = [ptr]
      @raw = raw
      @publications = [] # [broker state, name] of each broker publishing it
      ObjectSpace.define_finalizer(self, Pool.finalizer(@state, @publications, ::Process.pid))
      @pending = {} # results with callbacks not yet run
      @pending_lock = Mutex.new
      @pending_done = ConditionVariable.new
      @joined = false
    end

    def pool
      @pool || raise(ClosedError.new("Pool: freed"))
    end

    # apply's argument: one String as its bytes (raw), else the Codec's
    # argument list.
    def task_arg(args)
      return Pool.splat(args) unless @raw
      unless args.size == 1 && args[0].is_a?(String)
        raise ArgumentError, "a raw pool's task takes one String (its bytes), not #{args.size} arguments"
      end

      args[0]
    end

    def no_raw(what)
      raise ArgumentError, "Pool##{what}: a raw pool (Pool.open(raw: true)) has apply and apply_async only" if @raw
    end

    # The items as an Array (the extension encodes each with the Codec).
    def list(items)
      raise ArgumentError, "map needs items" if items.nil?

      items.to_a
    end

    def track(result)
      if result.__callbacks?
        @pending_lock.synchronize { @pending[result.__addr] = result }
        Completions.expect(result)
      end
      result
    end
  end
end
