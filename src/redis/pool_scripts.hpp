// The Lua scripts of a pool across hosts (run with EVAL: each is atomic on
// the server). Keys of a pool named N live under P = "mp:pool:{N}":
//   P:tasks   the stream of chunks; consumer group "g" (the serving hosts).
//             An entry: c (client id "c<n>"), k (the client's chunk id),
//             r (retries the client allows), a (attempts that failed so
//             far), m (the chunk: pool/protocol.hpp's encode_chunk)
//   P:hosts   hash: serving host (consumer) -> its worker count
//   P:alive:<host>  a host's heartbeat (expires after the lease)
//   P:ids     the counter that numbers clients
//   P:res:<client>  list of outcomes for a client, expiring (kResultTtlMs
//             after the last push): "R" + encode_outcome (broker/protocol.hpp), or
//             "D<k>\n<why>" (chunk k failed: its host vanished)
//   P:notify  channel: new tasks;  P:done:<client>  channel: new outcomes
// Fencing: an outcome is published only by the host that holds the entry
// now (kFinish checks XPENDING's owner and delivery count), so a host that
// was cut off while its task was given to another cannot publish a stale
// result: the entry it holds is gone.
#pragma once

namespace mp::redis::pool_script {

#define MP_REDIS_POOL_FNS                                                               \
  "local function fields(e)\n"                                                         \
  "  local f = {}\n"                                                                   \
  "  if type(e) ~= 'table' or type(e[2]) ~= 'table' then return f end\n"              \
  "  for i = 1, #e[2] - 1, 2 do f[e[2][i]] = e[2][i + 1] end\n"                        \
  "  return f\n"                                                                       \
  "end\n"                                                                              \
  "local function deliver_all(P, client, payloads, ttl)\n"                             \
  "  if not string.match(client, '^c%d+$') then return end\n"                          \
  "  local key = P .. ':res:' .. client\n"                                             \
  "  redis.call('RPUSH', key, unpack(payloads))\n"                                     \
  "  redis.call('PEXPIRE', key, ttl)\n"                                                \
  "  redis.call('PUBLISH', P .. ':done:' .. client, 'r')\n"                           \
  "end\n"                                                                              \
  "local function deliver(P, client, payload, ttl)\n"                                  \
  "  deliver_all(P, client, {payload}, ttl)\n"                                         \
  "end\n"                                                                              \
  "local function give_back(P, s, id, counts, why, ttl)\n"                             \
  "  local e = redis.call('XRANGE', s, id, id)[1]\n"                                   \
  "  redis.call('XACK', s, 'g', id)\n"                                                 \
  "  redis.call('XDEL', s, id)\n"                                                      \
  "  local f = fields(e)\n"                                                            \
  "  if not f.c or not f.k or not f.m then return end\n"                               \
  "  local a, r = tonumber(f.a) or 0, tonumber(f.r) or 0\n"                            \
  "  if counts then a = a + 1 end\n"                                                   \
  "  if a <= r then\n"                                                                 \
  "    redis.call('XADD', s, '*', 'c', f.c, 'k', f.k, 'r', f.r, 'a', tostring(a), 'm', f.m)\n" \
  "    redis.call('PUBLISH', P .. ':notify', 't')\n"                                   \
  "  else\n"                                                                           \
  "    deliver(P, f.c, 'D' .. f.k .. '\\n' .. why, ttl)\n"                              \
  "  end\n"                                                                            \
  "end\n"                                                                              \
  "local function stream_ok(s)\n"                                                      \
  "  local t = redis.call('TYPE', s).ok\n"                                             \
  "  if t ~= 'none' and t ~= 'stream' then\n"                                          \
  "    return redis.error_reply('MPGARBAGE ' .. s .. ' is a ' .. t .. ', not a stream')\n" \
  "  end\n"                                                                            \
  "  if t == 'none' then redis.call('XGROUP', 'CREATE', s, 'g', '0', 'MKSTREAM')\n"     \
  "  else redis.pcall('XGROUP', 'CREATE', s, 'g', '0') end\n"                          \
  "end\n"

// A serving host joins. KEYS: stream, hosts, alive. ARGV: host, workers,
// key lease ms. Returns 1.
constexpr const char kServe[] = MP_REDIS_POOL_FNS R"lua(
local bad = stream_ok(KEYS[1])
if bad then return bad end
if redis.call('TYPE', KEYS[2]).ok ~= 'none' and redis.call('TYPE', KEYS[2]).ok ~= 'hash' then
  return redis.error_reply('MPGARBAGE ' .. KEYS[2] .. ' is not a hash')
end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
)lua";

// A client opens. KEYS: stream, hosts, ids. Returns {client number,
// workers of the hosts known now}.
constexpr const char kOpen[] = MP_REDIS_POOL_FNS R"lua(
local bad = stream_ok(KEYS[1])
if bad then return bad end
local n = redis.call('INCR', KEYS[3])
local w = 0
if redis.call('TYPE', KEYS[2]).ok == 'hash' then
  for _, v in ipairs(redis.call('HVALS', KEYS[2])) do w = w + (tonumber(v) or 0) end
end
return {n, w}
)lua";

