// The Lua scripts of a remote queue (run by eval_script(), eval.hpp: each
// is atomic on the server). Keys of a queue named N live under the prefix P =
// "mp:queue:{N}" ({N}: one hash slot for all of them):
//   P:meta    hash: version, joinable, maxsize, closed, queued (put and not
//             yet delivered), unfinished (put and not yet acknowledged;
//             counted only when joinable)
//   P:stream  the stream; consumer group "g"; an entry is {d, body} or
//             {x, length} with the body in P:body:<id>
//   P:alive:<consumer>  a consumer's heartbeat (expires after the lease)
//   P:notify  the pub/sub channel that wakes waiting calls
//   P:waiting how many gets wait for a put (kGet; expires)
// Scripts report a damaged key with an error reply beginning "MPGARBAGE".
#pragma once

namespace mp::redis::script {

// Shared by the scripts that acknowledge: ack(P, stream, meta, joinable,
// list, from, to) acknowledges the ids list[from..to] (an id written
// "x<id>" has its body beside the entry, in P:body:<id>): one XACK (it
// counts those acknowledged for the first time: done for join), one XDEL
// and, only for bodies stored beside, one DEL; 1000 ids at a time (unpack's
// stack limit). The client knows which bodies lay beside (the entry's field
// x), so an ordinary message costs no per-message command here. Only the
// scripts that acknowledge carry it (kGet, kAck): a script's text runs
// whole at every call, its local functions included (closures made anew).
#define MP_REDIS_ACK_FN                                                              \
  "local function ack(P, s, m, joinable, list, from, to)\n"                          \
  "  for lo = from, to, 1000 do\n"                                                   \
  "    local ids, bodies = {}, {}\n"                                                 \
  "    for i = lo, math.min(to, lo + 999) do\n"                                      \
  "      local id = list[i]\n"                                                       \
  "      if string.byte(id, 1) == 120 then\n"                                        \
  "        id = string.sub(id, 2)\n"                                                 \
  "        bodies[#bodies + 1] = P .. ':body:' .. id\n"                              \
  "      end\n"                                                                      \
  "      ids[#ids + 1] = id\n"                                                       \
  "    end\n"                                                                        \
  "    local n = redis.call('XACK', s, 'g', unpack(ids))\n"                          \
  "    if n > 0 and joinable then\n"                                                 \
  "      local u = redis.call('HINCRBY', m, 'unfinished', -n)\n"                     \
  "      if u <= 0 then\n"                                                           \
  "        if u < 0 then redis.call('HSET', m, 'unfinished', 0) end\n"               \
  "        redis.call('PUBLISH', P .. ':notify', 'j')\n"                             \
  "      end\n"                                                                      \
  "    end\n"                                                                        \
  "    redis.call('XDEL', s, unpack(ids))\n"                                         \
  "    if #bodies > 0 then redis.call('DEL', unpack(bodies)) end\n"                  \
  "  end\n"                                                                          \
  "end\n"

// The error reply of a script that found a damaged key (see above).
#define MP_REDIS_GARBAGE_FN \
  "local function garbage(what) return redis.error_reply('MPGARBAGE ' .. what) end\n"

// KEYS: meta, stream, alive. ARGV: mode ("open" | "new"), joinable, maxsize,
// lease_ms. Returns {joinable, maxsize}.
constexpr const char kOpen[] = MP_REDIS_GARBAGE_FN R"lua(
local mt = redis.call('TYPE', KEYS[1]).ok
local st = redis.call('TYPE', KEYS[2]).ok
if mt ~= 'none' and mt ~= 'hash' then return garbage(KEYS[1] .. ' is a ' .. mt .. ', not a hash') end
if st ~= 'none' and st ~= 'stream' then return garbage(KEYS[2] .. ' is a ' .. st .. ', not a stream') end
if mt == 'none' then
  redis.call('HSET', KEYS[1], 'version', '1', 'joinable', ARGV[2], 'maxsize', ARGV[3],
             'closed', '0', 'queued', '0', 'unfinished', '0')
end
if st == 'none' then redis.call('XGROUP', 'CREATE', KEYS[2], 'g', '0', 'MKSTREAM')
else redis.pcall('XGROUP', 'CREATE', KEYS[2], 'g', '0') end
local m = redis.call('HMGET', KEYS[1], 'version', 'joinable', 'maxsize', 'queued')
if m[1] ~= '1' or (m[2] ~= '0' and m[2] ~= '1') or not tonumber(m[3]) or not tonumber(m[4]) then
  return garbage(KEYS[1] .. ' is not the meta hash of a multiproc queue')
end
if ARGV[1] == 'new' and (m[2] ~= ARGV[2] or m[3] ~= ARGV[3]) then
  return redis.error_reply('MPEXISTS joinable=' .. m[2] .. ' maxsize=' .. m[3])
end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[4])
return {tonumber(m[2]), tonumber(m[3])}
)lua";

