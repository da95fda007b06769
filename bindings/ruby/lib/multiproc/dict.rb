# frozen_string_literal: true

module Multiproc
  # A map of byte-string keys to byte-string values in shared memory
  # (Manager().dict() without a server process). Keys and values are
  # Strings (sent as bytes; read back as binary Strings);
  # get_object/set_object carry any value through Marshal; #incr is an
  # atomic counter (8-byte little-endian values).
  class Dict < Handle
    prepend WithCodec
    include Enumerable

    c_functions free: :mp_dict_free, fileno: :mp_dict_fileno, from_fd: :mp_dict_from_fd,
                open: :mp_dict_open

    # Room for max_entries keys and max_bytes of keys and values together;
    # codec: of set_object/get_object (see Codecs).
    def initialize(max_entries: 1024, max_bytes: 1 << 20, codec: :marshal)
      self.codec = codec
      max_entries = Multiproc.int_arg(max_entries, "Dict.new: max_entries", 1, SIZE_MAX)
      max_bytes = Multiproc.int_arg(max_bytes, "Dict.new: max_bytes", 1, SIZE_MAX)
      _rc, ptr = Multiproc.call_out(N.mp_dict_new(max_entries, max_bytes), "Dict.new")
      adopt(ptr)
    end

    # The value of key, or nil.
    def [](key)
      rc, value = N.mp_dict_get(ptr, bytes(key))
      return nil if rc == N::MP_ENOENT

      Multiproc.check(rc, "Dict#[]")
      value
    end

    # The value of key; without it, the block's value or KeyError.
    def fetch(key)
      rc, value = N.mp_dict_get(ptr, bytes(key))
      return value unless rc == N::MP_ENOENT
      return yield(key) if block_given?

      raise KeyError.new("key not found: #{key.inspect}", receiver: self, key: key)
    end

    def []=(key, value)
      Multiproc.check(N.mp_dict_set(ptr, bytes(key), bytes(value)), "Dict#[]=")
    end

    # Store obj under key, encoded by the dict's codec.
    def set_object(key, obj)
      self[key] = encode(obj, "Dict#set_object #{key.inspect}")
    end

    # The value of key decoded by the dict's codec, or nil if absent.
    def get_object(key)
      v = self[key]
      v && decode(v, "Dict#get_object #{key.inspect}")
    end

    # Remove key; returns its value, or nil if absent.
    def delete(key)
      value = self[key]
      rc = N.mp_dict_delete(ptr, bytes(key))
      return nil if rc == N::MP_ENOENT

      Multiproc.check(rc, "Dict#delete")
      value
    end

    def key?(key)
      Multiproc.check(N.mp_dict_contains(ptr, bytes(key))) == 1
    end
    alias include? key?
    alias has_key? key?

    def size
      Multiproc.check(N.mp_dict_len(ptr))
    end
    alias length size

    def empty?
      size.zero?
    end

    def clear
      Multiproc.check(N.mp_dict_clear(ptr), "Dict#clear")
      self
    end

    # Atomically add delta to the counter at key (missing = 0); returns the
    # new value.
    def incr(key, delta = 1)
      delta = Multiproc.int_arg(delta, "Dict#incr: delta", INT64_MIN, INT64_MAX)
      Multiproc.call_out(N.mp_dict_incr(ptr, bytes(key), delta), "Dict#incr")[1]
    end

    # The counter at key (written by #incr), or nil.
    def counter(key)
      v = self[key]
      v&.unpack1("q<")
    end

    # Atomically set key to desired if its value equals expected (nil:
    # only if absent). Returns true if set.
    def cas(key, expected, desired)
      exp = expected.nil? ? nil : bytes(expected)
      Multiproc.check(N.mp_dict_cas(ptr, bytes(key), exp, bytes(desired)), "Dict#cas") == 1
    end

    # Yield [key, value] of a consistent snapshot.
    def each
      return enum_for(:each) unless block_given?

      _rc, iter = Multiproc.call_out(N.mp_dict_iter_new(ptr), "Dict#each")
      begin
        loop do
          rc, key, value = N.mp_dict_iter_next2(iter)
          break if rc.zero?

          Multiproc.check(rc, "Dict#each")
          yield key, value
        end
      ensure
        N.mp_dict_iter_free(iter)
      end
      self
    end
    alias each_pair each

    def keys
      map(&:first)
    end

    def values
      map(&:last)
    end

    def to_h
      each.to_h
    end

    Deprecated.deprecate(self, :close, :release_handle) # before 0.2

    private

    def bytes(s)
      raise TypeError, "Dict keys and values are Strings, not #{s.class} (use set_object)" unless s.is_a?(String)

      s
    end
  end
end
