# The no-op job of the Sidekiq peer (sidekiq_bench.rb), required by the
# sidekiq processes (sidekiq -r this file). Logging at WARN: Sidekiq logs
# every job's start and end at INFO, a cost the library does not pay. And
# no deprecation warnings: Debian 12's redis-rb 4.8 warns (with a caller
# lookup) at every BRPOP Sidekiq 6.4 makes, once per job.
require 'sidekiq'

Redis.silence_deprecations = true

Sidekiq.configure_server { |config| config.logger.level = Logger::WARN }

class NoopJob
  include Sidekiq::Worker

  def perform; end
end
