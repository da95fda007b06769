# frozen_string_literal: true

module Multiproc
  # A typed value or array in shared memory (Python's Value and Array).
  #
  #   n = Multiproc::Value.new(:double, 1.875, lock: true)
  #   arr = Multiproc::Value.new(:int32, [0, 1, 2, 3, 4])   # an array
  #   s = Multiproc::Value.new(:bytes, "hello world")         # a byte string
  #   b = Multiproc::Value.new(:bool, false)
  #   a = Multiproc::Value.new(record: { x: :double, y: :double },   # Array(Point, ...)
  #                            initial: [[1.875, -6.25], [-5.75, 2.0]], lock: lock)
  #   a.each { |p| p.x **= 2 }                                # rows are live views
  #
  # Each element (each field of a record) is read and written atomically;
  # #add and #cas are atomic read-modify-writes; with lock: true, or lock:
  # a Multiproc::Lock shared by several values, #synchronize guards
  # compound updates.
  class Value < Handle
    include Acquirable
    include Enumerable

    c_functions free: :mp_value_free, fileno: :mp_value_fileno, from_fd: :mp_value_from_fd,
                open: :mp_value_open

    TYPES = {
      int32: N::MP_TYPE_INT32, int64: N::MP_TYPE_INT64, uint64: N::MP_TYPE_UINT64,
      double: N::MP_TYPE_DOUBLE, bytes: N::MP_TYPE_BYTES, int16: N::MP_TYPE_INT16,
      uint16: N::MP_TYPE_UINT16, int8: N::MP_TYPE_INT8, uint8: N::MP_TYPE_UINT8,
      char: N::MP_TYPE_CHAR, float: N::MP_TYPE_FLOAT, bool: N::MP_TYPE_BOOL,
      record: N::MP_TYPE_RECORD
    }.freeze

    # The field types of a record and their typecodes (mp_value_new_record).
    FIELD_CODES = {
      int8: "b", uint8: "B", int16: "h", uint16: "H", int32: "i", int64: "q", uint64: "Q",
      float: "f", double: "d", char: "c", bool: "?"
    }.freeze

    # Python's typecodes, accepted as the type ("c" is a char Value; a
    # byte string is :bytes).
    TYPECODES = {
      "i" => :int32, "q" => :int64, "Q" => :uint64, "d" => :double, "h" => :int16,
      "H" => :uint16, "b" => :int8, "B" => :uint8, "c" => :char, "f" => :float,
      "?" => :bool
    }.freeze

    # type: :int32, :int64, :uint64, :double, :bytes, :int16, :uint16,
    # :int8, :uint8, :char, :float, :bool, or Python's typecode as a String
    # ("i", "h", "f", "?", ...). initial: a number (one element), an Array
    # (an array of its size), or for :bytes a String (capacity: its size
    # unless count: says more; for :char, one element per byte). count:
    # elements (bytes for :bytes) when no initial array gives it. A :char
    # element reads as a one-byte String and takes one, or an Integer
    # 0-255; :float rounds to single precision; a :bool takes true, false,
    # nil, 0 or 1; the integer types wrap around in #add, as ctypes.
    #
    # record: instead of type, records of numbers (a ctypes Structure):
    # { x: :double, y: :double } or [[:x, :double], [:y, :double]], field
    # types those of FIELD_CODES, laid out as the C struct of these fields.
    # initial: (keyword or positional) an Array of rows, each an Array,
    # Hash, Struct or Row. Elements are rows (Value::Row), live views whose
    # accessors read and write the shared fields.
    #
    # lock: false, true (the value's own lock), or a Multiproc::Lock (or
    # RLock) that the value shares with other values (Python's lock=lock).
    def initialize(type = nil, initial = nil, count: nil, lock: false, record: nil, **opts)
      initial = opts.delete(:initial) if opts.key?(:initial)
      raise ArgumentError, "unknown keywords #{opts.keys}" unless opts.empty?
      raise ArgumentError, "Value.new: a type or record:, not both" if type && record

      initial = record ? new_record(record, initial, count, lock) : new_typed(type, initial, count, lock)
      fill(initial)
    end

    # The record's fields as [[name, type], ...] (nil unless a record). A
    # record opened by descriptor, inherit or open (not passed as a target's
    # argument, which carries the names) has names :f0, :f1, ... until
    # #as_record names them.
    def record_fields
      return nil unless type == :record

      @fields ||= Array.new(Multiproc.check(N.mp_value_field_count(ptr))) do |f|
        [:"f#{f}", TYPES.key(Multiproc.check(N.mp_value_field_type(ptr, f)))]
      end
    end

    # Name the fields of an opened record (spec as record: of new); raises
    # InvalidArgumentError unless the field types are those of spec.
    def as_record(spec)
      fields = Value.record_spec(spec)
      unless fields.map(&:last) == record_fields&.map(&:last)
        raise InvalidArgumentError, "Value#as_record: the value's fields are #{record_fields.inspect}"
      end

      @fields = fields
      @row_class = nil
      self
    end

    # Bind this process's handle on a value made with a shared lock (lock:
    # a Lock) to lock, this process's handle on that lock, so that
    # #acquire takes it. A value passed as a target's argument comes bound.
    # Raises InvalidArgumentError for another lock, StateError for a value
    # without a shared lock.
    def bind_lock(lock)
      Multiproc.check(N.mp_value_bind_lock(ptr, lock.ptr), "Value#bind_lock")
      @lock = lock
      self
    end

    # The record spec as [[name, type], ...], checked.
    def self.record_spec(spec)
      fields = spec.to_a.map { |name, t| [name.to_sym, t.to_sym] }
      bad = fields.reject { |_, t| FIELD_CODES.key?(t) }
      raise ArgumentError, "record: field types #{bad} are not among #{FIELD_CODES.keys}" unless bad.empty?

      fields
    end

    # A live view of one record: an accessor per field, reading and writing
    # the shared memory; #to_a, #to_h for a copy.
    class Row
      attr_reader :index

      def self.for(names)
        Class.new(self) do
          names.each_with_index do |name, f|
            define_method(name) { @value.field(@index, f) }
            define_method(:"#{name}=") { |v| @value.set_field(@index, f, v) }
          end
          define_method(:members) { names }
        end
      end

      def initialize(value, index)
        @value = value
        @index = index
      end

      def [](key)
        @value.field(@index, field_index(key))
      end

      def []=(key, v)
        @value.set_field(@index, field_index(key), v)
      end

      def to_a
        Array.new(members.size) { |f| @value.field(@index, f) }
      end

      def to_h
        members.zip(to_a).to_h
      end

      def ==(other)
        other.respond_to?(:to_a) && to_a == other.to_a
      end

      def inspect
        "#<row #{members.zip(to_a).map { |n, v| "#{n}=#{v.inspect}" }.join(', ')}>"
      end

      private

      def field_index(key)
        return key if key.is_a?(Integer) && key >= 0 && key < members.size

        members.index(key.to_sym) || raise(IndexError, "no field #{key.inspect}; #{members}")
      end
    end

    # Field f of record index (what a Row's accessors read).
    def field(index, f)
      check_index(index)
      case record_fields[f][1]
      when :double, :float then get(N.mp_value_get_field_f64(ptr, index, f))
      when :bool then get(N.mp_value_get_field_i64(ptr, index, f)) == 1
      when :char then get(N.mp_value_get_field_i64(ptr, index, f)).chr
      else get(N.mp_value_get_field_i64(ptr, index, f))
      end
    end

    # Write field f of record index.
    def set_field(index, f, v)
      check_index(index)
      rc = case record_fields[f][1]
           when :double, :float then N.mp_value_set_field_f64(ptr, index, f, Float(v))
           when :bool then N.mp_value_set_field_i64(ptr, index, f, bool_arg(v))
           when :char then N.mp_value_set_field_i64(ptr, index, f, char_code(v))
           else N.mp_value_set_field_i64(ptr, index, f, Multiproc.int_arg(Integer(v), "Value#set_field", INT64_MIN, INT64_MAX))
           end
      Multiproc.check(rc, "Value#set_field")
    end

    # Marshal hooks (a target's argument): the lock a value shares and a
    # record's field names travel with it; the child's value comes bound.
    def _dump(_level)
      Marshal.dump([Handle.pass(self), @lock, @fields])
    end

    def self._load(str)
      index, lock, fields = Marshal.load(str) # rubocop:disable Security/MarshalLoad
      value = from_fd(Handle.child_fd(index))
      value.bind_lock(lock) if lock
      value.instance_variable_set(:@fields, fields)
      value
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
      when :bool then get(N.mp_value_get_bool(ptr, index)) == 1
      when :record then row_class.new(self, index)
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
           when :bool then N.mp_value_set_bool(ptr, index, bool_arg(v))
           when :record then return set_row(index, v)
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

    # new's two forms; each returns initial as fill takes it.
    def new_typed(type, initial, count, lock)
      type = TYPECODES.fetch(type, type)
      ctype = TYPES.fetch(type) do
        raise ArgumentError, "unknown type #{type.inspect}; one of #{TYPES.keys} or #{TYPECODES.keys}"
      end
      raise ArgumentError, "Value.new: records are made with record:" if type == :record

      initial = initial.bytes if type == :char && initial.is_a?(String) && initial.bytesize != 1
      count = count_of(initial, count)
      rc = if lock.is_a?(Lock)
             N.mp_value_new_with_lock(ctype, count, lock.ptr)
           else
             N.mp_value_new(ctype, count, lock ? N::MP_VALUE_LOCK : 0)
           end
      adopt(Multiproc.call_out(rc, "Value.new")[1])
      @lock = lock if lock.is_a?(Lock)
      initial
    end

    def new_record(spec, initial, count, lock)
      @fields = Value.record_spec(spec)
      codes = @fields.map { |_, t| FIELD_CODES[t] }.join
      count = count_of(initial, count)
      rc = if lock.is_a?(Lock)
             N.mp_value_new_record_with_lock(codes, count, lock.ptr)
           else
             N.mp_value_new_record(codes, count, lock ? N::MP_VALUE_LOCK : 0)
           end
      adopt(Multiproc.call_out(rc, "Value.new")[1])
      @lock = lock if lock.is_a?(Lock)
      initial
    end

    def count_of(initial, count)
      count ||= initial.is_a?(::Array) || initial.is_a?(String) ? [initial.size, 1].max : 1
      Multiproc.int_arg(count, "Value.new: count", 1, SIZE_MAX)
    end

    def fill(initial)
      case initial
      when nil then nil
      when String then self.value = initial
      when ::Array then initial.each_with_index { |v, i| self[i] = v }
      else self[0] = initial
      end
    end

    def row_class
      @row_class ||= Row.for(record_fields.map(&:first))
    end

    # A record from an Array, Hash, Struct or Row, field by field.
    def set_row(index, row)
      names = record_fields.map(&:first)
      values = row.is_a?(::Array) ? row : row.to_h.transform_keys(&:to_sym).values_at(*names)
      unless values.size == names.size && !values.include?(nil)
        raise ArgumentError, "a record of the fields #{names}, not #{row.inspect}"
      end

      values.each_with_index { |v, f| set_field(index, f, v) }
    end

    # ctypes' c_bool takes any number; Ruby's 0 is true, so only the
    # unambiguous ones: true, false, nil, 0, 1.
    def bool_arg(v)
      case v
      when true, 1 then 1
      when false, nil, 0 then 0
      else raise TypeError, "a :bool is true, false, nil, 0 or 1, not #{v.inspect}"
      end
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

    # The block's bytes as an IO::Buffer (Ruby >= 3.1), with no copy: a
    # write through it is seen by every process sharing the block, and
    # IO#read / IO::Buffer#read can fill it directly. Each call gives a new
    # view (an IO::Buffer#slice of one root per object); a view keeps this
    # object, and so the mapping, alive. Lifetime rule: a view must not be
    # used after #release_handle, which invalidates every view (using one
    # then raises IO::Buffer::InvalidatedError); do not release the handle
    # while another thread is inside a call on a view. Raises ClosedError
    # after release_handle, NotImplementedError on Ruby < 3.1.
    def buffer
      @buffer_root ||= N.mp_rb_shm_buffer(ptr, self)
      @buffer_root.slice(0, @buffer_root.size)
    end

    # Invalidates the views of #buffer, then releases the handle (see Handle).
    def release_handle
      @buffer_root&.free
      @buffer_root = nil
      super
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
