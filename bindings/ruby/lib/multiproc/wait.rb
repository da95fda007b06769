# frozen_string_literal: true

module Multiproc
  # The process that started this one (Multiproc.parent_process).
  class ParentProcess
    attr_reader :pid, :name

    def initialize(pid, name, forked: false)
      @pid = pid
      @name = name
      @forked = forked
    end

    # Whether the parent still runs: this process was not re-parented.
    def alive?
      return ::Process.ppid == @pid if @forked

      N.mp_parent_alive == 1
    end

    def inspect
      "#<#{self.class} #{@name} pid=#{@pid}>"
    end
  end

  class Connection
    def __wait_entry # :nodoc:
      [N::MP_WAIT_CONN, ptr]
    end
  end

  class Queue
    def __wait_entry # :nodoc:
      [N::MP_WAIT_QUEUE, ptr]
    end
  end

  class Event
    def __wait_entry # :nodoc:
      [N::MP_WAIT_EVENT, ptr]
    end
  end

  class << self
    # Wait until at least one of objects is ready and return the ready
    # ones, in order (Python's multiprocessing.connection.wait): a
    # Connection that can be received from (or is at its end), a Queue
    # holding a message (or closed), a Process or Popen that has ended,
    # an Event that is set, an IO or Integer descriptor that is readable.
    # timeout: seconds, nil = forever, 0 = only look; [] when nothing
    # became ready in time. Ready is a snapshot: another reader may take
    # the message first. Up to 64 objects.
    def wait(objects, timeout: nil)
      objects = Array(objects)
      entries = objects.map { |o| wait_entry(o) }
      flags = N.mp_rb_wait(entries.map(&:first), entries.map(&:last), timeout_ms(timeout))
      objects.select.with_index { |_, i| flags[i] == 1 }
    end

    # The Multiproc::Process children this process started that still
    # run (Python's active_children()); finished ones are forgotten.
    def active_children
      Process.active_children
    end

    # The process that started this one (a ParentProcess with pid, name
    # and alive?), or nil in a process multiproc did not start (Python's
    # parent_process()).
    def parent_process
      return @forked_parent if @forked_parent
      return nil unless N.mp_is_child == 1

      ParentProcess.new(N.mp_parent_pid, N.mp_parent_name.dup.force_encoding(Encoding::UTF_8))
    end

    private

    def wait_entry(obj)
      case obj
      when Integer then [N::MP_WAIT_FD, obj]
      when IO then [N::MP_WAIT_FD, obj.fileno]
      else
        unless obj.respond_to?(:__wait_entry)
          raise TypeError, "Multiproc.wait: cannot wait on a #{obj.class}"
        end

        obj.__wait_entry
      end
    end
  end
end
