# frozen_string_literal: true

module Multiproc
  # Blocks in forked workers, as the parallel gem runs them:
  #
  #   Multiproc.map(items, in_processes: 4) { |x| x * x }
  #   Multiproc.each(items, progress: "Doing") { |x| work(x) }
  #
  # The workers are forked with Ruby's Process.fork (never from C under
  # the running VM), so they see the items and every object of the parent
  # as they were at the call; no item is sent to them. A worker claims the
  # next item from a counter in shared memory (Multiproc::Value#add) and
  # puts the item's result on a Multiproc::Queue that the parent drains in
  # batches, so an item costs no round trip through the parent, and a
  # result put before its worker died is not lost. Results, Break values
  # and exceptions come back with Marshal (results through
  # Multiproc::Codec: a plain String goes as its bytes): a result Marshal
  # cannot dump (a Proc, an IO) fails its item with TypeError.

  # Raised by the block (or a start/finish hook): no new item starts, the
  # running ones finish (their finish hooks run) and map returns value.
  class Break < StandardError
    attr_reader :value

    def initialize(value = nil)
      super()
      @value = value
    end
  end

  # As Break, but the other workers are killed at once (SIGKILL).
  class Kill < Break
  end

  # The item whose worker died (SIGKILL, exit, exit!, a crash) before it
  # reported the item's result. The other items still ran (the worker is
  # replaced); map raises this at the end, for the first such item, with
  # #results the Array map would have returned (nil for the failed items).
  class DeadWorker < WorkerDiedError
    attr_reader :index, :item, :status, :failed, :results

    # failed: the indexes of every item whose worker died.
    def initialize(index, item, status, failed, results)
      @index, @item, @status, @failed, @results = index, item, status, failed, results
      how = status ? " (#{BlockMap.describe(status)})" : ""
      super("Multiproc.map: the worker running item #{index} (#{item.inspect[0, 60]}) died#{how}; " \
            "#{failed.size} item(s) failed this way")
    end
  end

  # A block's exception whose class does not exist in the parent (defined
  # inside the block), or that could not be rebuilt there: its class name,
  # message and the worker's backtrace.
  class TaskError < TaskFailedError
    attr_reader :task_exception, :task_message

    def initialize(class_name, message)
      @task_exception, @task_message = class_name, message
      super("#{class_name}: #{message}")
    end
  end

  class << self
    # items mapped by the block in in_processes forked workers (default:
    # cpu_count; 0 runs the block here, in order). Options as the parallel
    # gem's: start: ->(item, index), finish: ->(item, index, result)
    # (both called in this process, one at a time), finish_in_order:,
    # progress: (a title, true, or ruby-progressbar options). Returns the
    # results in item order; re-raises the first exception of a block with
    # its own class and the worker's backtrace.
    def map(items, in_processes: nil, **options, &block)
      BlockMap.new(items, in_processes, options, block).run
    end

    # map with the block given (item, index).
    def map_with_index(items, in_processes: nil, **options, &block)
      map(items, in_processes: in_processes, **options, with_index: true, &block)
    end

    # map for the side effects: results are not sent back unless finish:
    # needs them; returns items (or a Break's value).
    def each(items, in_processes: nil, **options, &block)
      map(items, in_processes: in_processes, **options, preserve_results: false, &block)
    end

    def each_with_index(items, in_processes: nil, **options, &block)
      each(items, in_processes: in_processes, **options, with_index: true, &block)
    end

    # Inside a block of map/each: the worker's number, 0...in_processes
    # (a replacement keeps the number of the worker it replaces); nil
    # elsewhere.
    attr_reader :worker_number

    def __worker_number=(number) # :nodoc:
      @worker_number = number
    end
  end

  # One call of Multiproc.map. The messages of its queue: kind (1 byte),
  # item index or worker number (u64), payload (Marshal). A worker puts
  # RESULT, STARTING, ERROR, BREAK or KILL for an item and DONE before it
  # exits; the parent's waiter thread of a worker puts ENDED once it
  # reaped it, behind everything the worker put.
  class BlockMap # :nodoc:
    RESULT, STARTING, ERROR, BREAK, KILL, DONE, ENDED = (1..7).to_a
    HEADER = "CQ<"
    HEADER_SIZE = 9
    GO = "g"
    OPTIONS = %i[start finish finish_in_order progress with_index preserve_results in_threads].freeze

    Worker = Struct.new(:number, :pid, :control, :waiter, :status, :clean)

    # The start hooks' pipes of the calls running in this process: a worker
    # forked by a nested call closes them (else a worker waiting for the
    # parent's word would not see the parent's end close).
    @open_ios = []

    class << self
      attr_reader :open_ios

      def describe(status)
        status.signaled? ? "signal #{Signal.signame(status.termsig)}" : "exit code #{status.exitstatus}"
      end
    end

    def initialize(items, count, options, block)
      raise ArgumentError, "Multiproc.map needs a block" unless block

      unknown = options.keys - OPTIONS
      raise ArgumentError, "Multiproc.map: unknown option(s) #{unknown.join(', ')}" unless unknown.empty?
      if options[:in_threads]
        raise ArgumentError, "Multiproc.map runs blocks in processes (in_processes:); for threads use Ruby's Thread"
      end

      @items = list(items)
      @source = items
      @block = block
      @count = [count.nil? ? Multiproc.cpu_count : Multiproc.int_arg(count, "in_processes", 0, INT_MAX),
                @items.size].min
      @with_index = options[:with_index]
      @keep = options[:preserve_results] != false
      @start = options[:start]
      @finish = finish_hook(options)
      @send_results = @keep || !@finish.nil?
      @in_order = options[:finish_in_order] ? {} : nil
      @next_finish = 0
    end

    def run
      return inline if @count.zero?

      @results = Array.new(@items.size)
      @finished = Array.new(@items.size, false)
      @dead = {}
      @claims = Value.new(:int64, count: 1 + @count)
      @queue = Queue.new
      begin
        @claim_ptr = @claims.ptr
        @workers = {}
        @count.times { |w| fork_worker(w) }
        @queue.get_many(256).each { |m| message(m) } until @workers.empty?
      ensure
        kill_workers
        @queue&.release_handle
        @claims.release_handle
      end
      outcome
    end

    private

    # --- the parent -------------------------------------------------------

    def list(items)
      if items.respond_to?(:call) || items.respond_to?(:num_waiting)
        raise ArgumentError, "Multiproc.map takes a finite collection (the workers are forked with it); " \
                             "for a producer use a Multiproc::Queue and Multiproc::Process"
      end
      items.is_a?(::Array) ? items : items.to_a
    end

    # progress: wraps finish: (a ruby-progressbar bar counts finished items).
    def finish_hook(options)
      finish = options[:finish]
      return finish unless options[:progress]

      bar = progress_bar(options[:progress])
      ->(item, index, result) { finish&.call(item, index, result); bar.increment }
    end

    def progress_bar(progress)
      begin
        require "ruby-progressbar"
      rescue LoadError => e
        raise LoadError, "Multiproc.map progress: needs the ruby-progressbar gem " \
                         "(gem install ruby-progressbar, or Debian's ruby-progressbar): #{e.message}"
      end
      progress = { title: "Progress" } if progress == true
      progress = { title: progress.to_str } if progress.respond_to?(:to_str)
      ProgressBar.create({ total: @items.size, format: "%t |%E | %B | %a" }.merge(progress))
    end

    # in_processes: 0: here, in order, with worker_number 0.
    def inline
      saved = Multiproc.worker_number
      Multiproc.__worker_number = 0
      @items.each_with_index do |item, index|
        @start&.call(item, index)
        result = @block.call(*args(item, index))
        @finish&.call(item, index, result)
        (@results ||= []) << result if @keep
      end
      @keep ? @results || [] : @source
    rescue Break => e
      e.value
    ensure
      Multiproc.__worker_number = saved
    end

    def fork_worker(number)
      control = @start ? IO.pipe : nil
      $stdout.flush
      $stderr.flush
      # No Thread#kill or Timeout between the fork and the bookkeeping: the
      # ensure that kills the workers would not know this one, which would
      # run on alone.
      Thread.handle_interrupt(Object => :never) do
        pid = ::Process.fork do # the worker itself takes interrupts as usual
          Thread.handle_interrupt(Object => :immediate) { worker_main(number, control&.first, [control&.last]) }
        end
        control&.first&.close
        worker = Worker.new(number, pid, control&.last, nil, nil, false)
        worker.waiter = Thread.new { reap(worker) }
        @workers[number] = worker
        BlockMap.open_ios << worker.control if worker.control
      end
    end

    # A worker's waiter thread: the status, then ENDED behind the worker's
    # own messages (none is lost or reordered by the worker's death).
    def reap(worker)
      begin
        _pid, worker.status = ::Process.wait2(worker.pid)
      rescue SystemCallError
        nil # reaped elsewhere (Process.wait(-1)): the status is unknown
      end
      @queue.put([ENDED, worker.number].pack(HEADER))
    rescue Error
      nil # a Kill closed the queue
    end

    def message(msg)
      kind, index = msg.unpack(HEADER)
      return if @killed

      payload = msg.byteslice(HEADER_SIZE, msg.bytesize)
      case kind
      when RESULT then finished(index, payload.empty? ? nil : N.mp_rb_codec_load(payload))
      when STARTING then starting(index, payload)
      when ERROR then failed(BlockMap.load_exception(payload))
      when BREAK, KILL then failed(Marshal.load(payload)) # rubocop:disable Security/MarshalLoad
      when DONE then @workers[index].clean = true
      when ENDED then ended(@workers[index])
      end
    end

    def finished(index, result)
      @finished[index] = true
      @results[index] = result if @keep
      return unless @finish && !@killed

      hook { @in_order ? finish_in_order(index, result) : @finish.call(@items[index], index, result) }
    end

    # Hold results back until every earlier item finished (or failed).
    def finish_in_order(index, result)
      @in_order[index] = result
      while @next_finish < @items.size
        if @in_order.key?(@next_finish)
          @finish.call(@items[@next_finish], @next_finish, @in_order.delete(@next_finish))
        elsif !@dead.key?(@next_finish)
          break
        end
        @next_finish += 1
      end
    end

    # A worker waits for the parent's word before it runs an item when a
    # start hook is given: the hook runs first, and a hook that raises
    # keeps the item from running (as in the gem).
    def starting(index, number)
      go = !@stopped && hook { @start.call(@items[index], index) }
      @workers[number.unpack1("Q<")].control.write(go ? GO : "s")
    rescue SystemCallError, IOError
      nil # the worker died meanwhile, or a Kill closed its pipe
    end

    # Run a hook; its exception (Break and Kill included) ends the map as
    # a block's would. Returns whether the hook returned.
    def hook
      yield
      true
    rescue StandardError => e
      failed(e)
      false
    end

    # The first exception, Break or Kill wins; no item starts after it.
    def failed(error)
      @error ||= error
      stop
      kill_workers if error.is_a?(Kill)
    end

    def stop
      @stopped = true
      N.mp_value_add_i64(@claim_ptr, 0, @items.size)
    end

    def ended(worker)
      @workers.delete(worker.number)
      BlockMap.forget(worker.control)
      worker.waiter.join
      return if worker.clean || @killed

      @death = worker.status || :unknown
      _rc, current = N.mp_value_get_i64(@claim_ptr, 1 + worker.number)
      index = current - 1
      @dead[index] = worker.status if index >= 0 && !@finished[index]
      _rc, claimed = N.mp_value_get_i64(@claim_ptr, 0)
      fork_worker(worker.number) if claimed < @items.size
    end

    def kill_workers
      return unless @workers

      @killed = true unless @workers.empty?
      @workers.each_value { |w| BlockMap.signal_kill(w.pid) }
      @queue.close # a waiter's put must not wait for a parent that stopped reading
      @workers.each_value do |w|
        BlockMap.forget(w.control)
        w.waiter.join
      end
      @workers.clear
    end

    def outcome
      raise @error if @error && !@error.is_a?(Break)
      return @error.value if @error

      lost_claims
      unless @dead.empty?
        index = @dead.keys.min
        raise DeadWorker.new(index, @items[index], @dead[index], @dead.keys.sort, @keep ? @results : nil)
      end
      @keep ? @results : @source
    end

    # An item claimed by a worker killed between claiming it and recording
    # the claim has no result and no dead entry: it failed as well.
    def lost_claims
      return unless @death

      status = @death == :unknown ? nil : @death
      @finished.each_with_index { |done, index| @dead[index] ||= status unless done }
    end

    def args(item, index)
      @with_index ? [item, index] : [item]
    end

    # --- a worker -----------------------------------------------------------

    # Ends with exit! (no at_exit handler or finalizer of the parent runs
    # twice): 0 after the DONE frame, exit's status, or 1 (the block's
    # SignalException, a broken pipe to a parent that is gone).
    def worker_main(number, control, others)
      status = 1
      BlockMap.close(*BlockMap.open_ios, *others)
      BlockMap.open_ios.replace([control])
      Multiproc.__worker_number = number
      work(number, control)
      @queue.put([DONE, number].pack(HEADER))
      status = 0
    rescue SystemExit => e
      status = e.status
    ensure
      exit!(status)
    end

    def work(number, control)
      queue = @queue
      loop do
        _rc, claimed = N.mp_value_add_i64(@claim_ptr, 0, 1)
        index = claimed - 1
        break if index >= @items.size

        N.mp_value_set_i64(@claim_ptr, 1 + number, claimed)
        break if @start && !allowed?(number, control, index)

        kind, payload = run_item(index)
        queue.put([kind, index].pack(HEADER) << payload)
        next if kind == RESULT

        N.mp_value_add_i64(@claim_ptr, 0, @items.size) # stop the others claiming
        break
      end
    end

    def allowed?(number, control, index)
      @queue.put([STARTING, index, number].pack("#{HEADER}Q<"))
      control.read(1) == GO
    end

    def run_item(index)
      result = @with_index ? @block.call(@items[index], index) : @block.call(@items[index])
      [RESULT, @send_results ? N.mp_rb_codec_dump(result) : "".b]
    rescue Break => e
      [e.is_a?(Kill) ? KILL : BREAK, BlockMap.dump_break(e)]
    rescue NoMemoryError, SignalException, SystemExit
      raise # the worker ends: its item fails as a dead worker's
    rescue Exception => e # rubocop:disable Lint/RescueException
      [ERROR, BlockMap.dump_exception(e)]
    end

    class << self
      def close(*ios)
        ios.each { |io| io.close if io && !io.closed? }
      end

      def forget(io)
        return unless io

        io.close unless io.closed?
        open_ios.delete(io)
      end

      def signal_kill(pid)
        ::Process.kill(:KILL, pid)
      rescue Errno::ESRCH
        nil
      end

      # A Break travels as itself, or as a plain one of its class when its
      # value (or its cause) cannot be dumped.
      def dump_break(error)
        Marshal.dump(error)
      rescue StandardError
        Marshal.dump(error.class.new(error.value)) rescue Marshal.dump(error.class.new) # rubocop:disable Style/RescueModifier
      end

      # The exception's class name, message, backtrace and, when Marshal
      # can dump it, the exception itself.
      def dump_exception(error)
        whole = begin
          Marshal.dump(error)
        rescue StandardError
          nil
        end
        Marshal.dump([error.class.name, error.message.to_s, error.backtrace, whole])
      end

      # The exception of a worker: itself if its class exists here, else
      # its class built from the message, else a TaskError naming it; with
      # the worker's backtrace.
      def load_exception(payload)
        name, message, backtrace, whole = Marshal.load(payload) # rubocop:disable Security/MarshalLoad
        error = rebuild(name, message, whole)
        error.set_backtrace(backtrace) if backtrace
        error
      end

      def rebuild(name, message, whole)
        return Marshal.load(whole) if whole # rubocop:disable Security/MarshalLoad

        klass = Object.const_get(name) if name
        klass.is_a?(Class) && klass <= Exception ? klass.exception(message) : TaskError.new(name, message)
      rescue StandardError # the class is unknown here, or cannot be built from a message
        TaskError.new(name, message)
      end
    end
  end
end
