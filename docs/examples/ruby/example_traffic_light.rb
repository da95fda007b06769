# frozen_string_literal: true

# Port of docs/examples/c/example_traffic_light.c (事件（了解）, 红绿灯): cars
# check an Event (set: green, clear: red) and wait on it; a light process
# sets and clears it.
#
#   def car(e, n):
#       if not e.is_set(): print('红灯亮, car%s等着' % n); e.wait() ...
#       print('车开远了,car', n)
#   def traffic_lights(e, interval):
#       while True: time.sleep(interval); e.clear() if e.is_set() else e.set()
#
# The Python's light never stops and its cars come at random times. Here
# the run is short and its output the same every time: 4 cars arrive at
# red and wait; the light starts changing only once every car has looked
# (cars and light meet at a Barrier), changes 5 times every 150 ms
# (green, red, green, red, green: each set wakes every waiting car at
# once) and then stays green; 2 more cars arrive and drive straight
# through. The cars count themselves in a shared Value.
require "multiproc"
$stdout.sync = true

FIRST_CARS = 4
LATE_CARS = 2
CHANGES = 5
INTERVAL = 0.15
WAIT = 10 # seconds; longer means a bug: fail instead of hanging
WAITED = 0 # the elements of the statistics
PASSED = 1

Multiproc.register(:car) do |green, arrived, stats, n|
  if green.set?
    puts "car#{n}: green light, drives straight through"
  else
    puts "car#{n}: red light, waits"
    stats.add(1, WAITED)
    arrived.wait(WAIT) # this car has looked
    raise "car#{n}: the light never turned green" unless green.wait(WAIT) # e.wait()
    puts "car#{n}: green light, drives off"
  end
  stats.add(1, PASSED)
end

Multiproc.register(:traffic_lights) do |green, arrived, _stats|
  arrived.wait(WAIT) # every car has looked
  1.upto(CHANGES) do |i|
    sleep INTERVAL
    if green.set?
      green.clear
      puts "light: red"
    else
      green.set
      puts i == CHANGES ? "light: green, out of service, stays green" : "light: green"
    end
  end
end
Multiproc.main

def start(target, crossing, *args)
  Multiproc::Process.new(target: target, args: crossing + args).start
end

def join_ok(child)
  code = child.join
  abort "#{child.name} exited with #{code}" unless code.zero?
end

green = Multiproc::Event.new # clear: red
crossing = [green, Multiproc::Barrier.new(FIRST_CARS + 1), Multiproc::Value.new(:int64, [0, 0])]
stats = crossing.last

puts "main: the light is red, #{FIRST_CARS} cars arrive"
cars = (1..FIRST_CARS).map { |n| start(:car, crossing, n) }
light = start(:traffic_lights, crossing)
(cars + [light]).each { |child| join_ok(child) }
puts "main: the light process ended; the light is #{green.set? ? 'green' : 'red'}"

puts "main: #{LATE_CARS} more cars arrive"
late = (FIRST_CARS + 1..FIRST_CARS + LATE_CARS).map { |n| start(:car, crossing, n) }
late.each { |child| join_ok(child) }
puts "main: #{stats[PASSED]} cars passed, #{stats[WAITED]} of them after waiting at red"
exit 1 unless stats[PASSED] == FIRST_CARS + LATE_CARS && stats[WAITED] == FIRST_CARS