// KEYS: meta, stream. ARGV: P, threshold, body... Puts the bodies that fit
// (maxsize) in order. Returns how many went in (an integer, at least 1),
// or {"full"|"closed", 0}.
// It wakes waiting gets only when nothing was queued before and a get
// counted itself waiting (kGet): a get waits only after it found nothing
// queued and counted itself in the same run, so the first put after that
// publishes (the waiters poll anyway; a missed wake-up costs a poll slice).
// Cheap per call, as kGet: a number passed to redis.call is formatted
// with snprintf (the common count 1 goes as the string '1'), and a table
// returned costs the server more than an integer.
constexpr const char kPut[] = MP_REDIS_GARBAGE_FN R"lua(
local m = redis.call('HMGET', KEYS[1], 'closed', 'maxsize', 'queued', 'joinable')
local max, queued = m[2] == '0' and 0 or tonumber(m[2]), tonumber(m[3])
if not m[1] or not max or not queued then return garbage(KEYS[1] .. ' is gone or damaged') end
if m[1] ~= '0' then return {'closed', 0} end
local P, n, beside = ARGV[1], #ARGV - 2, tonumber(ARGV[2])
if max > 0 and max - queued < n then n = max - queued end
if n <= 0 then return {'full', 0} end
for i = 3, n + 2 do
  local body = ARGV[i]
  if #body > beside then
    local id = redis.call('XADD', KEYS[2], '*', 'x', tostring(#body))
    redis.call('SET', P .. ':body:' .. id, body)
  else
    redis.call('XADD', KEYS[2], '*', 'd', body)
  end
end
local by = n == 1 and '1' or n
redis.call('HINCRBY', KEYS[1], 'queued', by)
if m[4] == '1' then redis.call('HINCRBY', KEYS[1], 'unfinished', by) end
if queued <= 0 and (tonumber(redis.call('GET', P .. ':waiting')) or 0) > 0 then
  redis.call('PUBLISH', P .. ':notify', 'p')
end
return n
)lua";

// KEYS: meta, stream. ARGV: P, consumer, count, flags, n,
// n ids to acknowledge first (as ack() takes them), then (recover) the ids
// the consumer holds (the same form).
// Acknowledges, then takes up to count messages: with recover, first the
// consumer's own pending entries it does not hold (an earlier get ran but
// its reply never reached the caller: timed out, connection lost), then
// (with "s") those held by consumers whose heartbeat expired (delivery
// count + 1), then new ones, then (without "s", none new) the dead
// consumers' ones. Returns {"msg", id, count, fields, body-or-nil, ...},
// {"empty"} or {"closed"} (closed and nothing left to deliver). It wakes
// waiting puts only when the queue was full before (as kPut's wake-up).
// flags: "r" recover; "s" look for dead consumers' messages before new
// ones (without it only when no new one is there: the client asks for it
// at most every lease/10, so a busy stream costs its XPENDING summary once
// per lease/10, not per get); "w" the caller waits when it finds nothing:
// then it counts itself in P:waiting (see kPut); "u" the caller counted itself in
// its last run: uncount. P:waiting expires 1 s after the last
// waiter counted itself, so a waiter that died or gave up costs only
// needless wake-ups, and a waiter whose count expired too early only its
// poll slice.
// The common call (flags "w", one id acknowledged, one message taken) runs
// no code it does not need: the id acknowledged without ack()'s tables,
// the usual flag and counts compared as strings (tonumber is strtod), the
// count 1 passed as '1' (redis.call formats a number with snprintf), and
// the reply of one message made in one table.
constexpr const char kGet[] = MP_REDIS_ACK_FN MP_REDIS_GARBAGE_FN R"lua(
local P, me, flags = ARGV[1], ARGV[2], ARGV[4]
local want = ARGV[3] == '1' and 1 or tonumber(ARGV[3])
local nack = ARGV[5] == '1' and 1 or tonumber(ARGV[5])
local recover, scan, wait = false, false, false
if flags == 'w' then
  wait = true
elseif flags ~= '' then
  local find = string.find
  recover, scan, wait = find(flags, 'r', 1, true), find(flags, 's', 1, true), find(flags, 'w', 1, true)
  if find(flags, 'u', 1, true) and redis.call('DECR', P .. ':waiting') <= 0 then
    redis.call('DEL', P .. ':waiting')
  end
end
local m = redis.call('HMGET', KEYS[1], 'closed', 'joinable', 'maxsize', 'queued')
local queued = tonumber(m[4])
if not m[1] or not queued then return garbage(KEYS[1] .. ' is gone or damaged') end
if nack == 1 then  -- ack() of one id, without its tables
  local id, body = ARGV[6], nil
  if string.byte(id, 1) == 120 then
    id = string.sub(id, 2)
    body = P .. ':body:' .. id
  end
  local n = redis.call('XACK', KEYS[2], 'g', id)
  if n > 0 and m[2] == '1' then
    local u = redis.call('HINCRBY', KEYS[1], 'unfinished', -n)
    if u <= 0 then
      if u < 0 then redis.call('HSET', KEYS[1], 'unfinished', 0) end
      redis.call('PUBLISH', P .. ':notify', 'j')
    end
  end
  redis.call('XDEL', KEYS[2], id)
  if body then redis.call('DEL', body) end
elseif nack > 1 then
  ack(P, KEYS[2], KEYS[1], m[2] == '1', ARGV, 6, 5 + nack)
end
local out, got = {'msg'}, 0
local function push(e, count)
  local f, body = e[2], false
  if type(f) == 'table' and f[1] == 'x' then body = redis.call('GET', P .. ':body:' .. e[1]) end
  local at = got * 4
  out[at + 2] = e[1]
  out[at + 3] = count
  out[at + 4] = f or false
  out[at + 5] = body
  got = got + 1
end
if recover then
  local keep = {}
  for i = 6 + nack, #ARGV do keep[(string.gsub(ARGV[i], '^x', ''))] = true end
  local p = redis.call('XPENDING', KEYS[2], 'g', '-', '+', #ARGV - 5 - nack + want, me)
  for _, e in ipairs(p) do
    if got >= want then break end
    if not keep[e[1]] then
      local r = redis.call('XCLAIM', KEYS[2], 'g', me, 0, e[1])
      if type(r[1]) == 'table' then push(r[1], e[4] + 1) end
    end
  end
end
local function reclaim()
  local sum = redis.call('XPENDING', KEYS[2], 'g')
  if sum[1] == 0 or type(sum[4]) ~= 'table' then return end
  for _, c in ipairs(sum[4]) do
    if got >= want then break end
    local who = c[1]
    if who ~= me and redis.call('EXISTS', P .. ':alive:' .. who) == 0 then
      local p = redis.call('XPENDING', KEYS[2], 'g', '-', '+', want - got, who)
      for _, e in ipairs(p) do
        local r = redis.call('XCLAIM', KEYS[2], 'g', me, 0, e[1])
        if type(r[1]) == 'table' then push(r[1], e[4] + 1) end
      end
      if tonumber(c[2]) <= #p then redis.call('XGROUP', 'DELCONSUMER', KEYS[2], 'g', who) end
    end
  end
end
if scan then reclaim() end
if got == 0 then
  local r = redis.call('XREADGROUP', 'GROUP', 'g', me, 'COUNT', ARGV[3], 'STREAMS', KEYS[2], '>')
  if type(r) == 'table' and r[1] then
    local es = r[1][2]
    if #es == 1 then  -- push(), the reply made in one piece
      local e = es[1]
      local f, body = e[2], false
      if type(f) == 'table' and f[1] == 'x' then body = redis.call('GET', P .. ':body:' .. e[1]) end
      out, got = {'msg', e[1], 1, f or false, body}, 1
    else
      for i = 1, #es do push(es[i], 1) end
    end
    redis.call('HINCRBY', KEYS[1], 'queued', #es == 1 and '-1' or -#es)
    if m[3] ~= '0' then
      local max = tonumber(m[3])
      if max and max > 0 and queued >= max then redis.call('PUBLISH', P .. ':notify', 's') end
    end
  end
end
if got == 0 and not scan then reclaim() end
if got > 0 then return out end
if m[1] ~= '0' then return {'closed'} end
if wait then
  redis.call('INCR', P .. ':waiting')
  redis.call('PEXPIRE', P .. ':waiting', 1000)
end
return {'empty'}
)lua";

// KEYS: meta, stream, alive. ARGV: P, consumer, mode ("ack" | "leave"),
// ids... (as ack() takes them). Acknowledges the ids; "leave" also ends the consumer: its
// heartbeat goes (what it still holds is redelivered to others) and it
// leaves the group when it holds nothing.
constexpr const char kAck[] = MP_REDIS_ACK_FN R"lua(
local joinable = redis.call('HGET', KEYS[1], 'joinable') == '1'
ack(ARGV[1], KEYS[2], KEYS[1], joinable, ARGV, 4, #ARGV)
if ARGV[3] == 'leave' then
  redis.call('DEL', KEYS[3])
  if redis.call('TYPE', KEYS[2]).ok == 'stream' then
    local p = redis.call('XPENDING', KEYS[2], 'g', '-', '+', 1, ARGV[2])
    if #p == 0 then redis.pcall('XGROUP', 'DELCONSUMER', KEYS[2], 'g', ARGV[2]) end
  end
end
return 1
)lua";

// KEYS: meta. ARGV: P. Marks the queue closed and wakes every waiter.
constexpr const char kClose[] = MP_REDIS_GARBAGE_FN R"lua(
if redis.call('HEXISTS', KEYS[1], 'closed') == 0 then return garbage(KEYS[1] .. ' is gone or damaged') end
redis.call('HSET', KEYS[1], 'closed', '1')
redis.call('PUBLISH', ARGV[1] .. ':notify', 'c')
return 1
)lua";

}  // namespace mp::redis::script
