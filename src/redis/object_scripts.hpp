// The Lua scripts of the dict and the lock on a redis server (run with
// EVAL: each is atomic on the server). A script reports a damaged key with
// an error reply beginning "MPGARBAGE"; a command on a key of another type
// fails with WRONGTYPE, which the caller reports the same way.
//
// Keys of a dict named N live under the prefix P = "mp:dict:{N}":
//   P:items   hash: one field per dict key, its value the dict value's
//             bytes as given (mp_dict_incr's counters: 8 bytes,
//             little-endian two's complement, as in a local dict). Redis
//             deletes an empty hash: a dict with no keys has no key here.
//
// Keys of a lock named N live under the prefix P = "mp:lock:{N}":
//   P:state   hash: version ("1"), holder ("" when free, else the holding
//             thread: "host:pid:n:random:tid"), fence (the token
//             of the latest acquisition; counts up from 1, never reused
//             while this key lives)
//   P:alive:<holder>  the holder's lease (SET 1 PX lease, refreshed every
//             lease/3 by its process's runtime loop while it holds)
//   P:notify  pub/sub channel: "r" at each release (wakes the waiters)
// A holder whose lease key is gone is dead (or cut off): the next acquirer
// takes the lock and is told (MP_EOWNERDEAD).
#pragma once

namespace mp::redis::script {

#define MP_REDIS_GARBAGE_FN \
  "local function garbage(what) return redis.error_reply('MPGARBAGE ' .. what) end\n"

// KEYS: items. ARGV: key, delta (8 bytes, little-endian two's complement).
// Adds modulo 2^64 byte by byte (Lua's numbers are doubles: exact only to
// 2^53). Returns the new 8 bytes, or MPNOTINT <length> when the value is
// not 8 bytes long.
constexpr const char kDictIncr[] = R"lua(
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then v = string.rep('\0', 8) end
if #v ~= 8 then return redis.error_reply('MPNOTINT ' .. #v) end
local out, carry = {}, 0
for i = 1, 8 do
  local s = v:byte(i) + ARGV[2]:byte(i) + carry
  out[i] = s % 256
  carry = math.floor(s / 256)
end
local n = string.char(unpack(out))
redis.call('HSET', KEYS[1], ARGV[1], n)
return n
)lua";

// KEYS: items. ARGV: key, mode ("absent" | "equal"), expected, desired.
// Returns 1 when set, 0 when the value did not match.
constexpr const char kDictCas[] = R"lua(
local v = redis.call('HGET', KEYS[1], ARGV[1])
local match
if ARGV[2] == 'absent' then match = not v else match = v == ARGV[3] end
if not match then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1
)lua";

// KEYS: items. Deletes the hash, refusing a key of another type.
constexpr const char kDictClear[] = MP_REDIS_GARBAGE_FN R"lua(
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' and t ~= 'hash' then return garbage(KEYS[1] .. ' is a ' .. t .. ', not a hash') end
redis.call('DEL', KEYS[1])
return 1
)lua";

// KEYS: items. ARGV: the most bytes of keys and values to return.
// Returns every field and value (HGETALL: one atomic snapshot), or
// MPTOOBIG <bytes> above the bound.
constexpr const char kDictItems[] = R"lua(
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all do n = n + #all[i] end
if n > tonumber(ARGV[1]) then return redis.error_reply('MPTOOBIG ' .. n) end
return all
)lua";

// The lock's state, made when absent; nil and why when damaged.
#define MP_REDIS_LOCK_STATE_FN                                                          \
  MP_REDIS_GARBAGE_FN                                                                   \
  "local function state(k)\n"                                                           \
  "  local t = redis.call('TYPE', k).ok\n"                                              \
  "  if t == 'none' then redis.call('HSET', k, 'version', '1', 'holder', '', 'fence', '0')\n" \
  "  elseif t ~= 'hash' then return nil, k .. ' is a ' .. t .. ', not a hash' end\n"    \
  "  local s = redis.call('HMGET', k, 'version', 'holder', 'fence')\n"                  \
  "  if s[1] ~= '1' or not s[2] or not tonumber(s[3]) then\n"                           \
  "    return nil, k .. ' is not the state hash of a multiproc lock'\n"                 \
  "  end\n"                                                                             \
  "  return s\n"                                                                        \
  "end\n"

// KEYS: state. Makes the state when absent; checks it. Returns 1.
constexpr const char kLockOpen[] = MP_REDIS_LOCK_STATE_FN R"lua(
local s, why = state(KEYS[1])
if not s then return garbage(why) end
return 1
)lua";

// KEYS: state. ARGV: P, me, lease_ms. Takes the lock when it is free, or
// held by a holder whose lease key is gone (also me: a hold whose acquire
// reply was lost). Returns {"ok" | "dead", fence} (dead: the previous
// holder's lease had expired), {"busy", ms left of the holder's lease},
// or {"mine", 0} (me holds it, through another handle of this thread).
constexpr const char kLockAcquire[] = MP_REDIS_LOCK_STATE_FN R"lua(
local s, why = state(KEYS[1])
if not s then return garbage(why) end
local P, me, holder, how = ARGV[1], ARGV[2], s[2], 'ok'
if holder == me and redis.call('EXISTS', P .. ':alive:' .. me) == 1 then return {'mine', 0} end
if holder ~= '' and holder ~= me then
  local ttl = redis.call('PTTL', P .. ':alive:' .. holder)
  if ttl == -1 then return garbage(P .. ':alive:' .. holder .. ' has no expiry') end
  if ttl >= 0 then return {'busy', ttl} end
  how = 'dead'
end
local f = redis.call('HINCRBY', KEYS[1], 'fence', 1)
redis.call('HSET', KEYS[1], 'holder', me)
redis.call('SET', P .. ':alive:' .. me, '1', 'PX', ARGV[3])
return {how, f}
)lua";

// KEYS: state. ARGV: P, me. Releases when me holds it. Returns "ok",
// "lost" (another holder took it over: my lease had expired) or "gone"
// (the state key no longer exists).
constexpr const char kLockRelease[] = MP_REDIS_GARBAGE_FN R"lua(
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return 'gone' end
if t ~= 'hash' then return garbage(KEYS[1] .. ' is a ' .. t .. ', not a hash') end
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[2] then return 'lost' end
redis.call('HSET', KEYS[1], 'holder', '')
redis.call('DEL', ARGV[1] .. ':alive:' .. ARGV[2])
redis.call('PUBLISH', ARGV[1] .. ':notify', 'r')
return 'ok'
)lua";

}  // namespace mp::redis::script
