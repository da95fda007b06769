# frozen_string_literal: true

# Port of docs/examples/c/example_pool_crawler.c (进程池和multiprocess.Pool:
# 爬虫): the workers download, callbacks in the main process parse.
#
#   def get_page(url):                      # in a worker
#       response = requests.get(url)
#       if response.status_code == 200: return {'url': url, 'text': response.text}
#   def parse_page(res):                    # the callback: in main
#       with open('db.txt', 'a') as f: f.write('url:<%s> size:[%s]\n' % ...)
#   for url in urls:
#       res_l.append(p.apply_async(get_page, args=(url,), callback=parse_page))
#   p.close(); p.join(); print([res.get() for res in res_l])
#
# The slow part, waiting on the network, goes to the pool; the main
# process parses each page as it arrives. No network here: the web is a
# Hash and a download a lookup and a short sleep. A missing page makes
# the task raise, which calls the error callback. Pages arrive in any
# order, so db.txt (a list here) is printed sorted.
require "multiproc"
$stdout.sync = true # workers print too

WEB = {
  "https://www.baidu.com" => "Baidu search: type a query and press enter",
  "https://www.python.org" => "Python is a programming language that lets you work quickly " \
                              "and integrate systems more effectively",
  "https://www.openstack.org" => "The most widely deployed open source cloud software in the world",
  "https://help.github.com/" => "GitHub Docs: help for wherever you are",
  "http://www.sina.com.cn/" => "Sina news"
}.freeze
URLS = [*WEB.keys, "http://www.example.com/missing"].freeze

class PageNotFound < StandardError; end

# def get_page(url): in a worker process.
Multiproc.task(:get_page) do |url|
  puts "get #{url}"
  text = WEB[url]
  if text.nil?
    sleep 0.02
    raise PageNotFound, "404 Not Found: #{url}"
  end
  sleep 0.05 + 0.03 * (WEB.keys.index(url) % 3) # the network is slow
  { url: url, text: text }
end
Multiproc.main

db = [] # db.txt, written by the callbacks (one at a time, on their own thread)
db_lock = Mutex.new
parse_page = lambda do |page|
  puts "parse #{page[:url]}"
  line = "url:<#{page[:url]}> words:[#{page[:text].split.size}] size:[#{page[:text].bytesize}]"
  db_lock.synchronize { db << line }
end
page_error = ->(e) { puts "error #{e.name}: #{e.task_message}" }

pool = Multiproc::Pool.new(3)
puts "main: crawling #{URLS.size} urls with Pool(3)"
res_l = URLS.map { |url| pool.apply_async(:get_page, url, callback: parse_page, error_callback: page_error) }
pool.close
pool.join # every callback has run now
puts "main: pool closed and joined"

outcomes = res_l.map do |res|
  res.get
  :page
rescue Multiproc::TaskFailedError
  :failed
end
puts "main: res.get(): #{outcomes.count(:page)} pages, #{outcomes.count(:failed)} failed"
lines = db_lock.synchronize { db.sort }
puts "main: db.txt, sorted:"
puts lines
exit 1 unless lines.size == WEB.size && outcomes.count(:failed) == 1
