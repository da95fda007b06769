# frozen_string_literal: true

require "json"

module Multiproc
  # A message that the object's codec could not decode (or an object it
  # could not encode: EncodeError). The message names the call, the codec
  # and the cause, e.g. "Queue#get_object: cannot decode a :json message
  # (unexpected token at 'x')".
  class DecodeError < StandardError; end

  # An object the codec cannot encode (a Proc in :marshal, a non-String in
  # :raw): nothing was sent.
  class EncodeError < TypeError; end

  # The codecs of the object methods (Queue#put_object/#get_object/
  # #each_object, Connection#send_object/#recv_object, Dict#set_object/
  # #get_object), chosen per object with codec: (Queue.new(codec: :json)):
  #
  # - :marshal (the default): any Ruby object Marshal takes; Ruby only.
  # - :json: what JSON.generate takes; read back as JSON.parse gives it
  #   (Hash keys are Strings). The cross-language choice: Go's
  #   TypedQueue[T] with its default JSONCodec, any JSON reader in C.
  # - :raw: Strings as their bytes (what #put/#get always do).
  #
  # The byte methods (#put/#get, #send_bytes/#recv_bytes, #[]/#[]=, the
  # batches) move bytes whatever the codec: they are the wire that C, Go
  # and Python share.
  module Codecs
    # One codec: name, dump(obj) -> String, load(bytes) -> obj.
    Codec = Struct.new(:name, :dumper, :loader) do
      def dump(obj) = dumper.call(obj)
      def load(bytes) = loader.call(bytes)
    end

    RAW_DUMP = lambda do |obj|
      raise TypeError, "a :raw message is a String, not #{obj.class}" unless obj.is_a?(String)

      obj
    end

    ALL = {
      marshal: Codec.new(:marshal, Marshal.method(:dump), Marshal.method(:load)),
      json: Codec.new(:json, ->(obj) { JSON.generate(obj) },
                      ->(bytes) { JSON.parse(bytes.dup.force_encoding(Encoding::UTF_8)) }),
      raw: Codec.new(:raw, RAW_DUMP, ->(bytes) { bytes })
    }.freeze

    def self.fetch(name)
      ALL.fetch(name) do
        raise ArgumentError, "unknown codec #{name.inspect} (:marshal, :json or :raw)"
      end
    end
  end

  # The codec: of an object (Queue, Connection, Dict), prepended to its
  # class: #codec, #codec=, codec: on the class's inherit/from_fd, and the
  # codec travelling with the object to a spawned child (Marshal hooks).
  module WithCodec
    def self.prepended(base)
      base.singleton_class.prepend(ClassMethods)
    end

    # The class side: inherit/from_fd take codec:; _load restores it.
    module ClassMethods
      def inherit(name, *args, codec: :marshal)
        super(name, *args).tap { |obj| obj.codec = codec }
      end

      def from_fd(fd, *args, codec: :marshal)
        super(fd, *args).tap { |obj| obj.codec = codec }
      end

      def _load(str)
        handle, sep, name = str.rpartition("|")
        return super(str) if sep.empty?

        obj = super(handle)
        obj.codec = name.to_sym
        obj
      end
    end

    # The codec's name (:marshal, :json, :raw).
    def codec
      (@codec || Codecs::ALL[:marshal]).name
    end

    def codec=(name)
      @codec = Codecs.fetch(name)
    end

    def _dump(level)
      "#{super}|#{codec}"
    end

    private

    def encode(obj, op)
      (@codec || Codecs::ALL[:marshal]).dump(obj)
    rescue TypeError, JSON::GeneratorError => e
      raise EncodeError, "#{op}: cannot encode #{obj.class} as :#{codec} (#{e.message})"
    end

    def decode(bytes, op)
      (@codec || Codecs::ALL[:marshal]).load(bytes) # rubocop:disable Security/MarshalLoad
    rescue TypeError, ArgumentError, JSON::ParserError => e
      raise DecodeError, "#{op}: cannot decode a :#{codec} message of #{bytes.bytesize} bytes (#{e.message})"
    end
  end
end
