-- session_open.lua — open (login) or renew (resume) a session of a user who is not banned, and keep
-- the user's session index, atomically. A ban (user_ban.lua) marks the user and revokes every
-- indexed session in one step, so a session either exists before the ban (and is revoked by it) or
-- is refused after it: none is opened behind its back. Expired members of the index are pruned
-- here, and the index expires with its latest session.
--
-- KEYS[1]  session:{sid}    string uid, with the session TTL
-- KEYS[2]  sessions:{uid}   zset sid -> expiry (Unix ms)
-- KEYS[3]  user:{uid}       hash; `banned` = "1" while the user is banned
-- ARGV[1]  uid
-- ARGV[2]  sid (the session id: a digest of the token)
-- ARGV[3]  session TTL, seconds
-- ARGV[4]  now, Unix ms
-- ARGV[5]  "login" (a new session) or "resume" (the session must exist and be this user's)
--
-- Reply:   {0, pruned}   open until now + TTL; pruned = expired sessions dropped from the index
--          {1008}        resume of a session that does not exist (expired, logged out, revoked)
--                        or is another user's: nothing written
--          {1009}        the user is banned: nothing opened (a resumed session is deleted)
-- Errors:  "ERR bad ttl" when ARGV[3] is not a positive integer (nothing written).
local ttl = tonumber(ARGV[3])
if not ttl or ttl <= 0 or ttl % 1 ~= 0 then
  return redis.error_reply('ERR bad ttl')
end
local uid, sid, resume = ARGV[1], ARGV[2], ARGV[5] == 'resume'
if resume and redis.call('GET', KEYS[1]) ~= uid then
  return {1008}
end
if redis.call('HGET', KEYS[3], 'banned') == '1' then
  if resume then
    redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[2], sid)
  end
  return {1009}
end
redis.call('SET', KEYS[1], uid, 'EX', ttl)
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]) + ttl * 1000, sid)
local pruned = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
-- The latest expiry, as Redis formats it (an integer string: no float formatting on the way back).
local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], latest[2])
return {0, pruned}
