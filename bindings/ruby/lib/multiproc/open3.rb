# frozen_string_literal: true

module Multiproc
  # How a command ended, shaped as Process::Status (Open3's results and
  # wait threads give one): success?, exitstatus, termsig, signaled?,
  # exited?, pid, to_i. Made from a multiproc exitcode (-N: signal N).
  class Status
    attr_reader :pid, :exitcode

    def initialize(pid, exitcode)
      @pid = pid
      @exitcode = exitcode
    end

    def signaled?
      exitcode.negative?
    end

    def exited?
      !signaled?
    end

    # As Process::Status#success?: nil when a signal ended the child.
    def success?
      exited? ? exitcode.zero? : nil
    end

    def exitstatus
      exited? ? exitcode : nil
    end

    def termsig
      signaled? ? -exitcode : nil
    end

    def stopped?
      false
    end

    # The wait status as waitpid(2) gives it (Process::Status#to_i).
    def to_i
      signaled? ? termsig : exitcode << 8
    end

    def ==(other)
      other.is_a?(Status) ? to_i == other.to_i && pid == other.pid : to_i == other
    end

    def inspect
      how = signaled? ? "SIG#{Signal.signame(termsig)} (signal #{termsig})" : "exit #{exitcode}"
      "#<#{self.class.name}: pid #{pid} #{how}>"
    end
    alias to_s inspect
  end

  # Open3's calls over multiproc commands (Multiproc.capture3 etc. call
  # these): the same arguments — an optional env Hash, then a command
  # line String (run by /bin/sh) or the program and its arguments, then
  # options (stdin_data:, binmode:, chdir:, unsetenv_others:, and 2 => io /
  # :err => io for popen2) — and the same results: real IO pipes, wait
  # threads whose value is a Status (and #pid, [:pid]).
  #
  # Descriptors above 2 (3 => io) reach the child at that number
  # (Command's fds:). Not supported: [cmdname, argv0] pairs use cmdname for
  # both.
  module Open3
    module_function

    def popen3(*cmd, **opts, &block)
      popen_run(cmd, opts, :err, &block)
    end

    def popen2(*cmd, **opts, &block)
      popen_run(cmd, opts, nil, &block)
    end

    def popen2e(*cmd, **opts, &block)
      popen_run(cmd, opts, :merge, &block)
    end

    # [stdout, stderr, status]
    def capture3(*cmd, stdin_data: "", binmode: false, **opts)
      popen3(*cmd, **opts) do |i, o, e, t|
        readers = [o, e].map { |io| reader(io, binmode) }
        feed(i, stdin_data, binmode)
        [*readers.map(&:value), t.value]
      end
    end

    # [stdout, status]; stderr is inherited.
    def capture2(*cmd, stdin_data: "", binmode: false, **opts)
      popen2(*cmd, **opts) do |i, o, t|
        out = reader(o, binmode)
        feed(i, stdin_data, binmode)
        [out.value, t.value]
      end
    end

    # [stdout and stderr merged, status]
    def capture2e(*cmd, stdin_data: "", binmode: false, **opts)
      popen2e(*cmd, **opts) do |i, oe, t|
        out = reader(oe, binmode)
        feed(i, stdin_data, binmode)
        [out.value, t.value]
      end
    end

    # Each cmd is a command line String or an Array [program, *args].
    # Yields (or returns) [first_stdin, last_stdout, wait_threads].
    def pipeline_rw(*cmds, &block)
      pipeline_run(cmds, true, true, &block)
    end

    # [last_stdout, wait_threads]
    def pipeline_r(*cmds, &block)
      pipeline_run(cmds, false, true, &block)
    end

    # [first_stdin, wait_threads]
    def pipeline_w(*cmds, &block)
      pipeline_run(cmds, true, false, &block)
    end

    # wait_threads; the ends inherit this process's stdin and stdout.
    def pipeline_start(*cmds, &block)
      pipeline_run(cmds, false, false, &block)
    end

    # The Statuses of every command, after all ended.
    def pipeline(*cmds)
      pipeline_start(*cmds).map(&:value)
    end

    # --- helpers ----------------------------------------------------------

    # [env, argv] of Open3's command arguments.
    def parse_command(cmd)
      cmd = cmd.dup
      env = cmd.first.is_a?(Hash) ? cmd.shift : nil
      raise ArgumentError, "wrong number of arguments (no command)" if cmd.empty?

      argv = if cmd.size == 1 && cmd[0].is_a?(String) then ["/bin/sh", "-c", cmd[0]]
             else cmd.each_with_index.map { |a, k| k.zero? && a.is_a?(Array) ? a[0] : a }
             end
      [env, argv.map(&:to_s)]
    end

    # Command.new's keywords for Open3's spawn options.
    def command_options(opts)
      kw = {}
      opts.each do |key, value|
        case key
        when :chdir then kw[:cwd] = value
        when :unsetenv_others then kw[:clear_env] = value
        when 2, :err then kw[:stderr] = value
        when Integer, IO then (kw[:fds] ||= {})[key.is_a?(IO) ? key.fileno : key] = value
        else
          raise NotImplementedError, "Multiproc::Open3: option #{key.inspect} is not supported"
        end
      end
      kw
    end

    def start(env, argv, **kw)
      cmd = Command.new(*argv, env: env, **kw)
      begin
        cmd.spawn
      ensure
        cmd.release_handle # the child is started; its handle is the Popen's
      end
    end

    # A thread that waits for popen and gives its Status (Open3's wait
    # thread: #pid, [:pid]).
    def waiter(popen)
      pid = popen.pid
      t = Thread.new { Status.new(pid, popen.join) }
      t[:pid] = pid
      t.define_singleton_method(:pid) { pid }
      t
    end

    # err: :err (a stderr pipe), :merge (stderr into stdout) or nil
    # (inherited, or the 2 =>/:err => option).
    def popen_run(cmd, opts, err)
      env, argv = parse_command(cmd)
      kw = command_options(opts)
      ours = [] # the child's ends, closed here once it started
      mine = [] # what the caller gets
      in_r, in_w = IO.pipe
      out_r, out_w = IO.pipe
      ours.push(in_r, out_w)
      mine.push(in_w, out_r)
      if err == :err
        err_r, err_w = IO.pipe
        ours << err_w
        mine << err_r
        kw[:stderr] = err_w
      elsif err == :merge
        kw[:stderr] = :stdout
      end
      begin
        popen = start(env, argv, stdin: in_r, stdout: out_w, **kw)
      rescue Exception # rubocop:disable Lint/RescueException
        (ours + mine).each(&:close)
        raise
      end
      ours.each(&:close)
      in_w.sync = true
      result = [*mine, waiter(popen)]
      return result unless block_given?

      begin
        yield(*result)
      ensure
        mine.each { |io| io.close unless io.closed? }
        result.last.join
      end
    end

    def pipeline_run(cmds, first_in, last_out)
      raise ArgumentError, "no command" if cmds.empty?

      first_w = last_r = nil
      ios = []
      prev = :inherit
      if first_in
        prev, first_w = IO.pipe
        ios << first_w
      end
      threads = cmds.each_with_index.map do |c, k|
        nxt = nil
        if k < cmds.size - 1
          nxt, out = IO.pipe
        elsif last_out
          last_r, out = IO.pipe
          ios << last_r
        else
          out = :inherit
        end
        env, argv = parse_command(c.is_a?(Array) ? c : [c])
        begin
          popen = start(env, argv, stdin: prev, stdout: out)
        ensure
          [prev, out].each { |io| io.close if io.is_a?(IO) }
        end
        prev = nxt
        waiter(popen)
      end
      first_w&.sync = true
      result = [first_w, last_r, threads].compact
      return result.size == 1 ? result[0] : result unless block_given?

      begin
        yield(*result)
      ensure
        ios.each { |io| io.close unless io.closed? }
        threads.each(&:join)
      end
    end

    def reader(io, binmode)
      io.binmode if binmode
      Thread.new { io.read }
    end

    # Write data to the child's stdin and close it; a child that does not
    # read it all (EPIPE) is no error, as with Open3.
    def feed(stdin, data, binmode)
      stdin.binmode if binmode
      begin
        stdin.write(data) unless data.nil? || data.empty?
      rescue Errno::EPIPE
        nil
      end
      stdin.close
    end
  end

  class << self
    %i[capture2 capture2e capture3 popen2 popen2e popen3
       pipeline pipeline_r pipeline_w pipeline_rw pipeline_start].each do |name|
      define_method(name) { |*args, **kw, &block| Open3.public_send(name, *args, **kw, &block) }
    end
  end
end
