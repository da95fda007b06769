# frozen_string_literal: true

module Multiproc
  # A typed value or array in shared memory (Python's Value and Array).
  #
  #   n = Multiproc::Value.new(:double, 1.875, lock: true)
  #   arr = Multiproc::Value.new(:int32, [0, 1, 2, 3, 4])   # an array
  #   s = Multiproc::Value.new(:bytes, "hello world")         # a byte string
  #
  # Each element is read and written atomically; #add and #cas are atomic
  # read-modify-writes; with lock: true, #synchronize guards compound
  # updates.
  class Value < Handle
    include Acquirable
    include Enumerable

    c_functions free: :mp_value_free, fileno: :mp_value_fileno, from_fd: :mp_value_from_fd,
                open: :mp_value_open

    TYPES = {
      int32: N::MP_TYPE_INT32, int64: N::MP_TYPE_INT64, uint64: N::MP_TYPE_UINT64,
      double: N::MP_TYPE_DOUBLE, bytes: N::MP_TYPE_BYTES, int16: N::MP_TYPE_INT16,
      uint16: N::MP_TYPE_UINT16, int8: N::MP_TYPE_INT8, uint8: N::MP_TYPE_UINT8,
      char: N::MP_TYPE_CHAR, float: N::MP_TYPE_FLOAT
    }.freeze

    # Python's typecodes, accepted as the type ("c" is a char Value; a
    # byte string is :bytes).
    TYPECODES = {
      "i" => :int32, "q" => :int64, "Q" => :uint64, "d" => :double, "h" => :int16,
      "H" => :uint16, "b" => :int8, "B" => :uint8, "c" => :char, "f" => :float
    }.freeze

    # type: :int32, :int64, :uint64, :double, :bytes, :int16, :uint16,
    # :int8, :uint8, :char, :float, or Python's typecode as a String ("i",
    # "h", "f", ...). initial: a number (one element), an Array (an array of
    # its size), or for :bytes a String (capacity: its size unless count:
    # says more; for :char, one element per byte). count: elements (bytes
    # for :bytes) when no initial array gives it. A :char element reads as
    # a one-byte String and takes one, or an Integer 0-255; :float rounds
    # to single precision; the integer types wrap around in #add, as ctypes.
    def initialize(type, initial = nil, count: nil, lock: false)
      type = TYPECODES.fetch(type, type)
      ctype = TYPES.fetch(type) do
        raise ArgumentError, "unknown type #{type.inspect}; one of #{TYPES.keys} or #{TYPECODES.keys}"
      end
      initial = initial.bytes if type == :char && initial.is_a?(String) && initial.bytesize != 1
      count ||= initial.is_a?(::Array) || initial.is_a?(String) ? [initial.size, 1].max : 1
      count = Multiproc.int_arg(count, "Value.new: count", 1, SIZE_MAX)
      _rc, ptr = Multiproc.call_out(N.mp_value_new(ctype, count, lock ? N::MP_VALUE_LOCK : 0), "Value.new")
      adopt(ptr)
      case initial
      when nil then nil
      when String then self.value = initial
      when ::Array then initial.each_with_index { |v, i| self[i] = v }
      else self[0] = initial
      end
    end

    def type
      TYPES.key(Multiproc.check(N.mp_value_type(ptr)))
    end

    def size
      rc, count = N.mp_value_count2(ptr)
      rc.negative? ? 0 : count # a bad handle: 0, as before 0.3
    end
    alias length size

    def [](index)
      check_index(index)
      case type
      when :double, :float then get(N.mp_value_get_f64(ptr, index))
      when :uint64 then get(N.mp_value_get_u64(ptr, index))
      when :bytes then value.getbyte(index)
      when :char then get(N.mp_value_get_i64(ptr, index)).chr
      else get(N.mp_value_get_i64(ptr, index))
      end
    end

    def []=(index, v)
      check_index(index)
      rc = case type
           when :double, :float then N.mp_value_set_f64(ptr, index, Float(v))
           when :char then N.mp_value_set_i64(ptr, index, char_code(v))
           when :uint64 then N.mp_value_set_u64(ptr, index, Multiproc.int_arg(Integer(v), "Value#[]=", 0, SIZE_MAX))
           when :bytes then raise TypeError, "set a :bytes value as a whole with value="
           else N.mp_value_set_i64(ptr, index, Multiproc.int_arg(Integer(v), "Value#[]=", INT64_MIN, INT64_MAX))
           end
      Multiproc.check(rc, "Value#[]=")
    end

    # The value (element 0), or for :bytes the byte string.
    def value
      return self[0] unless type == :bytes

      get(N.mp_rb_value_get_bytes(ptr))
    end

    def value=(v)
      if type == :bytes
        Multiproc.check(N.mp_value_set_bytes(ptr, String(v)), "Value#value=")
      else
        self[0] = v
      end
    end

    def each
      return enum_for(:each) unless block_given?

      size.times { |i| yield self[i] }
      self
    end

    # Atomically add delta to an integer element; returns the new value.
    def add(delta, index = 0)
      check_index(index)
      get(N.mp_value_add_i64(ptr, index, Multiproc.int_arg(delta, "Value#add: delta", INT64_MIN, INT64_MAX)))
    end

    # Atomically replace an integer element equal to expected; true if
    # replaced.
    def cas(expected, desired, index = 0)
      check_index(index)
      expected, desired = [expected, desired].map { |v| Multiproc.int_arg(v, "Value#cas", INT64_MIN, INT64_MAX) }
      rc, _actual = N.mp_value_compare_exchange_i64(ptr, index, expected, desired)
      Multiproc.check(rc, "Value#cas") == 1
    end

    # The value's lock (lock: true): acquire/release/synchronize.
    def release
      Multiproc.check(N.mp_value_release(ptr), "Value#release")
      nil
    end

    Deprecated.deprecate(self, :close, :release_handle) # before 0.2

    private

    def c_acquire(ms)
      N.mp_value_acquire(ptr, ms)
    end

    def get(result)
      Multiproc.call_out(result, "Value")[1]
    end

    # A :char element from a one-byte String or an Integer.
    def char_code(v)
      return v.getbyte(0) if v.is_a?(String) && v.bytesize == 1
      return v if v.is_a?(Integer)

      raise TypeError, "a :char element is a one-byte String or an Integer 0-255, not #{v.inspect}"
    end

    def check_index(index)
      raise IndexError, "index #{index} outside 0...#{size}" unless index.is_a?(Integer) && index >= 0 && index < size
    end
  end

  # A zero-filled block of bytes shared with the processes it reaches
  # (shared_memory.SharedMemory).
  class SharedMemory < Handle
    c_functions free: :mp_shm_free, fileno: :mp_shm_fileno, from_fd: :mp_shm_from_fd,
                open: :mp_shm_open

    def initialize(size)
      size = Multiproc.int_arg(size, "SharedMemory.new: size", 1, SIZE_MAX)
      _rc, ptr = Multiproc.call_out(N.mp_shm_new(size), "SharedMemory.new")
      adopt(ptr)
    end

    def size
      rc, size = N.mp_shm_size2(ptr)
      rc.negative? ? 0 : size # a bad handle: 0, as before 0.3
    end

    # length bytes from offset (default: to the end), as a binary String.
    def read(offset = 0, length = nil)
      offset = span_arg(offset, 0, "SharedMemory#read")
      length = span_arg(length || size - offset, offset, "SharedMemory#read")
      Multiproc.call_out(N.mp_rb_shm_read(ptr, offset, length), "SharedMemory#read")[1] || "".b
    end

    # Copy the bytes of data to offset.
    def write(data, offset = 0)
      data = String(data)
      offset = span_arg(offset, 0, "SharedMemory#write")
      span_arg(data.bytesize, offset, "SharedMemory#write")
      Multiproc.check(N.mp_rb_shm_write(ptr, offset, data), "SharedMemory#write")
      data.bytesize
    end

    Deprecated.deprecate(self, :close, :release_handle) # before 0.2

    private

    # An offset or length n that fits in the block from start on: else
    # InvalidArgumentError in Ruby words.
    def span_arg(n, start, op)
      Multiproc.int_arg(n, "#{op}: offset and length", 0, size - start, "within the block's #{size} bytes")
    end
  end
end
