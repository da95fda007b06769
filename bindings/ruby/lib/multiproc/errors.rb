# frozen_string_literal: true

require "timeout"

module Multiproc
  # What every error the library reports has: #code is the negative MP_E*
  # code of the C library, #name its name ("ETIMEDOUT"). A module, so that
  # an error can also be the Ruby exception it is: InvalidArgumentError is
  # an ArgumentError too. `rescue Multiproc::Error` catches them all.
  module Error
    attr_reader :code
    # Queue#put_many: how many of the messages went in before this error
    # (nil for any other call).
    attr_accessor :put_count

    def initialize(message = nil, code: self.class::CODE)
      @code = code
      super(message || Native.mp_strerror(code))
    end

    def name
      Native.mp_err_name(code)
    end

    # The code's short description ("operation timed out").
    def reason
      Native.mp_strerror(code)
    end
  end

  # A code this binding has no class for (a newer library's).
  class UnknownError < StandardError
    include Error
    CODE = 0
  end

  # Ruby class names of the C error codes, by code name. A code a newer
  # library adds gets "<Name>Error" (e.g. EFOO -> EfooError).
  ERROR_CLASS_NAMES = {
    "EINVAL" => :InvalidArgumentError,
    "ENOMEM" => :OutOfMemoryError,
    "ETIMEDOUT" => :TimeoutError,
    "EEMPTY" => :EmptyError,
    "EFULL" => :FullError,
    "ECLOSED" => :ClosedError,
    "EPIPE" => :BrokenPipeError,
    "ENOENT" => :NotFoundError,
    "ESTATE" => :StateError,
    "EOWNERDEAD" => :OwnerDeadError,
    "EWORKERDIED" => :WorkerDiedError,
    "ETASKFAILED" => :TaskFailedError,
    "ECANCELED" => :CanceledError,
    "ENOSPC" => :NoSpaceError,
    "EMSGSIZE" => :MessageSizeError,
    "ESYS" => :SysError,
    "EACCES" => :PermissionError,
    "ENOTSUP" => :NotSupportedError,
    "EEXIST" => :ExistsError,
    "ECALLEDPROCESS" => :CalledProcessError,
    "ECONNREFUSED" => :ConnectionRefusedError
  }.freeze

  # Ruby's own classes the errors of some codes also are: an invalid
  # argument is an ArgumentError; a timeout is a Timeout::Error (as
  # Net::ReadTimeout is), so `rescue Timeout::Error` written for the
  # timeout library also catches the library's timeouts.
  ERROR_SUPERCLASSES = { "EINVAL" => ArgumentError, "ETIMEDOUT" => ::Timeout::Error }.freeze

  # One exception class including Error per code of the C library's table (MP_ERRNO_MAP).
  ERRORS_BY_CODE = {}.tap do |by_code|
    code = -1
    while (name = Native.mp_err_name(code)) != "UNKNOWN"
      class_name = ERROR_CLASS_NAMES.fetch(name) { :"#{name[1..].capitalize}Error" }
      klass = Class.new(ERROR_SUPERCLASSES.fetch(name, StandardError)) { include Error }
      klass.const_set(:CODE, code)
      const_set(class_name, klass)
      by_code[code] = klass
      code -= 1
    end
  end.freeze

  # Every error class matches, in a rescue clause, every Multiproc::Error
  # (or re-raised task exception, TaskFailure) of its code: `rescue
  # Multiproc::ClosedError` also catches the
  # ClosedQueueError of a ThreadQueue, which must be a ::ClosedQueueError
  # (a StopIteration) for Thread::Queue's rescue clauses.
  ERRORS_BY_CODE.each_value do |klass|
    klass.define_singleton_method(:===) do |other|
      super(other) || ((other.is_a?(Error) || other.is_a?(TaskFailure)) && other.code == klass::CODE)
    end
  end

  # ThreadQueue's errors where Thread::Queue raises Ruby's own: a push to a
  # closed queue (also a Multiproc::ClosedError in rescue clauses) ...
  class ClosedQueueError < ::ClosedQueueError
    include Error
    CODE = ClosedError::CODE
  end

  # ... and a non-blocking pop of an empty queue or push to a full one
  # (ThreadError "queue empty" / "queue full"; also a Multiproc::EmptyError
  # or FullError in rescue clauses).
  class QueueEmptyError < ::ThreadError
    include Error
    CODE = EmptyError::CODE
  end

  class QueueFullError < ::ThreadError
    include Error
    CODE = FullError::CODE
  end

  # What a failed pool task's error tells, from the worker's report
  # "<task>: <message> (<exception class>)" followed by the worker's
  # backtrace ("\n\tfrom <line>" each): task_name, task_message,
  # task_exception, worker_backtrace (nil when the report has another
  # form, e.g. a task whose worker could not even format one).
  module TaskFailure
    REPORT = /: ETASKFAILED: (?<task>[^:\n]+): (?<message>.*) \((?<exception>[A-Z][\w:]*)\)(?<bt>(?-m:\n\tfrom .*)*)\z/m.freeze
    private_constant :REPORT

    # The name of the task that failed.
    def task_name
      report&.[](:task)
    end

    # The message of the exception the task raised.
    def task_message
      report&.[](:message)
    end

    # The class name of the exception the task raised ("ArgumentError").
    def task_exception
      report&.[](:exception)
    end

    # The C code of the failure (ETASKFAILED's).
    def code
      @code
    end

    # The backtrace of the exception in the worker (an Array of lines).
    def worker_backtrace
      report && report[:bt].split("\n\tfrom ").drop(1)
    end

    private

    def report
      REPORT.match(@task_report || message)
    end
  end

  # A pool task that raised in its worker, when the task's own exception
  # class cannot be raised in the parent (see TaskFailedError.for).
  class TaskFailedError
    include TaskFailure

    # The error to raise for a failed task, as the parallel gem does: the
    # task's own exception class (ArgumentError, a class of the program)
    # with its message and the worker's backtrace before the parent's,
    # when that class exists here and takes a message; err otherwise.
    # Either way it matches `rescue Multiproc::TaskFailedError` and has
    # TaskFailure's readers.
    def self.for(err)
      klass = task_class(err.task_exception)
      return err unless klass

      ex = klass.new(err.task_message)
      # Multiproc::Error too (`rescue Multiproc::Error`), unless that would
      # hide the class's own #name (NameError, NoMethodError) or #code.
      ex.extend(Error) if (klass.instance_methods & Error.instance_methods).empty?
      ex.extend(TaskFailure)
      ex.instance_variable_set(:@code, err.code)
      ex.instance_variable_set(:@task_report, err.message)
      ex.set_backtrace(err.worker_backtrace + caller(2))
      ex
    rescue StandardError # the class wants other arguments: keep err
      err
    end

    def self.task_class(name)
      return nil unless name

      klass = Object.const_get(name)
      klass if klass.is_a?(Class) && klass <= StandardError && !(klass <= Error)
    rescue NameError
      nil
    end
    private_class_method :task_class
  end

  class NoSpaceError
    # Queue#get_into, Connection#recv_bytes_into: the length of the
    # message that did not fit.
    attr_accessor :size_needed
  end

  # A command that exited with a non-zero code when check: true asked for
  # success (Python's CalledProcessError; the C code MP_ECALLEDPROCESS).
  # exitcode (alias exitstatus) is -N for a death by signal N.
  class CalledProcessError
    attr_reader :argv, :exitcode, :stdout, :stderr
    alias exitstatus exitcode

    # (argv, exitcode, stdout, stderr) from a check: true; a String alone
    # is the message of a C call's error (Multiproc.error_for).
    def initialize(argv = nil, exitcode = nil, stdout = nil, stderr = nil, code: CODE)
      return super(argv, code: code) if argv.is_a?(String)

      @argv, @exitcode, @stdout, @stderr = argv, exitcode, stdout, stderr
      super("command #{argv.inspect} exited with #{exitcode}", code: code)
    end
  end

  class << self
    # The exception for a negative code, with this thread's detailed
    # message from the library (call right after the failing call).
    def error_for(code, op = nil)
      klass = ERRORS_BY_CODE.fetch(code) { UnknownError }
      detail = Native.mp_last_error
      text = "#{Native.mp_err_name(code)}: #{Native.mp_strerror(code)}"
      text += " (#{detail})" unless detail.empty?
      text = "#{op}: #{text}" if op
      klass.new(text, code: code)
    end

    # Raise the exception for rc if it is negative; else return rc.
    def check(rc, op = nil)
      raise error_for(rc, op) if rc.negative?

      rc
    end
  end
end
