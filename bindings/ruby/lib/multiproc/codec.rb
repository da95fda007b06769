# frozen_string_literal: true

module Multiproc
  # How pool arguments and results travel: Marshal, except that a String
  # (not a subclass) in UTF-8, ASCII-8BIT or US-ASCII goes as a tag byte
  # ("u", "b", "a") and its bytes (Marshal output always starts with
  # "\x04", so the tags cannot be mistaken for it). Strings are what most
  # tasks move, and this spares two Marshal calls per item on each side.
  #
  # The codec is written in C (ext/multiproc/codec.cxx: mp_rb_codec_*), because the pool
  # encodes and decodes whole maps and each task's argument and result
  # there, without a Ruby call per item; these are its Ruby entry points.
  module Codec
    module_function

    def dump(obj)
      N.mp_rb_codec_dump(obj)
    end

    def load(bytes)
      N.mp_rb_codec_load(bytes)
    end
  end
end
