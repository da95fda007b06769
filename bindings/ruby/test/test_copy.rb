# frozen_string_literal: true

require_relative "helper"

Multiproc.task(:echo) { |x| x }
Multiproc.main

# An object that owns a library handle cannot be copied: the copy shared
# the C pointer without owning it, and once the original was collected its
# finalizer freed the handle under the copy (a use after free: copies of a
# queue read another queue's messages). Thread::Queue and Mutex refuse
# copies too. Under GC.stress, so that a copy that slipped through would
# be used after the original's finalizer ran.
class TestCopy < Minitest::Test
  include MultiprocTestHelper

  M = Multiproc

  def owners
    a, = M.pipe
    pool = M::Pool.new(1)
    @pools << pool
    {
      "Queue" => M::Queue.new, "Connection" => a, "Lock" => M::Lock.new,
      "Semaphore" => M::Semaphore.new(1), "Event" => M::Event.new,
      "Condition" => M::Condition.new, "Barrier" => M::Barrier.new(2),
      "Value" => M::Value.new(:int64), "SharedMemory" => M::SharedMemory.new(8),
      "Dict" => M::Dict.new, "Command" => M::Command.new("true"),
      "Popen" => M::Command.new("true").spawn, "Pool" => pool,
      "AsyncResult" => pool.apply_async(:echo, 1)
    }
  end

  def setup
    @pools = []
  end

  def teardown
    @pools.each(&:terminate)
  end

  def test_objects_owning_a_handle_refuse_dup_and_clone
    owners.each do |name, obj|
      %i[dup clone].each do |copy|
        err = assert_raises(TypeError, "#{name}##{copy}") { obj.send(copy) }
        assert_match(/cannot be copied/, err.message, "#{name}##{copy}")
      end
    end
  end

  def test_a_queue_survives_its_would_be_copies_under_gc_stress
    q = M::Queue.new
    q.put("mine")
    GC.stress = true
    begin
      20.times do
        M::Queue.new.tap { |other| assert_raises(TypeError) { other.dup } }
      end
    ensure
      GC.stress = false
    end
    assert_equal "mine", q.get(timeout: 1)
  end
end
