# frozen_string_literal: true

module Multiproc
  # Thread::Queue's and Mutex's names on Queue and Lock, for code written
  # against them (see README, "Coming from Thread::Queue, Mutex").
  #
  # Queue#push/#<</#pop move objects through the queue's codec (put_object
  # / get_object): q << obj; q.pop. Unlike Thread::Queue, #pop raises
  # (TimeoutError, ClosedError once closed and drained, EmptyError with
  # non_block) where Thread::Queue returns nil: ThreadQueue has that
  # contract. #closed?, #size, #empty?, #clear, #num_waiting are Queue's own.
  module QueueIdioms
    def push(obj, non_block = false, timeout: nil)
      put_object(obj, timeout: non_block ? 0 : timeout)
      self
    end

    def <<(obj)
      push(obj)
    end

    def pop(non_block = false, timeout: nil)
      get_object(timeout: non_block ? 0 : timeout)
    end
    alias_method :enq, :push
    alias_method :deq, :pop
    alias_method :shift, :pop
  end
  Queue.prepend(QueueIdioms)

  # Mutex's names on Lock (and RLock): #lock (acquire, returns self),
  # #unlock (release, returns self), #try_lock, #owned?, #synchronize (the
  # block's value; Acquirable's, which also yields whether the previous
  # holder died). #owned? is what this object knows: true between this
  # thread's acquire and release through it (the C library has no owner
  # query; another handle on the same lock is another object).
  module LockIdioms
    def acquire(timeout: nil)
      got = super
      (@owners ||= []) << [::Process.pid, Thread.current] if got
      got
    end

    def release
      super.tap { @owners&.pop }
    end

    def lock
      acquire
      self
    end

    def unlock
      release
      self
    end

    def try_lock
      acquire(timeout: 0)
    end

    def owned?
      @owners ? @owners.include?([::Process.pid, Thread.current]) : false
    end
  end
  Lock.prepend(LockIdioms)
end
