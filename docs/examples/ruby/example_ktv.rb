# frozen_string_literal: true

# Port of docs/examples/c/example_ktv.c (信号量（了解）): a Semaphore lets at
# most 3 guests into the KTV rooms at once; the others wait outside.
#
#   def go_ktv(sem, user):
#       sem.acquire(); print('%s 占到一间ktv小屋' % user)
#       time.sleep(random.randint(0, 3)); sem.release()
#   sem = Semaphore(4)
#   for i in range(13): Process(target=go_ktv, args=(sem, 'user%s' % i)).start()
#
# Here 3 rooms and 10 guests, and the port shows what the Python only
# claims: every guest counts itself in and out of a shared Value and
# keeps the highest count seen (compare-and-swap), which the parent
# prints. So that the maximum is exactly 3 on every run, a guest stays in
# its room until the house has been full once: the guest who makes the
# count 3 sets an Event that every guest waits for before leaving.
require "multiproc"
$stdout.sync = true

ROOMS = 3
GUESTS = 10
WAIT = 10 # seconds; longer means a bug: fail instead of hanging
INSIDE = 0 # the elements of the room counter
MAX_INSIDE = 1

# Raise room[MAX_INSIDE] to at least n (another guest may raise it too).
def raise_max(room, n)
  loop do
    seen = room[MAX_INSIDE]
    break if seen >= n || room.cas(seen, n, MAX_INSIDE)
  end
end

Multiproc.register(:go_ktv) do |sem, room, full, guest|
  sem.synchronize do # sem.acquire() ... sem.release()
    inside = room.add(1, INSIDE)
    raise_max(room, inside)
    full.set if inside == ROOMS
    puts "user#{guest} got a KTV room"
    raise "the house was never full" unless full.wait(WAIT)

    sleep 0.01 * (1 + guest % 3) # guests stay for different times
    room.add(-1, INSIDE)
  end
end
Multiproc.main

sem = Multiproc::Semaphore.new(ROOMS) # Semaphore(3)
room = Multiproc::Value.new(:int64, [0, 0])
full = Multiproc::Event.new
guests = Array.new(GUESTS) { |i| Multiproc::Process.new(target: :go_ktv, args: [sem, room, full, i]).start }
guests.each_with_index do |guest, i|
  code = guest.join
  abort "user#{i} exited with #{code}" unless code.zero?
end

puts "max inside: #{room[MAX_INSIDE]}"
puts "inside now: #{room[INSIDE]}, rooms free: #{sem.value}"
puts "=====>"
exit 1 unless room[MAX_INSIDE] == ROOMS && room[INSIDE].zero? && sem.value == ROOMS
