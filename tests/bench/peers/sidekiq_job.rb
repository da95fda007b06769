# The no-op job of the Sidekiq peer (sidekiq_bench.rb), required by the
# sidekiq processes (sidekiq -r this file). Logging at WARN: Sidekiq logs
# every job's start and end at INFO, a cost the library does not pay.
require 'sidekiq'

Sidekiq.configure_server { |config| config.logger.level = Logger::WARN }

class NoopJob
  include Sidekiq::Worker

  def perform; end
end
