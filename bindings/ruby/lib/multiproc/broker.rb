# frozen_string_literal: true

module Multiproc
  # Serves this program's objects by name at a unix: address, so that
  # programs it did not start, in any language, open them by address:
  #
  #   Multiproc::Broker.new("unix:/run/app/app.sock") do |broker|
  #     broker.publish("jobs", queue)
  #     ...                    # elsewhere: Multiproc::Queue.open("unix:/run/app/app.sock#jobs")
  #   end
  #
  # The other program receives the object itself (its descriptor, over the
  # socket), not a proxy: the same speed and crash guarantees as a child,
  # and the object outlives the broker. A published Pool stays here: its
  # opened handles send their tasks to this program's workers.
  #
  # Who may connect: processes of this uid, plus allow_uids and allow_gids
  # (checked with SO_PEERCRED on every connection).
  class Broker
    include Uncopyable

    # address: "unix:/abs/path.sock" or "unix:@name" (no #name).
    # max_clients: connections served at once (nil: 128);
    # handshake_timeout: seconds a peer may take to ask (nil: 5). With a
    # block, yields the broker and closes it when the block ends. Raises
    # InvalidArgumentError (bad address or option), ExistsError (a live broker, or a
    # file that is not a stale broker socket: never removed), PermissionError,
    # NotFoundError (no such directory).
    def self.new(*args, **kw)
      broker = super
      return broker unless block_given?

      begin
        yield broker
      ensure
        broker.close
      end
    end

    def initialize(address, allow_uids: [], allow_gids: [], max_clients: nil, handshake_timeout: nil)
      _rc, opts = Multiproc.call_out(N.mp_broker_opts_new, "Broker.new")
      begin
        configure(opts, allow_uids, allow_gids, max_clients, handshake_timeout)
        _rc, ptr = Multiproc.call_out(N.mp_broker_new(address.to_s, opts), "Broker.new #{address}")
      ensure
        N.mp_broker_opts_free(opts)
      end
      @state = [ptr]
      @pools = {} # name => Pool: kept alive while published
      ObjectSpace.define_finalizer(self, Broker.finalizer(@state, ::Process.pid))
    end

    # Free the broker (its thread, socket and lock file); the state is
    # emptied first so that a pool's finalizer, which unpublishes the pool
    # from its brokers, skips this one.
    def self.finalizer(state, owner) # :nodoc:
      proc do
        ptr = state[0]
        state[0] = nil
        N.mp_broker_free(ptr) if ptr && ::Process.pid == owner
      end
    end

    # Make obj (a Queue, Lock, RLock, Semaphore, Event, Condition,
    # Barrier, Value, SharedMemory or Dict; a Pool goes to #publish_pool)
    # openable under name (letters, digits, _). The broker keeps its own
    # descriptor: obj may be released afterwards. Raises InvalidArgumentError (bad
    # name, not a shared object), ExistsError (name taken), ClosedError.
    def publish(name, obj)
      return publish_pool(name, obj) if obj.is_a?(Pool)
      unless obj.is_a?(Handle) && !obj.is_a?(Connection)
        raise InvalidArgumentError, "Broker#publish: #{obj.class} is not a shared object"
      end

      Multiproc.check(N.mp_broker_publish(ptr, name.to_s, obj.fileno), "Broker#publish #{name}")
      self
    end

    # Make pool usable under name: Multiproc::Pool.open(address) in another
    # program runs this program's tasks (Multiproc.task, by name) on its
    # workers. The pool stays published until #unpublish or #close.
    def publish_pool(name, pool)
      name = name.to_s
      Multiproc.check(N.mp_broker_publish_pool(ptr, name, pool.__handle), "Broker#publish_pool #{name}")
      @pools[name] = pool
      pool.__published(@state, name)
      self
    end

    # Withdraw name: later opens raise NotFoundError; objects already
    # opened live on. For a pool, returns once no request uses it (the
    # clients' unfinished tasks fail with ClosedError).
    def unpublish(name)
      name = name.to_s
      Multiproc.check(N.mp_broker_unpublish(ptr, name), "Broker#unpublish #{name}")
      @pools.delete(name)&.__unpublished(@state, name)
      nil
    end

    # Stop serving: close every connection, remove the socket file. The
    # objects live on in every program that opened them. Closing again
    # does nothing.
    def close
      return nil unless @state[0]

      ObjectSpace.undefine_finalizer(self)
      Broker.finalizer(@state, ::Process.pid).call
      @pools.each { |name, pool| pool.__unpublished(@state, name) }
      @pools.clear
      nil
    end

    def closed?
      @state[0].nil?
    end

    def inspect
      "#<#{self.class}#{closed? ? ' (closed)' : ''}>"
    end

    private

    def ptr
      @state[0] || raise(ClosedError.new("Broker: closed"))
    end

    def configure(opts, uids, gids, max_clients, handshake_timeout)
      Array(uids).each do |uid|
        uid = Multiproc.int_arg(uid, "Broker.new: allow_uids", 0, UINT_MAX)
        Multiproc.check(N.mp_broker_opts_add_uid(opts, uid), "Broker.new")
      end
      Array(gids).each do |gid|
        gid = Multiproc.int_arg(gid, "Broker.new: allow_gids", 0, UINT_MAX)
        Multiproc.check(N.mp_broker_opts_add_gid(opts, gid), "Broker.new")
      end
      if max_clients
        n = Multiproc.int_arg(max_clients, "Broker.new: max_clients", 1, UINT_MAX)
        Multiproc.check(N.mp_broker_opts_set_max_clients(opts, n), "Broker.new")
      end
      return unless handshake_timeout

      ms = Multiproc.timeout_ms(handshake_timeout)
      Multiproc.check(N.mp_broker_opts_set_handshake_timeout(opts, ms), "Broker.new handshake_timeout")
    end
  end
end
