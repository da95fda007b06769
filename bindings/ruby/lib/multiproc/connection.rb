# frozen_string_literal: true

module Multiproc
  # One end of a pipe of framed byte messages (Python's Connection; the
  # wire format is CPython's, so a Python Connection can be the peer).
  # The end of the stream (every copy of the peer end closed) is
  # ClosedError on receive and BrokenPipeError on send.
  class Connection < Handle
    prepend WithCodec
    include Enumerable

    c_functions free: :mp_conn_free, fileno: :mp_conn_fileno

    READABLE = N::MP_CONN_READABLE
    WRITABLE = N::MP_CONN_WRITABLE

    # A connected pair [a, b]; with duplex: false, a only receives and b
    # only sends (Python's `r, w = Pipe(False)`). With a block, yields
    # both and closes them afterwards.
    # codec: of both ends' send_object/recv_object (see Codecs).
    def self.pipe(duplex: true, codec: :marshal)
      _rc, a, b = Multiproc.call_out(N.mp_pipe(duplex ? 1 : 0), "pipe")
      ends = [wrap(a, duplex ? READABLE | WRITABLE : READABLE),
              wrap(b, duplex ? READABLE | WRITABLE : WRITABLE)]
      ends.each { |e| e.codec = codec }
      return ends unless block_given?

      begin
        yield(*ends)
      ensure
        ends.each(&:close)
      end
    end

    # Wrap a descriptor (owned from now on) as an end.
    def self.from_fd(fd, flags = READABLE | WRITABLE)
      fd = Multiproc.int_arg(fd, "Connection.from_fd: fd", 0, INT_MAX)
      flags = Multiproc.int_arg(flags, "Connection.from_fd: flags", 0, INT_MAX)
      _rc, ptr = Multiproc.call_out(N.mp_conn_from_fd(fd, flags), "Connection.from_fd")
      wrap(ptr, flags)
    end

    # In a program started by a Multiproc::Command that passed an end under
    # name, open it.
    def self.inherit(name, flags = READABLE | WRITABLE)
      _rc, ptr = Multiproc.call_out(N.mp_conn_inherit(name.to_s, flags), "Connection.inherit #{name}")
      wrap(ptr, flags)
    end

    def self._load(str)
      index, flags = str.split(":").map { |s| Integer(s) }
      from_fd(Handle.child_fd(index), flags)
    end

    def _dump(_level)
      "#{Handle.pass(self)}:#{@flags}"
    end

    # Send one message (a String's bytes). Raises BrokenPipeError,
    # TimeoutError, ClosedError.
    def send_bytes(message, timeout: nil)
      raise TypeError, "a message is a String, not #{message.class}" unless message.is_a?(String)

      Multiproc.check(N.mp_conn_send(ptr, message, Multiproc.timeout_ms(timeout)), "Connection#send_bytes")
      self
    end

    # Receive one message as a binary String. Raises ClosedError at the end
    # of the stream, TimeoutError, MessageSizeError.
    def recv_bytes(timeout: nil)
      rc, message = N.mp_conn_recv(ptr, Multiproc.timeout_ms(timeout))
      raise Multiproc.error_for(rc, "Connection#recv_bytes") if rc.negative?

      message
    end

    # Receive one message into buffer, a String, from byte offset on
    # (Python's recv_bytes_into(buffer, offset)); returns the message's
    # length: the message is buffer.byteslice(offset, length). The room is
    # buffer.bytesize - offset; the String is not grown. A longer message
    # raises NoSpaceError, whose #size_needed is its length, and (unlike
    # Python's BufferTooShort, which consumes it) stays for the next
    # receive, e.g. into a larger buffer. An offset below 0 or past the
    # buffer's end is InvalidArgumentError (Python's ValueError), a frozen
    # buffer FrozenError; nothing is received then. Otherwise as #recv_bytes.
    def recv_bytes_into(buffer, offset = 0, timeout: nil)
      raise TypeError, "a buffer is a String, not #{buffer.class}" unless buffer.is_a?(String)

      offset = Multiproc.int_arg(offset, "Connection#recv_bytes_into: offset", 0, buffer.bytesize,
                                 "an Integer from 0 to the buffer's #{buffer.bytesize} bytes")
      rc, len = N.mp_rb_conn_recv_into(ptr, buffer, offset, Multiproc.timeout_ms(timeout))
      return len unless rc.negative?

      error = Multiproc.error_for(rc, "Connection#recv_bytes_into")
      error.size_needed = len if rc == N::MP_ENOSPC
      raise error
    end

    # Python's send/recv: any object, through the end's codec (:marshal
    # unless given; see Codecs).
    def send_object(obj, timeout: nil)
      send_bytes(encode(obj, "Connection#send_object"), timeout: timeout)
    end

    def recv_object(timeout: nil)
      decode(recv_bytes(timeout: timeout), "Connection#recv_object")
    end

    # Whether a message (or the end of the stream) is ready now or within
    # timeout seconds (0 by default).
    def poll(seconds = 0, timeout: seconds)
      Multiproc.check(N.mp_conn_poll(ptr, Multiproc.timeout_ms(timeout)), "Connection#poll") == 1
    end

    # Yield messages until the end of the stream.
    def each
      return enum_for(:each) unless block_given?

      loop do
        rc, message = N.mp_conn_recv(ptr, FOREVER)
        break if rc == N::MP_ECLOSED
        raise Multiproc.error_for(rc, "Connection#each") if rc.negative?

        yield message
      end
      self
    end

    # The largest message this end accepts (default 1 GiB).
    def max_message=(bytes)
      bytes = Multiproc.int_arg(bytes, "Connection#max_message=", 0, SIZE_MAX)
      Multiproc.check(N.mp_conn_set_max_message(ptr, bytes), "Connection#max_message=")
    end

    def readable?
      (@flags & READABLE) != 0
    end

    def writable?
      (@flags & WRITABLE) != 0
    end

    # Close this end, as IO#close: the flow through it ends (the peer sees
    # the end of the stream once every copy of this end is closed; Go's
    # Conn.Shutdown) and, an end being of no use after, its handle is
    # released. Closing again does nothing.
    def close
      release_handle
    end

    def closed?
      released?
    end

    private

    def adopt(ptr, flags = READABLE | WRITABLE)
      super(ptr)
      @flags = flags
    end
  end

  # Python's Pipe(duplex): a connected pair of Connection ends.
  def self.pipe(duplex: true, codec: :marshal, &block)
    Connection.pipe(duplex: duplex, codec: codec, &block)
  end
end
