-- session_open.lua — open a session (login) or rotate one (resume) for a user who is not banned,
-- and keep the user's session index, atomically. A ban (user_ban.lua) marks the user and revokes
-- every indexed session in one step, so a session either exists before the ban (and is revoked by
-- it) or is refused after it: none is opened behind its back. Expired members of the index are
-- pruned here, and the index expires with its latest session.
--
-- A session key holds "uid:born" (born = its login, Unix ms; a key holding just "uid", from before
-- lifetimes, counts as born now). It lives session TTL (ARGV[3]) after its login or latest resume,
-- and never past born + max lifetime (ARGV[6]), however often it is resumed.
-- Login: a user holds at most ARGV[7] sessions; one past that ends the user's sessions that expire
-- soonest (the least recently used) — deletes their keys and index entries. Their keys must be
-- passed (the caller reads the index first and passes what it read, KEYS[5..]); when a session to
-- end was not passed, nothing is written and the caller reads again ({-1}).
-- Resume rotates: the resumed session's key ends (it leaves the index) and a new session, born when
-- the old one was, takes its place under the new sid. The old key is kept for a grace (ARGV[10])
-- holding "uid:born:new sid:trace", so that the same frame delivered again (same trace id, e.g. after
-- a worker died before its ack) is answered again — the caller derives the same new token from
-- (old token, trace) — while any other resume of the old token is 1008.
--
-- KEYS[1]  session:{sid}      the session to open (login) or the new session (resume)
-- KEYS[2]  sessions:{uid}     zset sid -> expiry (Unix ms)
-- KEYS[3]  user:{uid}         hash; `banned` = "1" while the user is banned
-- KEYS[4]  session:{old sid}  the resumed session (resume); any key at login (not touched)
-- KEYS[4+j] session:{sid_j}   login: the sessions of the index the caller read (j = 1..J)
-- ARGV[1]  uid
-- ARGV[2]  sid (a digest of the token: the new one at resume)
-- ARGV[3]  session TTL, seconds (idle: renewed by each resume)
-- ARGV[4]  now, Unix ms
-- ARGV[5]  "login" (a new session) or "resume" (ARGV[8] must exist and be this user's)
-- ARGV[6]  max lifetime, seconds from login
-- ARGV[7]  max sessions per user
-- ARGV[8]  resume: the old sid; login: ""
-- ARGV[9]  resume: the trace id of the resuming frame; login: ""
-- ARGV[10] resume: how long the old key answers a redelivery of the same frame, ms; login: ""
-- ARGV[11..10+J] login: the sids read, in the order of KEYS[5..]
--
-- Reply:   Opened        {0, pruned, ended}   open; pruned = expired sessions dropped from the
--                                              index, ended = sessions ended by the cap (login)
--          IndexChanged  {-1}                 login: a session to end was not passed: read the
--                                              index, call again
--          NoSession     {1008}               resume of a session that does not exist (expired,
--                                              logged out, revoked, past its lifetime, rotated by
--                                              another frame) or is another user's: nothing
--                                              written (a session past its lifetime is deleted)
--          Banned        {1009}               the user is banned: nothing opened (a resumed
--                                              session is deleted)
-- Errors:  "ERR bad ttl" when ARGV[3], ARGV[6] or ARGV[7] is not a positive integer (nothing written).
local ttl, lifetime, cap = tonumber(ARGV[3]), tonumber(ARGV[6]), tonumber(ARGV[7])
for _, v in pairs({ttl or 0, lifetime or 0, cap or 0}) do
  if v <= 0 or v % 1 ~= 0 then return redis.error_reply('ERR bad ttl') end
end
local uid, sid, now, resume = ARGV[1], ARGV[2], tonumber(ARGV[4]), ARGV[5] == 'resume'
local function int(n) return string.format('%d', n) end
local born = now

if resume then
  local v = redis.call('GET', KEYS[4])
  if not v then return {1008} end
  local owner, b, to, by = string.match(v, '^(%d+):?(%d*):?(%x*):?(.*)$')
  if owner ~= uid then return {1008} end
  if to ~= '' then
    -- Rotated already: only the same frame again gets the same answer.
    if to ~= sid or by ~= ARGV[9] then return {1008} end
    if redis.call('HGET', KEYS[3], 'banned') == '1' then return {1009} end
    if redis.call('EXISTS', KEYS[1]) == 0 then return {1008} end
    return {0, 0, 0}
  end
  if b ~= '' then born = tonumber(b) end
end
if redis.call('HGET', KEYS[3], 'banned') == '1' then
  if resume then
    redis.call('DEL', KEYS[4])
    redis.call('ZREM', KEYS[2], ARGV[8])
  end
  return {1009}
end
-- The TTL of the session opened now: idle TTL, cut to what is left of its lifetime.
local ttl_ms = math.min(ttl * 1000, born + lifetime * 1000 - now)
if ttl_ms <= 0 then -- resume past its lifetime
  redis.call('DEL', KEYS[4])
  redis.call('ZREM', KEYS[2], ARGV[8])
  return {1008}
end

local victims, victim_key = {}, {}
if not resume then
  -- Live sessions past the cap (this one included), soonest to expire first: all passed?
  local excess = redis.call('ZCOUNT', KEYS[2], '(' .. int(now), '+inf') + 1 - cap
  if excess > 0 then
    local passed = {}
    for j = 11, #ARGV do passed[ARGV[j]] = j - 6 end -- ARGV[11] names KEYS[5]
    for _, victim in ipairs(redis.call('ZRANGE', KEYS[2], '(' .. int(now), '+inf', 'BYSCORE', 'LIMIT', 0, excess)) do
      if not passed[victim] then return {-1} end
      victims[#victims + 1] = victim
      victim_key[victim] = passed[victim]
    end
  end
end

-- Writes: nothing below can fail on valid input.
for _, victim in ipairs(victims) do
  redis.call('DEL', KEYS[victim_key[victim]])
  redis.call('ZREM', KEYS[2], victim)
end
redis.call('SET', KEYS[1], uid .. ':' .. int(born), 'PX', int(ttl_ms))
redis.call('ZADD', KEYS[2], int(now + ttl_ms), sid)
if resume then
  redis.call('ZREM', KEYS[2], ARGV[8])
  redis.call('SET', KEYS[4], uid .. ':' .. int(born) .. ':' .. sid .. ':' .. ARGV[9], 'PX', ARGV[10])
end
local pruned = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(now))
-- The latest expiry, as Redis formats it (an integer string: no float formatting on the way back).
local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], latest[2])
return {0, pruned, #victims}
