# frozen_string_literal: true

# Port of docs/examples/c/example_call.c (subprocess): call, check_output,
# run(capture_output), run(timeout) -> TimeoutExpired, a missing program ->
# FileNotFoundError.
require "multiproc"
Multiproc.main
$stdout.sync = true

puts "$ sh -c 'echo hello from sh; exit 3'"
code = Multiproc.call("sh", "-c", "echo hello from sh; exit 3")
puts "Exit code: #{code}"

puts
puts "$ echo captured text   (check_output)"
out = Multiproc.check_output("echo", "captured text")
print "output: #{out.bytesize} bytes: #{out}"

puts
puts "$ cat /no/such/file   (run, capture_output=True)"
r = Multiproc.run(%w[cat /no/such/file], env: { "LC_ALL" => "C" })
puts "Exit code: #{r.exitcode}"
puts "stdout: #{r.stdout.bytesize} bytes"
print "stderr: #{r.stderr}"

puts
puts "$ sleep 5   (run, timeout=0.2)"
begin
  Multiproc.run(%w[sleep 5], timeout: 0.2)
rescue Multiproc::TimeoutError => e
  puts "TimeoutExpired: #{e.name}: #{e.reason}"
end

puts
puts "$ /no/such/program"
begin
  Multiproc.run(["/no/such/program"])
rescue Multiproc::NotFoundError => e
  puts "FileNotFoundError: #{e.name}: #{e.reason}"
end
