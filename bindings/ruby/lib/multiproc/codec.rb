# frozen_string_literal: true

module Multiproc
  # How pool arguments and results travel: Marshal, except that a String in
  # UTF-8, ASCII-8BIT or US-ASCII goes as a tag byte and its bytes (Marshal
  # output always starts with "\x04", so the tags cannot be mistaken for
  # it). Strings are what most tasks move, and this spares two Marshal
  # calls per item on each side.
  module Codec
    TAGS = { Encoding::UTF_8 => "u", Encoding::ASCII_8BIT => "b", Encoding::US_ASCII => "a" }.freeze
    ENCODINGS = TAGS.to_h { |enc, tag| [tag.ord, enc] }.freeze

    module_function

    def dump(obj)
      tag = obj.instance_of?(String) && TAGS[obj.encoding]
      tag ? (+tag).b << obj.b : Marshal.dump(obj)
    end

    def load(bytes)
      enc = ENCODINGS[bytes.getbyte(0)]
      return bytes.byteslice(1, bytes.bytesize - 1).force_encoding(enc) if enc

      Marshal.load(bytes) # rubocop:disable Security/MarshalLoad
    end
  end
end
