# frozen_string_literal: true

# Port of docs/examples/c/example_communicate.c (subprocess, communicate()):
# Popen(stdin=PIPE, stdout=PIPE, stderr=PIPE).communicate(input), returncode.
require "multiproc"
Multiproc.main

def popen_communicate(program, input)
  puts "$ #{program}"
  child = Multiproc::Command.new(program, stdin: :pipe, stdout: :pipe, stderr: :pipe,
                                          env: { "LC_ALL" => "C" }).spawn
  out, err = child.communicate(input)
  puts "--- stdout (#{out.bytesize} bytes) ---"
  print out
  puts "--- stderr (#{err.bytesize} bytes) ---"
  print err
  puts "Exit code: #{child.exitcode}"
  child.exitcode
end

exit 1 unless popen_communicate("sort", "pear\napple\nfig\nbanana\n").zero?
puts
# Like nslookup, sh reads its commands from stdin until "exit".
script = <<~SH
  x=41
  echo "the answer is $((x + 1))"
  echo 'a line on stderr' >&2
  exit 5
  echo 'never reached'
SH
exit 1 unless popen_communicate("sh", script) == 5
