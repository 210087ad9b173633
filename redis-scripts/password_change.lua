-- password_change.lua — set a user's password hash and revoke their other sessions, atomically with
-- the user's change record and its history event (dbsvr writes the `users` row's pw at the new
-- ver). The caller verified the old password and hashed the new one; it reads sessions:{uid} first
-- and passes every session id it read. If the index holds a session it was not passed (one opened
-- since), nothing is written: the caller reads again and calls again.
--
-- KEYS[1]        user:{uid}        hash; pw replaced, ver + 1 (ver 1, register.lua's, when missing)
-- KEYS[2]        sessions:{uid}    zset sid -> expiry
-- KEYS[3]        q:outbox:{s}      (the user's shard)
-- KEYS[3+i]      session:{sid_i}   for each sid read (i = 1..S)
-- ARGV[1]  uid            ARGV[2]  the new password hash (PHC string)
-- ARGV[3]  the session to keep (the caller's), or ""
-- ARGV[4]  now, Unix ms   ARGV[5]  S, sessions read     ARGV[6..5+S]  the sids read
-- ARGV[6+S] the history event: password_changed (204) or password_reset (106, a staff code)
--
-- Reply:   Changed       {0, revoked}   done: revoked = sessions ended
--          IndexChanged  {-1}           sessions:{uid} holds a session not passed: nothing written
--          NoUser        {1007}         no such user: nothing written
-- Errors:  none for valid input.
-- Cost:    EXISTS, ZCARD, ZSCORE per sid, HMGET, HSET, HINCRBY, LPUSH; per revoked session DEL and ZREM.
if redis.call('EXISTS', KEYS[1]) == 0 then return {1007} end
local n = tonumber(ARGV[5])
if redis.call('ZCARD', KEYS[2]) ~= n then return {-1} end
for i = 1, n do
  if not redis.call('ZSCORE', KEYS[2], ARGV[5 + i]) then return {-1} end
end
local u = redis.call('HMGET', KEYS[1], 'username', 'created_at', 'ver')
if not u[3] then redis.call('HSET', KEYS[1], 'ver', 1) end
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('HSET', KEYS[1], 'pw', ARGV[2])
local now = tonumber(ARGV[4])
redis.call('LPUSH', KEYS[3], cmsgpack.pack({ts = now, table = 'user', key = tonumber(ARGV[1]), ver = ver,
  fields = {username = u[1], pw = ARGV[2], created_at = tonumber(u[2])}}),
  cmsgpack.pack({ts = now, table = 'account_event', key = ARGV[1] .. ':' .. ver, ver = 1,
  fields = {uid = tonumber(ARGV[1]), kind = ARGV[6 + n], detail = '', ts = now}}))
local revoked = 0
for i = 1, n do
  local sid = ARGV[5 + i]
  if sid ~= ARGV[3] then
    redis.call('DEL', KEYS[3 + i])
    redis.call('ZREM', KEYS[2], sid)
    revoked = revoked + 1
  end
end
return {0, revoked}
