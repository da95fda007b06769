# frozen_string_literal: true

module Multiproc
  # Controls shared by every child backed by a C process handle: a spawned
  # target child (Process with target:) and a command (Popen).
  module ChildHandle
    include Uncopyable

    # Wait until the child ends (timeout seconds, nil = forever; also
    # join(timeout: s)). Returns its exit code, or nil if it still runs
    # after timeout.
    def join(seconds = nil, timeout: seconds)
      rc = N.mp_process_join(handle, Multiproc.timeout_ms(timeout))
      return nil if rc == N::MP_ETIMEDOUT

      Multiproc.check(rc, "#{self.class}#join")
      exitcode
    end
    alias wait join

    # Python's exitcode: the exit status, -N if signal N ended the child,
    # nil while it runs (or before start).
    def exitcode
      return nil unless @handle

      rc, code = N.mp_process_exitcode(@handle)
      rc == N::MP_ESTATE ? nil : Multiproc.call_out([rc, code], "exitcode")[1]
    end

    def alive?
      !@handle.nil? && Multiproc.check(N.mp_process_is_alive(@handle)) == 1
    end

    def pid
      @handle && Multiproc.check(N.mp_process_pid(@handle), "pid")
    end

    # Send signal (a name like :TERM or a number) to the child, or with
    # group: true to its process group. A no-op once the child ended.
    def signal(sig, group: false)
      signum = if sig.is_a?(Integer)
                 Multiproc.int_arg(sig, "signal", 0, INT_MAX)
               else
                 Signal.list.fetch(sig.to_s.delete_prefix("SIG")) do
                   raise InvalidArgumentError, "signal: no signal named #{sig.inspect}"
                 end
               end
      Multiproc.check(N.mp_process_signal(handle, signum, group ? N::MP_SIGNAL_GROUP : 0), "signal")
      nil
    end

    def terminate
      Multiproc.check(N.mp_process_terminate(handle), "terminate")
      nil
    end

    def kill
      Multiproc.check(N.mp_process_kill(handle), "kill")
      nil
    end

    # Stop the child: TERM, wait up to grace seconds, KILL, wait; returns
    # the exit code. group: true signals the whole process group.
    def stop(grace: 3.0, group: false)
      _rc, steps = Multiproc.call_out(N.mp_stop_new, "stop")
      begin
        N.mp_stop_add(steps, N::MP_STOP_TERMINATE, Multiproc.timeout_ms(grace))
        N.mp_stop_add(steps, N::MP_STOP_KILL, FOREVER)
        Multiproc.check(N.mp_process_stop(handle, steps, group ? N::MP_SIGNAL_GROUP : 0), "stop")
      ensure
        N.mp_stop_free(steps)
      end
      exitcode
    end

    # Free the C handle now rather than at garbage collection, for a child
    # that nobody else holds (Command#run's). The object knows nothing of
    # its child afterwards.
    def release_handle
      return unless @handle

      ObjectSpace.undefine_finalizer(self)
      N.mp_process_free(@handle)
      @handle = nil
    end
    Deprecated.deprecate(self, :free_handle, :release_handle) # before 0.2

    # A descriptor that becomes readable when the child ends (see
    # Process#sentinel); owned by this object, valid until it is released.
    def sentinel
      Multiproc.check(N.mp_rb_process_sentinel(handle), "sentinel")
    end

    def __wait_entry # :nodoc:
      [N::MP_WAIT_PROCESS, handle]
    end

    private

    def handle
      @handle || raise(StateError.new("#{self.class}: not started"))
    end

    def adopt_handle(ptr)
      @handle = ptr
      ObjectSpace.define_finalizer(self, Handle.finalizer([ptr], :mp_process_free, ::Process.pid))
    end
  end

  # A child process (Python's multiprocessing.Process), two ways:
  #
  #   Multiproc::Process.new(name: "w") { |x| ... }      # fork: Ruby's own
  #   Multiproc::Process.new(target: :work, args: [q])   # spawn: re-executes
  #                                                      # the script
  #
  # With a block the child is forked with Ruby's Process.fork (never from C
  # under the running VM) and runs the block with args; it sees a copy of
  # the parent's objects and may use every multiproc object it inherits.
  # With target: the child re-executes this ruby command line (options and
  # script included); Multiproc.main there runs the block registered with
  # Multiproc.register(target) with args (Marshal; multiproc objects among
  # them are passed as descriptors). Either way the block's exception
  # makes exit code 1 (printed on stderr), exit(n) makes n.
  #
  # A subclass may define #run instead (Python's `class X(Process)` with
  # run()): Process.new without target: or block forks and calls run on
  # the child's copy of the object, so what run changes stays in the child.
  #
  # At exit the parent joins its non-daemon children and terminates its
  # daemon children (Python's behaviour); a daemon child also dies when the
  # parent is killed.
  class Process
    include ChildHandle

    attr_reader :name, :target, :args

    @counter = 0
    @children = []
    @children_lock = Mutex.new

    class << self
      def next_name
        @children_lock.synchronize { "Process-#{@counter += 1}" }
      end

      def track(child)
        @children_lock.synchronize do
          @children.reject! { |c| c.exitcode }
          @children << child
        end
        install_exit_handler
      end

      # Python's exit behaviour: terminate daemons, join the others.
      def finish_children
        children = @children_lock.synchronize { @children.dup }
        children.select(&:daemon?).each { |c| c.terminate if c.alive? }
        children.each(&:join)
      rescue StandardError
        nil
      end

      # The children started by this process that still run (Python's
      # active_children()); the ended ones are forgotten.
      # Hand obj to the not yet started C process ptr under name.
      def pass_named(ptr, name, obj) # :nodoc:
        case obj
        when Queue then N.mp_process_pass_queue(ptr, name, obj.ptr)
        when Connection then N.mp_process_pass_conn(ptr, name, obj.ptr)
        else N.mp_process_pass_fd2(ptr, name, obj.fileno)
        end
      end

      def active_children
        @children_lock.synchronize do
          @children.reject!(&:exitcode)
          @children.dup
        end
      end

      # In a forked child: the parent's children are not ours.
      def __forget_children # :nodoc:
        @children_lock = Mutex.new
        @children = []
      end

      private

      def install_exit_handler
        return if @exit_handler

        @exit_handler = true
        owner = ::Process.pid
        at_exit { finish_children if ::Process.pid == owner }
      end
    end

    # target: a name given to Multiproc.register (spawn), or a block (fork),
    # or neither in a subclass that defines run (fork). args: the target's
    # arguments. name: default "Process-N". daemon: die with the parent.
    # start_method: of a target: child, :spawn or :forkserver (a server,
    # this script executed once more, forks it: faster than :spawn); nil:
    # the process-wide default (Multiproc.set_start_method).
    def initialize(target: nil, args: [], name: nil, daemon: false, pass: {}, start_method: nil, &block)
      if target && block
        raise ArgumentError, "give a target: name (spawn) or a block (fork), not both"
      end
      block ||= method(:run) if target.nil? && respond_to?(:run, true)
      unless target || block
        raise ArgumentError, "give a target: name (spawn) or a block (fork), or define run in a subclass"
      end

      @target = target&.to_s
      @block = block
      @args = args
      @daemon = daemon ? true : false
      @name = name || Process.next_name
      @start_method = Multiproc.child_start_method(start_method, "Process.new") if @target
      @started = false
      @passed = {}
      pass.each { |n, obj| self.pass(n, obj) }
    end

    # Hand a shared object to a target: child under name (letters, digits,
    # _) before start; the child opens it as a command's program does:
    # Queue.inherit(name), Connection.inherit(name), Lock.inherit(name),
    # ... (in C mp_*_inherit, in Go InheritQueue, ...). Only that child
    # sees the name. Also Process.new(target:, pass: { "jobs" => q }).
    # A block (fork) child shares the parent's objects: give them as args.
    def pass(name, obj)
      raise StateError.new("Process#pass: already started") if @started
      raise ArgumentError, "Process#pass: a forked (block) child shares the parent's objects; " \
                           "give them as args" unless @target
      unless obj.is_a?(Handle) && (obj.is_a?(Queue) || obj.is_a?(Connection) || obj.class.c_fileno)
        raise TypeError, "only a multiproc object can be passed to a process, not #{obj.class}"
      end
      name = name.to_s
      raise ExistsError.new("Process#pass: '#{name}' is already passed") if @passed.key?(name)

      @passed[name] = obj
      self
    end

    def daemon?
      @daemon
    end

    def daemon=(value)
      raise StateError.new("Process#daemon=: already started") if @started

      @daemon = value ? true : false
    end

    # Start the child; returns self.
    def start
      raise StateError.new("Process#start: already started") if @started

      @started = true
      @block ? start_fork : start_spawn
      Process.track(self)
      self
    end

    def started?
      @started
    end

    # A descriptor (Integer) that becomes readable when the child ends
    # and stays readable (Python's Process#sentinel), for IO.select or
    # Multiproc.wait. A forked child's is a pipe the child holds open; a
    # spawned child's is its pidfd. Owned by this object: do not close it.
    # Raises StateError before start.
    def sentinel
      raise StateError.new("Process#sentinel: not started") unless @started
      return @sentinel_io.fileno if @sentinel_io

      super
    end

    def __wait_entry # :nodoc:
      raise StateError.new("Process: not started") unless @started
      return [N::MP_WAIT_FD, @sentinel_io.fileno] if @sentinel_io

      super
    end

    def join(seconds = nil, timeout: seconds)
      return super if @handle
      raise StateError.new("Process#join: not started") unless @waiter

      @waiter.join(timeout) ? exitcode : nil
    end
    alias wait join

    def exitcode
      return super unless @waiter
      return nil if @waiter.alive?

      status = @waiter.value
      status.signaled? ? -status.termsig : status.exitstatus
    end

    def alive?
      return super unless @waiter

      @waiter.alive?
    end

    def pid
      @waiter ? @pid : super
    end

    def signal(sig, group: false)
      return super if @handle
      raise StateError.new("Process#signal: not started") unless @waiter
      raise NotSupportedError.new("group signals need a spawned command") if group

      ::Process.kill(sig, @pid) if @waiter.alive?
      nil
    rescue Errno::ESRCH
      nil
    end

    def terminate
      @waiter ? signal(:TERM) : super
    end

    def kill
      @waiter ? signal(:KILL) : super
    end

    def inspect
      state = if !@started then "initial"
              elsif alive? then "started"
              else "stopped exitcode=#{exitcode}"
              end
      "#<#{self.class} #{@name} #{state}#{@daemon ? ' daemon' : ''}>"
    end

    private

    def start_fork
      $stdout.flush
      $stderr.flush
      parent = ::Process.pid
      name, block, args, daemon = @name, @block, @args, @daemon
      # The sentinel: the child holds the write end until it ends.
      sentinel_r, sentinel_w = IO.pipe
      @pid = ::Process.fork do
        # terminate() ends the child as in Python (-15), not as an exception.
        Signal.trap("TERM", "SYSTEM_DEFAULT")
        N.mp_rb_die_with_parent(parent) if daemon
        sentinel_r.close
        Multiproc.__forked_as(name, parent)
        exit!(Multiproc.run_child_body(name) { block.call(*args) })
      end
      @waiter = ::Process.detach(@pid)
      sentinel_w.close
      @sentinel_io = sentinel_r
    end

    def start_spawn
      unless Multiproc.main_called?
        raise StateError.new("Process.new(target:) re-executes the script: call Multiproc.main " \
                             "at its top, after Multiproc.register")
      end
      arg, handles = @args.empty? ? [nil, []] : Handle.dump_passed(@args)
      _rc, ptr = Multiproc.call_out(N.mp_process_new(@target, arg), "Process.new #{@target}")
      adopt_handle(ptr)
      Multiproc.check(N.mp_process_set_start_method(ptr, @start_method))
      Multiproc.check(N.mp_process_set_name(ptr, @name), "Process name")
      Multiproc.check(N.mp_process_set_daemon(ptr, @daemon ? 1 : 0))
      handles.each_with_index do |h, i|
        index = Multiproc.check(N.mp_process_pass_fd(ptr, h.fileno), "pass #{h.class}")
        raise Error, "descriptor passed as #{index}, expected #{i}" unless index == i
      end
      @passed.each { |n, obj| Multiproc.check(Process.pass_named(ptr, n, obj), "Process#pass #{n}") }
      $stdout.flush
      $stderr.flush
      Multiproc.check(N.mp_process_start(@handle), "Process#start")
    end
  end
end
