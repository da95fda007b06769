# frozen_string_literal: true

module Multiproc
  # What to run (subprocess.Popen's arguments): an argv (no shell unless
  # you run one), environment, working directory, stdio, process group,
  # daemon, and multiproc queues / connection ends passed by name.
  #
  # stdin/stdout/stderr: :inherit (default), :null, :pipe, :stdout (stderr
  # only: the same as stdout), a path String (stdin read from it; output
  # truncated into it, or appended with [path, "a"]), or an IO / Integer
  # descriptor of this process.
  #
  # new_group: true is Python's process_group=0 (setpgid), new_session:
  # true its start_new_session=True (setsid). Relative and empty PATH
  # entries are skipped (PermissionError if the program is only found
  # there) unless allow_relative_path: true; they, and a relative program
  # path, are taken in cwd. A String with a NUL byte in
  # argv, env or cwd raises ArgumentError (C strings would cut it short).
  #
  # arg0: the child's argv[0] when it should differ from the program run
  # (argv[0] of the Command), as Process.spawn(["prog", "name"]) or
  # Python's Popen(["name", ...], executable="prog"); #argv stays as given.
  #
  # fds: { 3 => io, 4 => 7 } gives the child descriptors at chosen numbers
  # (3-1023; Process.spawn's `3 => io`, Python's pass_fds); each IO or
  # descriptor must stay open until spawn returns.
  class Command
    include Uncopyable

    STDIO = { inherit: N::MP_STDIO_INHERIT, null: N::MP_STDIO_NULL, pipe: N::MP_STDIO_PIPE,
              stdout: N::MP_STDIO_STDOUT }.freeze
    STREAMS = { stdin: N::MP_STDIN, stdout: N::MP_STDOUT, stderr: N::MP_STDERR }.freeze

    attr_reader :argv

    def initialize(*argv, env: nil, clear_env: false, cwd: nil, stdin: :inherit, stdout: :inherit,
                   stderr: :inherit, new_group: false, new_session: false, allow_relative_path: false,
                   daemon: false, fds: nil, arg0: nil)
      argv = argv.flatten.map(&:to_s)
      raise ArgumentError, "Command needs a program" if argv.empty?

      @argv = argv
      argv.each_with_index { |a, i| refuse_nul(a, "argument #{i}") }
      _rc, @cmd = Multiproc.call_out(N.mp_cmd_new(argv[0]), "Command #{argv[0]}")
      ObjectSpace.define_finalizer(self, Handle.finalizer([@cmd], :mp_cmd_free, ::Process.pid))
      check(N.mp_cmd_set_arg0(@cmd, refuse_nul(arg0.to_s, "arg0"))) if arg0
      argv.drop(1).each { |a| check(N.mp_cmd_add_arg(@cmd, a)) }
      check(N.mp_cmd_env_clear(@cmd)) if clear_env
      env&.each { |k, v| set_env(k.to_s, v&.to_s) }
      check(N.mp_cmd_set_cwd(@cmd, refuse_nul(cwd.to_s, "cwd"))) if cwd
      { stdin: stdin, stdout: stdout, stderr: stderr }.each { |s, how| set_stdio(s, how) }
      check(N.mp_cmd_set_new_group(@cmd, 1)) if new_group
      check(N.mp_cmd_set_new_session(@cmd, 1)) if new_session
      check(N.mp_cmd_set_allow_relative_path(@cmd, 1)) if allow_relative_path
      @new_group = new_group || new_session # either can be signalled as a group
      check(N.mp_cmd_set_daemon(@cmd, 1)) if daemon
      @passed = [] # keeps passed objects alive until spawn
      fds&.each { |child_fd, io| pass_fd_at(child_fd, io) }
    end

    # Hand a shared object to the child under name (letters, digits, _).
    # The child, in any language, opens a Queue with Queue.inherit(name), a
    # Connection with Connection.inherit(name), and any other object (Lock,
    # Semaphore, Event, Condition, Barrier, Value, SharedMemory, Dict) with
    # its class's inherit(name), e.g. Multiproc::Lock.inherit("lock") (in
    # C mp_queue_inherit / mp_fd_inherit + mp_lock_from_fd, in Go
    # InheritQueue / InheritLock). The object stays referenced until spawn.
    def pass(name, obj)
      rc = case obj
           when Queue then N.mp_cmd_pass_queue(@cmd, name.to_s, obj.ptr)
           when Connection then N.mp_cmd_pass_conn(@cmd, name.to_s, obj.ptr)
           when Handle
             raise TypeError, "a #{obj.class} cannot be passed to a command" unless obj.class.c_fileno

             N.mp_cmd_pass_fd(@cmd, name.to_s, obj.fileno)
           else raise TypeError, "only a multiproc object can be passed to a command, not #{obj.class}"
           end
      check(rc)
      @passed << obj
      self
    end

    # Start the command; returns its Popen. With a block, yields it and
    # waits for the child afterwards. If the block or that wait is left
    # early (an exception, Timeout.timeout, Thread#kill, throw), the child
    # (its group with new_group) is killed and reaped before spawn returns.
    def spawn
      return start unless block_given?

      with_child do |child|
        value = yield child
        child.close_stdio
        child.join
        value
      end
    end

    # Run to completion (see Multiproc.run): spawn, communicate. On
    # timeout, or when the call is left early (an exception,
    # Timeout.timeout, Thread#kill), the child (its group with new_group)
    # is killed and reaped before run returns; a timeout then raises
    # TimeoutError.
    def run(input: nil, timeout: nil, check: false)
      # The Result is all the caller gets: the child's handle (its pidfd
      # among others) is freed now, not when the GC runs the finalizer, or
      # a program running many commands holds one descriptor per command.
      with_child(free: true) do |child|
        out, err = child.communicate(input, timeout: timeout)
        code = child.exitcode
        raise CalledProcessError.new(@argv, code, out, err) if check && code != 0

        Result.new(@argv, code, out, err)
      end
    end

    # Release the command's C handle now rather than at garbage collection
    # (a started child is not affected). Releasing again does nothing.
    def release_handle
      N.mp_cmd_free(@cmd) if @cmd
      ObjectSpace.undefine_finalizer(self)
      @cmd = nil
    end
    Deprecated.deprecate(self, :free, :release_handle) # before 0.2

    private

    def start
      _rc, ptr = Multiproc.call_out(N.mp_process_spawn(@cmd), "spawn #{@argv[0]}")
      Popen.new(ptr, @argv)
    end

    # Start the child and yield it; if the block is left before its end
    # (raise, throw, Timeout, Thread#kill) kill and reap the child. Ruby's
    # asynchronous interrupts (Timeout's Thread#raise, Thread#kill, signal
    # traps) reach only the block: outside it they wait, so none can land
    # between the spawn and the cleanup, nor cut the cleanup short. The
    # cleanup is an ensure, as Timeout unwinds with throw and Thread#kill
    # runs only ensure blocks.
    def with_child(free: false)
      Thread.handle_interrupt(Object => :never) do
        child = start
        done = false
        begin
          value = Thread.handle_interrupt(Object => :immediate) { yield child }
          done = true
          value
        ensure
          unless done
            child.__kill_and_reap(group: @new_group)
            child.close_stdio
          end
          child.release_handle if free
        end
      end
    end

    def check(rc)
      Multiproc.check(rc, "Command #{@argv[0]}")
    end

    def set_env(name, value)
      refuse_nul(name, "environment variable name #{name.inspect}")
      return check(N.mp_cmd_env_unset(@cmd, name)) if value.nil?

      refuse_nul(value, "environment variable #{name}")
      check(N.mp_cmd_env_set(@cmd, name, value))
    end

    def pass_fd_at(child_fd, io)
      fd = io.respond_to?(:fileno) ? io.fileno : io
      unless child_fd.is_a?(Integer) && fd.is_a?(Integer)
        raise ArgumentError, "fds: #{child_fd.inspect} => #{io.inspect}: expected Integer => IO or Integer"
      end

      @passed << io # an IO collected before spawn would close its descriptor
      check(N.mp_cmd_pass_fd_at(@cmd, fd, child_fd))
    end

    def refuse_nul(str, what)
      raise ArgumentError, "Command #{@argv[0].inspect}: #{what} contains a NUL byte" if str.include?("\0")

      str
    end

    def set_stdio(stream, how)
      s = STREAMS.fetch(stream)
      rc = case how
           when Symbol
             N.mp_cmd_set_stdio(@cmd, s, STDIO.fetch(how) { raise ArgumentError, "#{stream}: unknown #{how.inspect}" })
           when String then N.mp_cmd_set_stdio_file(@cmd, s, how, N::MP_FILE_TRUNCATE)
           when ::Array then N.mp_cmd_set_stdio_file(@cmd, s, how[0].to_s, how[1] == "a" ? N::MP_FILE_APPEND : N::MP_FILE_TRUNCATE)
           when IO then N.mp_cmd_set_stdio_fd(@cmd, s, how.fileno)
           when Integer then N.mp_cmd_set_stdio_fd(@cmd, s, how)
           else raise ArgumentError, "#{stream}: #{how.inspect} is not a stdio setting"
           end
      check(rc)
    end
  end

  # The outcome of Multiproc.run: argv, exitcode, stdout and stderr
  # (binary Strings when captured, else nil).
  Result = Struct.new(:argv, :exitcode, :stdout, :stderr) do
    def success?
      exitcode.zero?
    end
  end

  # A running command (subprocess.Popen): the controls of every child
  # (join/wait, exitcode, alive?, pid, signal, terminate, kill, stop),
  # communicate, and IO-like stdin/stdout/stderr for streams that are
  # pipes.
  class Popen
    include ChildHandle

    attr_reader :argv, :stdin, :stdout, :stderr

    def initialize(ptr, argv) # :nodoc:
      adopt_handle(ptr)
      @argv = argv
      @stdin = Stream.new(self, N::MP_STDIN)
      @stdout = Stream.new(self, N::MP_STDOUT)
      @stderr = Stream.new(self, N::MP_STDERR)
    end

    # Feed input to stdin (then close it) while reading stdout and stderr
    # until the child ends; returns [stdout, stderr] (nil for a stream that
    # is not a pipe). Raises TimeoutError if it still runs after timeout
    # (the child keeps running; kill it).
    def communicate(input = nil, timeout: nil)
      rc, out, err = N.mp_rb_communicate(@handle, input, Multiproc.timeout_ms(timeout))
      raise Multiproc.error_for(rc, "communicate") if rc.negative?

      [out, err]
    end

    # For a caller leaving early (in an ensure): SIGKILL the child (with
    # group: its process group) and reap it.
    def __kill_and_reap(group: false) # :nodoc:
      signal(:KILL, group: group)
      join
    end

    # The parent is done with the pipes (Python's Popen.__exit__): a child
    # still writing to stdout/stderr then gets SIGPIPE instead of blocking
    # the wait that follows.
    def close_stdio # :nodoc:
      [N::MP_STDIN, N::MP_STDOUT, N::MP_STDERR].each { |s| N.mp_process_close_stream(@handle, s) }
    end

    def inspect
      "#<#{self.class} #{@argv.inspect} pid=#{pid} #{alive? ? 'running' : "exitcode=#{exitcode}"}>"
    end

    def __handle # :nodoc:
      @handle
    end

    # One standard stream of the child, as a small IO-like object: for
    # stdin write/puts/print/<</close; for stdout and stderr
    # read/readpartial/gets/each_line. Raises StateError if the stream is
    # not a pipe.
    class Stream
      include Enumerable

      CHUNK = 65_536

      def initialize(popen, stream)
        @popen = popen
        @stream = stream
        @buffer = "".b
        @eof = false
      end

      def write(*strings)
        strings.sum do |s|
          s = s.to_s
          Multiproc.check(N.mp_process_write(@popen.__handle, s, FOREVER), "stdin write")
          s.bytesize
        end
      end

      def <<(s)
        write(s)
        self
      end

      def print(*s)
        write(*s)
        nil
      end

      def puts(*lines)
        lines = [""] if lines.empty?
        lines.each { |l| write(l.to_s.end_with?("\n") ? l.to_s : "#{l}\n") }
        nil
      end

      # Close the parent's end: for stdin the child reads EOF; for stdout
      # and stderr the child's further writes fail (SIGPIPE), so it cannot
      # block forever on a pipe nobody reads, and reads here return EOF
      # (what was buffered is dropped).
      def close
        Multiproc.check(N.mp_process_close_stream(@popen.__handle, @stream), "close")
        @buffer.clear
        @eof = true
        nil
      end

      # Up to maxlen bytes, as soon as some arrive; nil at the end of the
      # stream. Raises TimeoutError.
      def readpartial(maxlen = CHUNK, timeout: nil)
        unless @buffer.empty?
          return @buffer.slice!(0, maxlen)
        end
        return nil if @eof

        maxlen = Multiproc.int_arg(maxlen, "readpartial: maxlen", 1, SIZE_MAX)
        rc, data = N.mp_rb_process_read(@popen.__handle, @stream, maxlen, Multiproc.timeout_ms(timeout))
        if rc == N::MP_ECLOSED
          @eof = true
          return nil
        end
        Multiproc.check(rc, "read")
        data
      end

      # Everything up to the end of the stream (length nil), or length
      # bytes (fewer at the end; nil if none).
      def read(length = nil, timeout: nil)
        Multiproc.int_arg(length, "read: length", 0, SIZE_MAX, "nil or an Integer >= 0") unless length.nil?
        out = "".b
        while length.nil? || out.bytesize < length
          chunk = readpartial(length ? [length - out.bytesize, CHUNK].min : CHUNK, timeout: timeout)
          break unless chunk

          out << chunk
        end
        length && out.empty? && length.positive? ? nil : out
      end

      # The next line (with its "\n"), or nil at the end of the stream.
      def gets(timeout: nil)
        until (i = @buffer.index("\n"))
          chunk = @eof ? nil : read_more(timeout)
          break unless chunk
        end
        return @buffer.slice!(0, i + 1) if i
        return nil if @buffer.empty?

        @buffer.slice!(0, @buffer.bytesize)
      end

      def each_line
        return enum_for(:each_line) unless block_given?

        while (line = gets)
          yield line
        end
        self
      end
      alias each each_line

      def eof?
        @buffer.empty? && (@eof || (read_more(nil).nil? && @buffer.empty?))
      end

      private

      def read_more(timeout)
        rc, data = N.mp_rb_process_read(@popen.__handle, @stream, CHUNK, Multiproc.timeout_ms(timeout))
        if rc == N::MP_ECLOSED
          @eof = true
          return nil
        end
        Multiproc.check(rc, "read")
        @buffer << data
        data
      end
    end
  end

  class << self
    # Run a command to completion (subprocess.run): argv an Array (or the
    # words of a String, no shell). By default stdout and stderr are
    # captured (capture: false inherits them); input: bytes for stdin;
    # timeout: seconds, after which the child is killed and TimeoutError
    # raised; check: true raises CalledProcessError on a non-zero exit.
    # Other options as Command.new. Returns a Result.
    def run(argv, input: nil, timeout: nil, check: false, capture: true, **opts)
      argv = argv.is_a?(String) ? argv.split : Array(argv)
      opts = { stdout: capture ? :pipe : :inherit, stderr: capture ? :pipe : :inherit }.merge(opts)
      opts[:stdin] ||= input ? :pipe : :inherit
      cmd = Command.new(*argv, **opts)
      begin
        cmd.run(input: input, timeout: timeout, check: check)
      ensure
        cmd.release_handle
      end
    end

    # subprocess.call: run, return the exit code (stdio inherited).
    def call(*argv, **opts)
      run(argv.flatten, capture: false, **opts).exitcode
    end

    # subprocess.check_output: stdout of a command that must succeed.
    def check_output(*argv, **opts)
      run(argv.flatten, stderr: :inherit, check: true, **opts).stdout
    end
  end
end
