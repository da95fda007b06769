# frozen_string_literal: true

# Port of docs/examples/c/example_process_class.c (转换为类; 进程的创建第二种
# 方法（继承）; 进程之间的数据是隔离的): a Process subclass with its own state and
# run(). start() forks and calls run on the child's copy of the object, so
# the ticks the child counts never reach the parent's object; the child
# reports them through its exit code.
require "multiproc"
Multiproc.main
$stdout.sync = true

class ClockProcess < Multiproc::Process
  attr_reader :person, :ticks

  def initialize(person, interval, rounds: 3)
    super(name: person)
    @person = person
    @interval = interval
    @rounds = rounds
    @ticks = 0
  end

  # In the child (a fork): changes this process's copy only.
  def run
    @rounds.times do
      sleep @interval
      @ticks += 1
      puts "#{self.class.name}(#{@person}) in #{Multiproc.current_name}: tick #{@ticks}"
    end
    exit @ticks # the exit code carries a small result home
  end
end

clocks = %w[Jedan Taibai].map { |person| ClockProcess.new(person, 0.05) }
clocks.each(&:start)
clocks.each(&:join) # all first: a clock still running may yet print a tick
clocks.each do |clock|
  code = clock.exitcode
  puts "#{clock.name}: child counted #{code} ticks, parent's copy still has #{clock.ticks}"
  exit 1 unless code == 3
end
