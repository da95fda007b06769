# frozen_string_literal: true

module Multiproc
  N = Native
  private_constant :N

  FOREVER = -1

  # Limits of the C types behind Integer arguments (see Multiproc.int_arg).
  INT_MAX = 2**31 - 1
  UINT_MAX = 2**32 - 1
  INT64_MIN = -2**63
  INT64_MAX = 2**63 - 1
  SIZE_MAX = 2**64 - 1
  LIMIT_WORDS = { INT_MAX => "2**31-1", UINT_MAX => "2**32-1", INT64_MIN => "-2**63",
                  INT64_MAX => "2**63-1", SIZE_MAX => "2**64-1" }.freeze
  private_constant :LIMIT_WORDS

  @targets = {}
  @tasks = {}
  @main_called = false
  @current_name = nil

  class << self
    # Seconds (Float or Integer; nil or Float::INFINITY = wait forever) to
    # the C library's milliseconds; a timeout beyond what int64
    # milliseconds hold is forever too. Anything else raises
    # InvalidArgumentError.
    def timeout_ms(seconds)
      return FOREVER if seconds.nil?
      unless seconds.is_a?(Numeric) && seconds.real? && seconds >= 0 # NaN >= 0 is false
        raise InvalidArgumentError, "timeout must be nil or a number of seconds >= 0, not #{seconds.inspect}"
      end
      return FOREVER if seconds.to_f.infinite?

      ms = (seconds * 1000).ceil
      ms > INT64_MAX ? FOREVER : ms
    end

    # An Integer argument on its way to the C library, checked first so
    # that a bad one (wrong type, negative, too large for the C type)
    # raises InvalidArgumentError in Ruby words, never SWIG's conversion
    # error. what names it ("Semaphore.new: value"); rule says what is
    # allowed (default: the range min..max). Returns value.
    def int_arg(value, what, min, max, rule = nil)
      return value if value.is_a?(Integer) && value >= min && value <= max

      rule ||= "an Integer from #{LIMIT_WORDS.fetch(min, min)} to #{LIMIT_WORDS.fetch(max, max)}"
      raise InvalidArgumentError, "#{what} must be #{rule}, not #{value.inspect}"
    end

    # Register a process target: a block a child started with
    # Multiproc::Process.new(target: name, args: [...]) runs (after
    # re-executing this script). Register every target before
    # Multiproc.main. The block's return value is ignored; an exception
    # makes the child exit with 1, exit(n) with n.
    def register(name, &block)
      raise ArgumentError, "register needs a block" unless block

      name = name.to_s
      check(N.mp_rb_register(name), "register #{name}")
      @targets[name] = block
      name.to_sym
    end

    # Register a pool task: pool.map(name, items) calls the block with each
    # item in a worker process (a re-execution of this script); it returns
    # the result (any object Marshal can dump). Register before
    # Multiproc.main.
    #
    # raw: true makes a task for callers in other languages (a pool
    # published with Broker#publish_pool and opened from C or Go): the
    # block gets the argument's bytes as a binary String and returns a
    # String, sent back as its bytes (no Marshal, no Codec tag).
    def task(name, raw: false, &block)
      raise ArgumentError, "task needs a block" unless block

      name = name.to_s
      check(N.mp_rb_register_task(name, raw ? 1 : 0), "task #{name}")
      @tasks[name] = block
      name.to_sym
    end

    # Call at the top of the script, after register/task and before any
    # other work (Python's `if __name__ == "__main__"`). In a child that
    # multiproc started by re-executing the script it runs the child's
    # target or the pool worker and never returns; elsewhere it records the
    # ruby command line (with its options, e.g. -I) and returns.
    def main
      @main_called = true
      check(N.mp_rb_main(ruby_command_line), "main")
      nil
    end

    def main_called?
      @main_called
    end

    # This process's name: "MainProcess", or the child's name.
    def current_name
      @current_name || N.mp_current_name.dup.force_encoding(Encoding::UTF_8)
    end

    # Whether this process is a child multiproc started to run a target.
    def child?
      !@current_name.nil? || N.mp_is_child == 1
    end

    def parent_pid
      @current_name ? ::Process.ppid : N.mp_parent_pid
    end

    def cpu_count
      N.mp_cpu_count
    end

    START_METHODS = { fork: N::MP_START_FORK, spawn: N::MP_START_SPAWN,
                      forkserver: N::MP_START_FORKSERVER }.freeze

    # The process-wide default start method (Python's set_start_method):
    # used by every later process and pool that does not choose its own.
    # Fixed once set or first used: a second call raises StateError
    # unless force: true (Python raises unless force=True). A block child
    # forks with Ruby's fork; target: children and pools that do not choose
    # (start_method: nil) use it: :forkserver, or else :spawn. :fork is
    # refused (InvalidArgumentError): a fork from C under the running VM
    # is not safe.
    def set_start_method(method, force: false)
      code = START_METHODS.fetch(method.to_sym) do
        raise InvalidArgumentError, "set_start_method: :spawn or :forkserver, not #{method.inspect}"
      end
      if method.to_sym == :fork
        raise InvalidArgumentError, "set_start_method: Ruby never forks from C (the VM would not survive it)"
      end
      check(N.mp_set_start_method(code, force ? 1 : 0), "set_start_method")
      nil
    end

    # :fork, :spawn or :forkserver (Python's get_start_method); asking
    # does not fix it.
    def get_start_method
      START_METHODS.key(N.mp_get_start_method)
    end

    # The C start method of a target: child or pool worker (start_method:
    # of Process.new and Pool.new): :spawn or :forkserver; nil is the
    # process-wide default, :spawn unless that is :forkserver.
    def child_start_method(method, op) # :nodoc:
      method = get_start_method == :forkserver ? :forkserver : :spawn if method.nil?
      unless %i[spawn forkserver].include?(method.to_s.to_sym)
        raise InvalidArgumentError, "#{op}: start_method :spawn or :forkserver, not #{method.inspect} " \
                                    "(a block child forks with Ruby's fork)"
      end
      START_METHODS.fetch(method.to_sym)
    end

    def version
      N.mp_version
    end

    # --- internal -------------------------------------------------------

    # The command line of this ruby process, as the kernel has it (program,
    # ruby's own options such as -I, the script, its arguments), so that a
    # spawned child re-executes exactly this. Falls back to RbConfig's ruby.
    def ruby_command_line
      argv = File.binread("/proc/self/cmdline").split("\0")
      return argv unless argv.empty?

      [RbConfig.ruby, $PROGRAM_NAME, *ARGV]
    rescue SystemCallError
      [RbConfig.ruby, $PROGRAM_NAME, *ARGV]
    end

    # Set in a child forked by Multiproc::Process (Ruby's fork).
    def __forked_as(name, parent_pid = ::Process.ppid) # :nodoc:
      @forked_parent = ParentProcess.new(parent_pid, current_name, forked: true)
      @current_name = name
      Process.__forget_children
    end

    # Called by the extension inside Multiproc.main in a spawned child:
    # run the registered target with the unmarshalled arguments; returns
    # the exit status.
    def __run_target(name, arg) # :nodoc:
      block = @targets.fetch(name)
      # terminate() ends the child as in Python (-15), not as an exception
      # (as for a forked child, Process#start_fork).
      Signal.trap("TERM", "SYSTEM_DEFAULT")
      args = arg.empty? ? [] : Handle.load_passed(arg)
      run_child_body(name) { block.call(*args) }
    end

    # Called by the extension in a pool worker, which decodes the argument
    # and encodes the result (Codec, in ext/multiproc/codec.cxx): the task's result. arg is
    # one item (map), or with splat an Array of arguments (apply, starmap).
    def __run_task(name, arg, splat) # :nodoc:
      block = @tasks.fetch(name)
      splat ? block.call(*arg) : block.call(arg)
    end

    # The error message of a task that raised (TaskFailedError's text).
    # The worker's backtrace follows (TaskFailure#worker_backtrace).
    def __task_failure(name, error) # :nodoc:
      lines = (error.backtrace || []).first(50).map { |l| "\n\tfrom #{l}" }
      "#{name}: #{error.message} (#{error.class})#{lines.join}"
    end

    # Run a child's body: 0, exit(n)'s n, or 1 after printing an exception
    # (as Python prints a child's traceback). Output is flushed.
    def run_child_body(what)
      yield
      0
    rescue SystemExit => e
      e.status
    rescue Exception => e # rubocop:disable Lint/RescueException
      $stderr.puts "Process #{what}: #{e.class}: #{e.message}"
      $stderr.puts e.backtrace.map { |l| "  #{l}" } if e.backtrace
      1
    ensure
      $stdout.flush rescue nil # rubocop:disable Style/RescueModifier
      $stderr.flush rescue nil # rubocop:disable Style/RescueModifier
    end
  end
end
