# frozen_string_literal: true

module Multiproc
  # Old method names kept for one release (see "close and release_handle"
  # in the README): each calls its new name and warns once per process
  # (Kernel#warn, category :deprecated, shown when Warning[:deprecated]
  # is on, as with `ruby -W:deprecated`).
  module Deprecated
    @warned = {}

    class << self
      # Define klass#old as a call of klass#new_name that warns once.
      def deprecate(klass, old, new_name)
        label = "#{klass.name}##{old}"
        klass.send(:define_method, old) do |*args, **kw, &block|
          Deprecated.warn_once(label, "#{klass.name}##{new_name}")
          __send__(new_name, *args, **kw, &block)
        end
      end

      def warn_once(label, instead)
        return if @warned[label]

        @warned[label] = true
        Kernel.warn("multiproc: #{label} is deprecated; use #{instead} " \
                    "(it goes away in the next release)", category: :deprecated, uplevel: 2)
      end
    end
  end

  # Objects that own a library handle cannot be copied: a copy would share
  # the C pointer without owning it and use it after the original's
  # finalizer freed it. Thread::Queue and Mutex refuse copies too; share
  # the object itself, or pass it to a child. dup and clone themselves
  # refuse: Ruby copies the finalizer to the new object before it calls
  # initialize_copy, so a copy refused there would still free the handle
  # a second time when collected.
  module Uncopyable
    def dup
      raise TypeError, "#{self.class} cannot be copied (it owns a library handle): " \
                       "share the object itself"
    end

    def clone(freeze: nil) # rubocop:disable Lint/UnusedMethodArgument
      dup
    end
  end

  # The base of every object backed by a handle of the C library (queue,
  # connection end, lock, ...). The handle is released by #release_handle
  # (this process only: other processes keep the object), or by the garbage
  # collector as a safety net; using a released object raises ClosedError.
  # #close is not a handle's: it ends the object's flow for every process
  # (Queue, Pool, Connection) and exists only where there is a flow.
  #
  # Across Ruby's fork a child inherits the object and may use it; only the
  # process that created the Ruby object releases its handle on garbage
  # collection (a forked child ends with exit!, which runs no finalizer).
  #
  # Passing to a spawned child: an object given in the args of
  # Multiproc::Process.new(target:) is sent as a descriptor
  # (mp_process_pass_fd) and opened again in the child (Marshal hooks).
  class Handle
    include Uncopyable

    class << self
      # Subclasses name their C functions: free, fileno, from_fd.
      # (Inherited: RLock uses Lock's.)
      %i[c_free c_fileno c_from_fd c_open].each do |name|
        define_method(name) do
          instance_variable_get(:"@#{name}") || (superclass.respond_to?(name) ? superclass.send(name) : nil)
        end
      end

      def c_functions(free:, fileno: nil, from_fd: nil, open: nil)
        @c_free, @c_fileno, @c_from_fd, @c_open = free, fileno, from_fd, open
      end

      # A Ruby object around a handle the library gave us.
      def wrap(ptr, *extra)
        obj = allocate
        obj.send(:adopt, ptr, *extra)
        obj
      end

      # Open an object from a descriptor received from another process;
      # the object owns the descriptor.
      def from_fd(fd)
        fd = Multiproc.int_arg(fd, "#{name}.from_fd: fd", 0, INT_MAX)
        _rc, ptr = Multiproc.call_out(N.send(c_from_fd, fd), "#{name}.from_fd")
        wrap(ptr)
      end

      # In a program started by a Command that passed an object under name
      # (Command#pass), open it: Multiproc::Lock.inherit("lock"). Raises
      # NotFoundError when nothing was passed under name, StateError when
      # name holds a queue or connection, InvalidArgumentError when it holds
      # another kind of object.
      def inherit(name)
        from_fd(inherited_fd(name))
      end

      # Open the object that a program this one did not start published
      # with a Broker (in any language), by address:
      # Multiproc::Queue.open("unix:/run/app.sock#jobs"). timeout: seconds
      # to wait for the broker (nil: no limit). With a block, yields the
      # object and releases its handle when the block ends. Raises
      # InvalidArgumentError (bad address, or name holds another kind of object),
      # NotFoundError (no broker, or nothing published under name),
      # ConnectionRefusedError (a socket nobody serves), PermissionError (the
      # broker refused this process), NoSpaceError (the broker is full),
      # BrokenPipeError (the broker ended meanwhile), TimeoutError.
      # Queue.open("redis://[user@]host[:port][/db]#name") opens the queue
      # of that name on a redis server (made when none exists; see
      # docs/guide.md "Beyond one machine"); its further errors:
      # ConnectionRefusedError (nothing answers), TimeoutError, PermissionError
      # (credentials refused; the password comes from
      # MULTIPROC_REDIS_PASSWORD_FILE or MULTIPROC_REDIS_PASSWORD),
      # InvalidArgumentError (its keys hold what another client wrote),
      # BrokenPipeError (the connection was lost mid-call: that call's
      # outcome is unknown), NotSupportedError (a build without redis).
      def open(address, timeout: nil, &block)
        raise NotImplementedError, "#{name}.open: a #{name} is not opened by address" unless c_open

        ptr = opened(c_open, address, timeout)
        Handle.yield_released(wrap(ptr), &block)
      end

      def opened(function, address, timeout, *extra) # :nodoc:
        _rc, ptr = Multiproc.call_out(N.send(function, address.to_s, *extra, Multiproc.timeout_ms(timeout)),
                                      "#{name}.open #{address}")
        Multiproc.warn_after_open(address)
        ptr
      end

      # obj, or with a block the block's value, releasing obj's handle.
      def yield_released(obj) # :nodoc:
        return obj unless block_given?

        begin
          yield obj
        ensure
          obj.release_handle
        end
      end

      def inherited_fd(name) # :nodoc:
        _rc, fd = Multiproc.call_out(N.mp_fd_inherit(name.to_s), "#{self.name}.inherit #{name}")
        fd
      end

      def finalizer(state, free, owner) # :nodoc:
        proc do
          ptr = state[0]
          N.send(free, ptr) if ptr && ::Process.pid == owner
        end
      end

      # Marshal hook (see _dump): open the descriptor at index in a child.
      def _load(str)
        from_fd(Handle.child_fd(Integer(str)))
      end

      # --- handle passing to spawned children --------------------------

      # Marshal obj for a child process: [bytes, handles], where handles
      # are the multiproc objects found inside, in the order their
      # descriptors must be passed (mp_process_pass_fd gives 0, 1, ...).
      def dump_passed(obj)
        handles = []
        Thread.current[:multiproc_passing] = handles
        [Marshal.dump(obj), handles]
      ensure
        Thread.current[:multiproc_passing] = nil
      end

      def load_passed(bytes)
        Marshal.load(bytes) # rubocop:disable Security/MarshalLoad
      end

      # The index under which handle's descriptor will reach the child.
      def pass(handle)
        handles = Thread.current[:multiproc_passing]
        unless handles
          raise TypeError, "#{handle.class} can only be marshalled as an argument of " \
                           "Multiproc::Process.new(target:), which passes its descriptor"
        end
        handle.fileno # raises if released
        handles << handle
        handles.size - 1
      end

      def child_fd(index)
        Multiproc.check(N.mp_child_fd(index), "child descriptor #{index}")
      end
    end

    # The C handle; raises ClosedError once released.
    def ptr
      @state[0] || raise(ClosedError.new("#{self.class}: the handle was released"))
    end

    # Release this process's handle (other processes keep the object).
    # Releasing again does nothing. The one name in every class: #release
    # is the lock's on lock-like objects, #close ends a flow for everyone.
    def release_handle
      ptr = @state && @state[0]
      return nil unless ptr

      @state[0] = nil
      ObjectSpace.undefine_finalizer(self)
      N.send(self.class.c_free, ptr)
      nil
    end

    # Before 0.2: #release (kept where it is not the lock's release).
    Deprecated.deprecate(self, :release, :release_handle)

    def released?
      @state.nil? || @state[0].nil?
    end

    # The descriptor of the shared object (owned by the handle).
    def fileno
      Multiproc.check(N.send(self.class.c_fileno, ptr), "fileno")
    end

    # Marshal hook: only inside Multiproc::Process.new(target:, args:).
    def _dump(_level)
      Handle.pass(self).to_s
    end

    def inspect
      "#<#{self.class}#{released? ? ' (released)' : ''}>"
    end

    # With a block, new yields the object and releases its handle when the
    # block ends (the block's value is returned).
    def self.new(*args, **kw, &block)
      obj = super(*args, **kw)
      return obj unless block

      begin
        block.call(obj)
      ensure
        obj.release_handle
      end
    end

    private

    def adopt(ptr)
      @state = [ptr]
      ObjectSpace.define_finalizer(self, Handle.finalizer(@state, self.class.c_free, ::Process.pid))
    end
  end

  class << self
    # rc_and_outputs is a native call's [rc, out...] (or a bare rc): raise
    # on a negative rc, else return it as an Array.
    def call_out(result, op = nil)
      result = [result] unless result.is_a?(::Array)
      check(result[0], op)
      result
    end

    # After a redis:// open (or serve) that succeeded, mp_last_error() holds
    # "" or a warning, such as a server whose maxmemory-policy can evict the
    # object's keys: the warning goes to Kernel#warn ($VERBOSE = nil or a
    # Warning.warn of your own silences or redirects it). Other addresses
    # may leave an older message there, so only redis:// is looked at.
    def warn_after_open(address) # :nodoc:
      return unless address.to_s.start_with?("redis://")

      message = Native.mp_last_error
      Kernel.warn("multiproc: #{message}") unless message.empty?
    end
  end
end
