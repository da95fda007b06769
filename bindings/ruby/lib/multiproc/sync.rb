# frozen_string_literal: true

module Multiproc
  # Shared by the lock-like objects: acquire with a timeout, synchronize.
  module Acquirable
    # Acquire (timeout: seconds, nil = forever, 0 = try). Returns true, or
    # false when the timeout passed. Raises OwnerDeadError when the
    # previous holder died holding it: the lock is then held by the caller
    # (repair the data it protects, then release). A plain lock already
    # held by this thread: false with a timeout, at once (the library's
    # answer: only this thread could release it; Python's acquire(False)
    # is False too), StateError without one (as Mutex#lock's ThreadError:
    # it would wait for ever).
    def acquire(timeout: nil)
      rc = c_acquire(Multiproc.timeout_ms(timeout))
      return false if rc == N::MP_ETIMEDOUT

      Multiproc.check(rc, "#{self.class}#acquire")
      true
    end

    def try_acquire
      acquire(timeout: 0)
    end

    # Run the block holding the lock; yields true when the previous holder
    # had died holding it (the protected data may need repair).
    def synchronize
      owner_died = false
      begin
        acquire
      rescue OwnerDeadError
        owner_died = true
      end
      begin
        yield owner_died
      ensure
        release
      end
    end
  end

  # A lock shared between processes, with an owner: when the owner dies
  # holding it, the next acquirer gets it with OwnerDeadError instead of
  # everyone waiting forever. Only the owner may release it.
  class Lock < Handle
    include Acquirable

    c_functions free: :mp_lock_free, fileno: :mp_lock_fileno, from_fd: :mp_lock_from_fd,
                open: :mp_lock_open

    def initialize
      _rc, ptr = Multiproc.call_out(N.mp_lock_new(self.class::FLAGS), "#{self.class}.new")
      adopt(ptr)
    end

    FLAGS = 0

    def release
      Multiproc.check(N.mp_lock_release(ptr), "#{self.class}#release")
      nil
    end

    def locked?
      Multiproc.check(N.mp_lock_locked(ptr)) == 1
    end

    # The fencing token of this thread's hold of a lock on a redis server
    # (Lock.open("redis://...#name")): greater than every earlier hold's.
    # Raises StateError when this thread does not hold it,
    # NotSupportedError for a local lock.
    def fence
      Multiproc.call_out(N.mp_lock_fence(ptr), "#{self.class}#fence")[1]
    end

    # Before 0.2 (a lock has no flow to close; see Handle).
    Deprecated.deprecate(self, :close, :release_handle)
    Deprecated.deprecate(self, :closed?, :released?)

    private

    def c_acquire(ms)
      N.mp_lock_acquire(ptr, ms)
    end
  end

  # A recursive lock: its owner may acquire it again (Python's RLock).
  class RLock < Lock
    FLAGS = N::MP_LOCK_RECURSIVE
  end

  # A counting semaphore; with max: a bounded one (release above max
  # raises StateError).
  class Semaphore < Handle
    include Acquirable

    c_functions free: :mp_sem_free, fileno: :mp_sem_fileno, from_fd: :mp_sem_from_fd,
                open: :mp_sem_open

    def initialize(value = 1, max: 0)
      value = Multiproc.int_arg(value, "Semaphore.new: value", 0, UINT_MAX)
      max = Multiproc.int_arg(max, "Semaphore.new: max", 0, UINT_MAX, "an Integer >= 0 (0: no limit)")
      _rc, ptr = Multiproc.call_out(N.mp_sem_new(value, max), "Semaphore.new")
      adopt(ptr)
    end

    def release
      Multiproc.check(N.mp_sem_release(ptr), "Semaphore#release")
      nil
    end

    def value
      Multiproc.check(N.mp_sem_value(ptr))
    end

    Deprecated.deprecate(self, :close, :release_handle) # before 0.2

    private

    def c_acquire(ms)
      N.mp_sem_acquire(ptr, ms)
    end
  end

  # An event flag shared between processes.
  class Event < Handle
    c_functions free: :mp_event_free, fileno: :mp_event_fileno, from_fd: :mp_event_from_fd,
                open: :mp_event_open

    def initialize
      _rc, ptr = Multiproc.call_out(N.mp_event_new, "Event.new")
      adopt(ptr)
    end

    def set
      Multiproc.check(N.mp_event_set(ptr), "Event#set")
      nil
    end

    def clear
      Multiproc.check(N.mp_event_clear(ptr), "Event#clear")
      nil
    end

    def set?
      Multiproc.check(N.mp_event_is_set(ptr)) == 1
    end

    # Wait until set: true, or false when timeout seconds passed.
    def wait(seconds = nil, timeout: seconds)
      rc = N.mp_event_wait(ptr, Multiproc.timeout_ms(timeout))
      return false if rc == N::MP_ETIMEDOUT

      Multiproc.check(rc, "Event#wait")
      true
    end

    Deprecated.deprecate(self, :close, :release_handle) # before 0.2
  end

  # A condition variable shared between processes, bound to a Lock.
  class Condition < Handle
    c_functions free: :mp_cond_free, fileno: :mp_cond_fileno

    attr_reader :lock

    def initialize(lock = Lock.new)
      _rc, ptr = Multiproc.call_out(N.mp_cond_new(lock.ptr), "Condition.new")
      adopt(ptr, lock)
    end

    # Open the condition passed under name (Command#pass) over lock, this
    # process's handle on the condition's lock (passed and inherited too).
    def self.inherit(name, lock)
      _rc, ptr = Multiproc.call_out(N.mp_cond_from_fd(inherited_fd(name), lock.ptr), "Condition.inherit #{name}")
      wrap(ptr, lock)
    end

    # Open the condition published at address (see Handle.open), over
    # lock: this process's handle on the condition's lock (published and
    # opened too).
    def self.open(address, lock, timeout: nil, &block)
      ptr = opened(:mp_cond_open, address, timeout, lock.ptr)
      Handle.yield_released(wrap(ptr, lock), &block)
    end

    def self._load(str)
      index, lock = Marshal.load(str) # rubocop:disable Security/MarshalLoad
      _rc, ptr = Multiproc.call_out(N.mp_cond_from_fd(Handle.child_fd(index), lock.ptr), "Condition")
      wrap(ptr, lock)
    end

    def _dump(_level)
      Marshal.dump([Handle.pass(self), @lock])
    end

    def acquire(timeout: nil)
      @lock.acquire(timeout: timeout)
    end

    def release
      @lock.release
    end

    def synchronize(&block)
      @lock.synchronize(&block)
    end

    # Release the lock, wait for a notification, take the lock again.
    # Returns true when notified, false on timeout.
    def wait(seconds = nil, timeout: seconds)
      rc = N.mp_cond_wait(ptr, Multiproc.timeout_ms(timeout))
      return false if rc == N::MP_ETIMEDOUT

      Multiproc.check(rc, "Condition#wait")
      true
    end

    # Wait until the block returns a truthy value (checked with the lock
    # held); returns that value, or the last falsy one after timeout.
    def wait_for(seconds = nil, timeout: seconds)
      deadline = timeout && ::Process.clock_gettime(::Process::CLOCK_MONOTONIC) + timeout
      until (result = yield)
        left = deadline && deadline - ::Process.clock_gettime(::Process::CLOCK_MONOTONIC)
        break if left && left <= 0

        wait(left)
      end
      result
    end

    def notify(n = 1)
      n = Multiproc.int_arg(n, "Condition#notify: n", 1, INT_MAX)
      Multiproc.check(N.mp_cond_notify(ptr, n), "Condition#notify")
      nil
    end

    def notify_all
      Multiproc.check(N.mp_cond_notify_all(ptr), "Condition#notify_all")
      nil
    end

    Deprecated.deprecate(self, :close, :release_handle) # before 0.2

    private

    def adopt(ptr, lock)
      super(ptr)
      @lock = lock
    end
  end

  # A barrier for parties processes or threads.
  class Barrier < Handle
    c_functions free: :mp_barrier_free, fileno: :mp_barrier_fileno, from_fd: :mp_barrier_from_fd,
                open: :mp_barrier_open

    # timeout: the default of #wait without one (Python's Barrier(timeout=)),
    # stored in the barrier for every process; nil: none. An action (Python's
    # action=) is not offered: see README.
    def initialize(parties, timeout: nil)
      parties = Multiproc.int_arg(parties, "Barrier.new: parties", 1, UINT_MAX)
      _rc, ptr = Multiproc.call_out(N.mp_barrier_new2(parties, Multiproc.timeout_ms(timeout)), "Barrier.new")
      adopt(ptr)
    end

    # Wait for every party; returns this caller's arrival index. Raises
    # TimeoutError (the barrier is then broken for everyone, as in Python),
    # StateError (broken: aborted, reset or another waiter timed out). A
    # trap handler running meanwhile does not end the wait; Thread#kill,
    # Timeout or an exception raised by a trap handler does, and breaks the
    # barrier for everyone as a timeout would.
    def wait(seconds = nil, timeout: seconds)
      ms = Multiproc.timeout_ms(timeout)
      answered = false
      begin
        rc = N.mp_barrier_wait(ptr, ms)
        answered = true
      ensure
        # The library keeps an interrupted caller's arrival standing: give
        # up instead of letting the others pass without this thread.
        N.mp_barrier_abort(ptr) unless answered
      end
      Multiproc.check(rc, "Barrier#wait")
    end

    def abort
      Multiproc.check(N.mp_barrier_abort(ptr), "Barrier#abort")
      nil
    end

    def reset
      Multiproc.check(N.mp_barrier_reset(ptr), "Barrier#reset")
      nil
    end

    def parties
      Multiproc.check(N.mp_barrier_parties(ptr))
    end

    def n_waiting
      Multiproc.check(N.mp_barrier_n_waiting(ptr))
    end

    def broken?
      Multiproc.check(N.mp_barrier_broken(ptr)) == 1
    end

    Deprecated.deprecate(self, :close, :release_handle) # before 0.2
  end
end
