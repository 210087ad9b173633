-- user_unban.lua — lift a user's ban, atomically with its change record and audit record. The user
-- may log in again; sessions the ban revoked stay revoked. Idempotent: unbanning a user who is not
-- banned writes nothing.
--
-- KEYS[1]  user:{uid}   hash; banned = 0, ban_ver + 1, and ban_reason, banned_by, banned_at removed
-- KEYS[2]  q:outbox:{s}   (the user's shard)     change record (user_ban) and the audit record
-- KEYS[3]  wallet:{uid} hash; its `banned` mirror (what place_bet.lua reads) is removed
-- ARGV[1]  uid
-- ARGV[2]  who (staff name)
-- ARGV[3]  now, Unix ms
-- ARGV[4]  audit record (MessagePack change record), or ""
--
-- Reply:   Unbanned  {0, changed}   changed = 1 when this call lifted a ban, 0 when there was none
--          NoUser    {1007}         no such user: nothing written
-- Errors:  none for valid input.
-- Cost:    EXISTS, HGET; lifting a ban adds HINCRBY, HSET, 2 HDEL, 1 or 2 LPUSH.
if redis.call('EXISTS', KEYS[1]) == 0 then return {1007} end
if redis.call('HGET', KEYS[1], 'banned') ~= '1' then return {0, 0} end
local uid, now = ARGV[1], tonumber(ARGV[3])
local ver = redis.call('HINCRBY', KEYS[1], 'ban_ver', 1)
redis.call('HSET', KEYS[1], 'banned', 0)
redis.call('HDEL', KEYS[3], 'banned')
redis.call('HDEL', KEYS[1], 'ban_reason', 'banned_by', 'banned_at')
redis.call('LPUSH', KEYS[2], cmsgpack.pack({ts = now, table = 'user_ban', key = uid, ver = ver,
  fields = {banned = 0, reason = '', by = ARGV[2], at = now}}))
if ARGV[4] ~= '' then
  redis.call('LPUSH', KEYS[2], ARGV[4])
end
return {0, 1}
