# frozen_string_literal: true

module Multiproc
  # Accepts connections at a "tcp://host:port" or "unix:/path" address
  # (Python's multiprocessing.connection.Listener), wire-compatible with
  # CPython: a Python Client(address, authkey=...) is a peer. Each accepted
  # connection is a Multiproc::Connection.
  #
  #   Multiproc::Listener.open("tcp://127.0.0.1:0", authkey: key) do |l|
  #     puts l.address                 # the real port
  #     conn = l.accept(timeout: 5)
  #   end
  #
  # A tcp:// listener without an authkey is refused (InvalidArgumentError)
  # unless allow_no_auth: true. A unix: socket file is created mode 0600,
  # must not exist (ExistsError; it is never removed) and is removed by
  # #close.
  class Listener < Handle
    c_functions free: :mp_listener_free

    # Listen at address. authkey: a String of bytes (Python's authkey);
    # backlog: listen()'s (default 128); handshake_timeout: seconds a peer
    # may take over the handshake (default 5). With a block, yields the
    # listener and closes it afterwards.
    def self.open(address, **options, &block)
      new(address, **options, &block)
    end

    def self.new(*args, **kw, &block)
      listener = super(*args, **kw, &nil) # Handle.new without the block
      return listener unless block

      begin
        block.call(listener)
      ensure
        listener.close
      end
    end

    def initialize(address, authkey: nil, allow_no_auth: false, backlog: nil, handshake_timeout: nil)
      raise TypeError, "address is a String, not #{address.class}" unless address.is_a?(String)

      _rc, opts = Multiproc.call_out(N.mp_listener_opts_new, "Listener.new")
      begin
        configure(opts, authkey, allow_no_auth, backlog, handshake_timeout)
        _rc, ptr = Multiproc.call_out(N.mp_listener_new(address, opts), "Listener.new #{address}")
      ensure
        N.mp_listener_opts_free(opts)
      end
      adopt(ptr)
      @address = N.mp_listener_address(ptr)
    end

    # The address served, with the real port for port 0
    # ("tcp://127.0.0.1:40123").
    attr_reader :address

    # Wait (timeout seconds; nil: no limit) for the next peer that finished
    # the handshake and return its Connection. Handshakes run apart from
    # accept, so a peer that says nothing holds up no other. Raises
    # PermissionError for a peer that failed the authentication (the message
    # names it; the next accept goes on with the next peer, as Python's
    # accept raises AuthenticationError), TimeoutError, ClosedError (the
    # listener was closed, also from another thread while this one waited).
    def accept(timeout: nil)
      rc, conn = N.mp_listener_accept(ptr, Multiproc.timeout_ms(timeout))
      raise Multiproc.error_for(rc, "Listener#accept") if rc.negative?

      Connection.wrap(conn, Connection::READABLE | Connection::WRITABLE)
    end

    # Stop listening: threads waiting in #accept raise ClosedError, peers in
    # a handshake and connections not yet accepted are closed, a unix:
    # socket file is removed. Accepted connections stay open. Closing again
    # does nothing.
    def close
      return nil if released?

      N.mp_listener_close(ptr)
      release_handle
    end

    def closed?
      released?
    end

    private

    def configure(opts, authkey, allow_no_auth, backlog, handshake_timeout)
      unless authkey.nil?
        raise TypeError, "authkey is a String of bytes, not #{authkey.class}" unless authkey.is_a?(String)

        Multiproc.check(N.mp_listener_opts_set_authkey(opts, authkey), "Listener.new: authkey")
      end
      Multiproc.check(N.mp_listener_opts_set_allow_no_auth(opts, allow_no_auth ? 1 : 0), "Listener.new")
      unless backlog.nil?
        backlog = Multiproc.int_arg(backlog, "Listener.new: backlog", 1, 65_535)
        Multiproc.check(N.mp_listener_opts_set_backlog(opts, backlog), "Listener.new: backlog")
      end
      return if handshake_timeout.nil?

      ms = Multiproc.timeout_ms(handshake_timeout)
      Multiproc.check(N.mp_listener_opts_set_handshake_timeout(opts, ms), "Listener.new: handshake_timeout")
    end
  end

  # Python's multiprocessing.connection.Client.
  module Client
    # Connect to a Listener at address (this library's or CPython's) and run
    # the handshake when authkey is given; timeout (seconds, nil: none)
    # bounds both. Returns a Connection; with a block, yields it and closes
    # it afterwards (the block's value is returned). Raises
    # ConnectionRefusedError (nothing listens), NotFoundError (no socket
    # file, unknown host), PermissionError (the listener refused the key or
    # could not prove it knows it), BrokenPipeError, TimeoutError,
    # InvalidArgumentError.
    def self.connect(address, authkey: nil, timeout: nil)
      raise TypeError, "address is a String, not #{address.class}" unless address.is_a?(String)
      raise TypeError, "authkey is a String of bytes, not #{authkey.class}" unless authkey.nil? || authkey.is_a?(String)

      rc, ptr = N.mp_conn_connect(address, authkey, Multiproc.timeout_ms(timeout))
      raise Multiproc.error_for(rc, "Client.connect #{address}") if rc.negative?

      conn = Connection.wrap(ptr, Connection::READABLE | Connection::WRITABLE)
      return conn unless block_given?

      begin
        yield conn
      ensure
        conn.close
      end
    end
  end
end