// A client submits chunks. KEYS: stream. ARGV: P, client, retries, then
// (chunk id, chunk bytes) pairs. Returns how many went in. (The group is
// made again if the server lost it, e.g. restarted without persistence.)
constexpr const char kSubmit[] = MP_REDIS_POOL_FNS R"lua(
local bad = stream_ok(KEYS[1])
if bad then return bad end
local n = 0
for i = 4, #ARGV - 1, 2 do
  redis.call('XADD', KEYS[1], '*', 'c', ARGV[2], 'k', ARGV[i], 'r', ARGV[3], 'a', '0', 'm', ARGV[i + 1])
  n = n + 1
end
redis.call('PUBLISH', ARGV[1] .. ':notify', 't')
return n
)lua";

// A host publishes chunks' outcomes, each fenced, and takes new chunks
// in the same round trip. KEYS: stream. ARGV: P, host, ttl ms, how many
// chunks to take (0: none), then per chunk 8 values: entry id, delivery
// count, outcome ("" none), chunk to retry ("" none), client, chunk id,
// retries, attempts failed. Returns {per chunk 1, or 0 when the entry is
// no longer this host's (reclaimed): nothing is written for it; the
// XREADGROUP reply of the chunks taken (false: none), or the string
// 'NOGROUP' when the server lost the group}. One XPENDING of the host's
// entries, one XACK and one XDEL for the batch, one RPUSH + PUBLISH per
// client: a batch costs few commands whatever its size.
constexpr const char kFinish[] = MP_REDIS_POOL_FNS R"lua(
local P, me, ttl, s = ARGV[1], ARGV[2], ARGV[3], KEYS[1]
local out, added, done, lists, order = {}, false, {}, {}, {}
local held = {}
if #ARGV >= 12 then
  for _, e in ipairs(redis.call('XPENDING', s, 'g', '-', '+', 100000, me)) do
    held[e[1]] = tostring(e[4])
  end
end
for i = 5, #ARGV - 7, 8 do
  local id = ARGV[i]
  if held[id] ~= ARGV[i + 1] then
    out[#out + 1] = 0
  else
    held[id] = nil
    done[#done + 1] = id
    if ARGV[i + 3] ~= '' then
      redis.call('XADD', s, '*', 'c', ARGV[i + 4], 'k', ARGV[i + 5], 'r', ARGV[i + 6], 'a', ARGV[i + 7], 'm', ARGV[i + 3])
      added = true
    end
    local c = ARGV[i + 4]
    if ARGV[i + 2] ~= '' then
      if not lists[c] then lists[c] = {}; order[#order + 1] = c end
      local l = lists[c]
      l[#l + 1] = ARGV[i + 2]
    end
    out[#out + 1] = 1
  end
end
if #done > 0 then
  redis.call('XACK', s, 'g', unpack(done))
  redis.call('XDEL', s, unpack(done))
end
for _, c in ipairs(order) do deliver_all(P, c, lists[c], ttl) end
if added then redis.call('PUBLISH', P .. ':notify', 't') end
local taken = false
if tonumber(ARGV[4]) > 0 then
  local r = redis.pcall('XREADGROUP', 'GROUP', 'g', me, 'COUNT', ARGV[4], 'STREAMS', s, '>')
  if type(r) == 'table' and r.err then
    if string.find(r.err, 'NOGROUP') then taken = 'NOGROUP' else return r end
  else
    taken = r
  end
end
return {out, taken}
)lua";

// Take back what hosts hold. KEYS: stream, hosts. ARGV: P, ttl ms, mode,
// host. Mode "dead": the entries of every host but ARGV[4] whose heartbeat
// expired are retried (an attempt counts) or failed; hosts without a
// heartbeat are forgotten. Mode "leave": host ARGV[4] leaves; its entries
// go back to the stream (no attempt counts) and its heartbeat goes.
// Returns how many entries were taken back.
constexpr const char kReclaim[] = MP_REDIS_POOL_FNS R"lua(
local P, s, me = ARGV[1], KEYS[1], ARGV[4]
if redis.call('TYPE', s).ok ~= 'stream' then return 0 end
local n = 0
local function take(who, counts, why)
  local p = redis.call('XPENDING', s, 'g', '-', '+', 1000, who)
  for _, e in ipairs(p) do give_back(P, s, e[1], counts, why, ARGV[2]) end
  n = n + #p
  if #p < 1000 then redis.pcall('XGROUP', 'DELCONSUMER', s, 'g', who) end
  redis.call('HDEL', KEYS[2], who)
end
if ARGV[3] == 'leave' then
  take(me, false, '')
  redis.call('DEL', P .. ':alive:' .. me)
  return n
end
local sum = redis.call('XPENDING', s, 'g')
if sum[1] > 0 and type(sum[4]) == 'table' then
  for _, c in ipairs(sum[4]) do
    local who = c[1]
    if who ~= me and redis.call('EXISTS', P .. ':alive:' .. who) == 0 then
      take(who, true, 'the serving host ' .. who .. ' vanished running this task')
    end
  end
end
if redis.call('TYPE', KEYS[2]).ok == 'hash' then
  for _, h in ipairs(redis.call('HKEYS', KEYS[2])) do
    if redis.call('EXISTS', P .. ':alive:' .. h) == 0 then take(h, true, 'the serving host ' .. h .. ' vanished') end
  end
end
return n
)lua";

}  // namespace mp::redis::pool_script
