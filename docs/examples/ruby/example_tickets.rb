# frozen_string_literal: true

# Port of docs/examples/c/example_tickets.c (进程同步（锁）, 抢票): buyers read
# the ticket count, wait a little (the network), and write it back one
# lower; without a lock every buyer "buys" the last ticket.
#
#   def get():
#       dic = json.load(open('db')); time.sleep(0.1)
#       if dic['count'] > 0: dic['count'] -= 1; json.dump(...); print('购票成功')
#       else: print('sorry, 没票了亲!')
#   def task(lock):
#       search(); lock.acquire(); get(); lock.release()
#
# The count is a shared Value instead of the file db: 3 tickets, 10
# buyers. Instead of the Python's sleep(0.1), which makes the race likely,
# a Barrier makes it certain: in the round without a lock every buyer
# reads the count, waits until all 10 have read it, and then writes back
# what it read minus one, so all 10 buy and the count ends at 2. In the
# round with a Lock the barrier sits after search() only; 3 buyers get a
# ticket, 7 are told it is sold out. Sales and refusals are counted with
# Value#add (atomic, no lock needed).
require "multiproc"
Multiproc.main
$stdout.sync = true

TICKETS = 3
BUYERS = 10
WAIT = 10 # seconds; a buyer that never comes is an error, not a hang

# What the buyers share; each buyer is a forked child with a copy of this
# object, whose shared values, barrier and lock are the parent's.
class Shop
  attr_reader :lock

  def initialize
    @tickets = Multiproc::Value.new(:int64, 0) # the db file
    @sold = Multiproc::Value.new(:int64, 0)
    @refused = Multiproc::Value.new(:int64, 0)
    @everybody = Multiproc::Barrier.new(BUYERS)
    @lock = Multiproc::Lock.new
  end

  def search
    puts "tickets left: #{@tickets.value}"
  end

  # race: true puts the delay between read and write at the barrier.
  def get(race: false)
    count = @tickets.value
    wait_for_everybody if race
    if count.positive?
      @tickets.value = count - 1 # json.dump
      @sold.add(1)
      puts "bought a ticket"
    else
      @refused.add(1)
      puts "sorry, sold out"
    end
  end

  def wait_for_everybody
    @everybody.wait(WAIT)
  end

  # Put the tickets on sale, run BUYERS buyers (the block) and join them;
  # returns [sold, refused, left].
  def round(&buyer)
    @tickets.value = TICKETS
    @sold.value = 0
    @refused.value = 0
    buyers = Array.new(BUYERS) { Multiproc::Process.new(&buyer).start }
    codes = buyers.map(&:join)
    abort "a buyer failed: exit codes #{codes}" unless codes.all?(&:zero?)
    [@sold.value, @refused.value, @tickets.value]
  end
end

shop = Shop.new

puts "== #{BUYERS} buyers, #{TICKETS} tickets, no lock =="
sold, refused, left = shop.round do
  shop.search
  shop.get(race: true)
end
puts "no lock: #{sold} sold, #{refused} refused, the count says #{left} left: oversold by #{sold - TICKETS}"
abort "the race did not happen as forced" unless sold == BUYERS && left == TICKETS - 1

puts "== #{BUYERS} buyers, #{TICKETS} tickets, with a lock =="
sold, refused, left = shop.round do
  shop.search
  shop.wait_for_everybody # everybody has looked before anyone buys
  shop.lock.synchronize { shop.get } # lock.acquire(); get(); lock.release()
end
puts "with a lock: #{sold} sold, #{refused} refused, #{left} left"
abort "the lock did not serialise the buyers" unless sold == TICKETS && refused == BUYERS - TICKETS && left.zero?
