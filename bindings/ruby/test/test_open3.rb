# frozen_string_literal: true

require_relative "helper"
Multiproc.main

# Multiproc's Open3 shapes (lib/multiproc/open3.rb), measured against cases
# ported from ruby/ruby test/test_open3.rb (upstream names in comments).
class TestOpen3 < Minitest::Test
  include MultiprocTestHelper

  RUBY = RbConfig.ruby
  O = Multiproc::Open3

  # upstream: test_exit_status
  def test_exit_status
    O.popen3(RUBY, "-e", "exit true") { |_i, _o, _e, t| assert_equal true, t.value.success? }
    O.popen3(RUBY, "-e", "exit false") { |_i, _o, _e, t| assert_equal false, t.value.success? }
  end

  # Not upstream: the Process::Status-like result of a signaled child.
  def test_status_of_a_signaled_child
    _o, s = Multiproc.capture2(RUBY, "-e", "Process.kill(:KILL, $$)")
    assert s.signaled?
    assert_equal 9, s.termsig
    assert_nil s.exitstatus
    assert_nil s.success?
    assert_match(/SIGKILL/, s.inspect)
    _o, s = Multiproc.capture2(RUBY, "-e", "exit 3")
    assert_equal [3, false, false, 3 << 8], [s.exitstatus, s.success?, s.signaled?, s.to_i]
  end

  # upstream: test_stdin
  def test_stdin
    O.popen3(RUBY, "-e", 'exit STDIN.gets.chomp == "t"') do |i, _o, _e, t|
      i.puts "t"
      assert_equal true, t.value.success?
    end
  end

  # upstream: test_stdout, test_stderr
  def test_stdout_and_stderr
    O.popen3(RUBY, "-e", 'STDOUT.print "foo"; STDERR.print "bar"') do |_i, o, e, _t|
      assert_equal "foo", o.read
      assert_equal "bar", e.read
    end
  end

  # upstream: test_block
  def test_block
    r = O.popen3(RUBY, "-e", "STDOUT.print STDIN.read") do |i, o, _e, _t|
      i.print "baz"
      i.close
      assert_equal "baz", o.read
      "qux"
    end
    assert_equal "qux", r
  end

  # upstream: test_noblock
  def test_noblock
    i, o, e, t = Multiproc.popen3(RUBY, "-e", "STDOUT.print STDIN.read")
    i.print "baz"
    i.close
    assert_equal "baz", o.read
  ensure
    [i, o, e].each { |io| io.close if io && !io.closed? }
    t&.join
  end

  # upstream: test_commandline
  def test_commandline
    O.popen3("echo quux\n") { |_i, o, _e, _t| assert_equal "quux\n", o.read }
  end

  # upstream: test_pid
  def test_pid
    O.popen3(RUBY, "-e", "print $$") do |_i, o, _e, t|
      pid = o.read.to_i
      assert_equal pid, t[:pid]
      assert_equal pid, t.pid
      assert_equal pid, t.value.pid
    end
  end

  # upstream: test_env
  def test_env
    O.popen3({ "A" => "B", "C" => "D" }, RUBY, "-e", 'p ENV["A"]') do |_i, out, _err, _thr|
      assert_equal "\"B\"\n", out.read
    end
  end

  # upstream: test_numeric_file_descriptor2
  def test_numeric_file_descriptor2
    r, w = IO.pipe
    O.popen2(RUBY, "-e", 'STDERR.puts "foo"', 2 => w) { |_i, _o, _t| assert_equal "foo\n", r.gets }
  ensure
    [r, w].each { |io| io&.close unless io&.closed? }
  end

  # upstream: test_numeric_file_descriptor3
  def test_numeric_file_descriptor3
    r, w = IO.pipe
    O.popen3(RUBY, "-e", 'IO.open(3).puts "foo"', 3 => w) { |_i, _o, _e, t| t.value }
    assert_equal "foo\n", r.gets
  ensure
    [r, w].each { |io| io&.close unless io&.closed? }
  end

  # Command's fds: refuses the standard streams' numbers and non-descriptors
  def test_command_fds_bad_input
    r, w = IO.pipe
    assert_raises(ArgumentError) { Multiproc::Command.new(RUBY, fds: { 2 => w }) }
    assert_raises(ArgumentError) { Multiproc::Command.new(RUBY, fds: { 3 => "w" }) }
    assert_raises(ArgumentError) { Multiproc::Command.new(RUBY, fds: { 1024 => w }) }
  ensure
    [r, w].each { |io| io&.close unless io&.closed? }
  end

  # upstream: test_popen2, test_popen2e (stderr inherited / merged)
  def test_popen2_and_popen2e
    O.popen2(RUBY, "-e", 's=STDIN.read; STDOUT.print s+"o"') do |i, o, t|
      assert_kind_of Thread, t
      i.print "z"
      i.close
      assert_equal "zo", o.read
    end
    O.popen2e(RUBY, "-e", 's=STDIN.read; STDOUT.print s+"o"; STDOUT.flush; STDERR.print s+"e"') do |i, o, _t|
      i.print "y"
      i.close
      assert_equal "yoye", o.read
    end
  end

  # upstream: test_capture3
  def test_capture3
    o, e, s = Multiproc.capture3(RUBY, "-e", 'i=STDIN.read; print i+"o"; STDOUT.flush; STDERR.print i+"e"',
                                 stdin_data: "i")
    assert_equal "io", o
    assert_equal "ie", e
    assert s.success?
  end

  # upstream: test_capture3_flip
  def test_capture3_flip
    o, e, s = Multiproc.capture3(RUBY, "-e", 'STDOUT.sync=true; 1000.times { print "o"*1000; STDERR.print "e"*1000 }')
    assert_equal "o" * 1_000_000, o
    assert_equal "e" * 1_000_000, e
    assert s.success?
  end

  # upstream: test_capture2, test_capture2e
  def test_capture2_and_capture2e
    o, s = Multiproc.capture2(RUBY, "-e", 'i=STDIN.read; print i+"o"', stdin_data: "i")
    assert_equal ["io", true], [o, s.success?]
    oe, s = Multiproc.capture2e(RUBY, "-e", 'i=STDIN.read; print i+"o"; STDOUT.flush; STDERR.print i+"e"',
                                stdin_data: "i")
    assert_equal ["ioie", true], [oe, s.success?]
  end

  # upstream: test_capture3_stdin_data, test_capture2_stdin_data, test_capture2e_stdin_data
  def test_stdin_data_the_child_does_not_read
    big = "z" * (1024 * 1024)
    assert_equal ["", "", true], Multiproc.capture3(RUBY, "-e", "", stdin_data: big).then { |o, e, s| [o, e, s.success?] }
    assert_equal ["", true], Multiproc.capture2(RUBY, "-e", "", stdin_data: big).then { |o, s| [o, s.success?] }
    assert_equal ["", true], Multiproc.capture2e(RUBY, "-e", "", stdin_data: big).then { |o, s| [o, s.success?] }
  end

  # upstream: test_pipeline_rw
  def test_pipeline_rw
    O.pipeline_rw([RUBY, "-e", 'print STDIN.read + "1"'], [RUBY, "-e", 'print STDIN.read + "2"']) do |i, o, ts|
      assert_kind_of IO, i
      assert_kind_of IO, o
      assert_equal 2, ts.length
      i.print "0"
      i.close
      assert_equal "012", o.read
      ts.each { |t| assert t.value.success? }
    end
  end

  # upstream: test_pipeline_r
  def test_pipeline_r
    O.pipeline_r([RUBY, "-e", 'print "1"'], [RUBY, "-e", 'print STDIN.read + "2"']) do |o, ts|
      assert_equal "12", o.read
      ts.each { |t| assert t.value.success? }
    end
  end

  COMMAND = [RUBY, "-e", "s=STDIN.read; print s[1..-1]; exit s[0] == ?t"].freeze
  STR = "ttftff"

  # upstream: test_pipeline_w
  def test_pipeline_w
    O.pipeline_w(*[COMMAND] * STR.length) do |i, ts|
      assert_equal STR.length, ts.length
      i.print STR
      i.close
      ts.each_with_index { |t, ii| assert_equal STR[ii] == "t", t.value.success? }
    end
  end

  # upstream: test_pipeline_start, test_pipeline_start_noblock
  def test_pipeline_start
    O.pipeline_start([RUBY, "-e", "print ARGV[0]", STR], *[COMMAND] * STR.length) do |ts|
      assert_equal STR.length + 1, ts.length
      ts.each_with_index { |t, i| assert_equal(i.zero? || STR[i - 1] == "t", t.value.success?) }
    end
    ts = O.pipeline_start([RUBY, "-e", ""])
    assert_equal 1, ts.length
    assert ts[0].value.success?
  end

  # upstream: test_pipeline
  def test_pipeline
    ss = Multiproc.pipeline([RUBY, "-e", "print ARGV[0]", STR], *[COMMAND] * STR.length)
    assert_equal STR.length + 1, ss.length
    ss.each { |s| assert_kind_of Multiproc::Status, s }
    ss.each_with_index { |s, i| assert_equal(i.zero? || STR[i - 1] == "t", s.success?) }
  end
end
