# frozen_string_literal: true

# The version of the multiproc gem: the project's version (meson.build),
# which the `ruby gem` test checks it against.
module Multiproc
  VERSION = "0.4.0"
end
