-- profile_set.lua — change what a player shows others: their nickname and avatar, atomically with
-- the profile's change record (dbsvr writes the `profiles` row at the new ver) and its history
-- event. An empty value clears the field (the username is shown again; no avatar).
--
-- KEYS[1]  user:{uid}        hash; nickname, avatar set or removed, profile_ver + 1
-- KEYS[2]  q:outbox:{s}      (the user's shard)
-- ARGV[1]  uid
-- ARGV[2]  "1" to change the nickname, "0" to leave it     ARGV[3]  the nickname ("" clears it)
-- ARGV[4]  "1" to change the avatar, "0" to leave it       ARGV[5]  the avatar's URL ("" clears it)
-- ARGV[6]  now, Unix ms
--
-- Reply:   Changed  {0, ver}   done: the profile's new version
--          NoUser   {1007}     no such user: nothing written
-- Errors:  none for valid input.
-- Cost:    EXISTS, HSET or HDEL per field changed, HINCRBY, HMGET, LPUSH.
if redis.call('EXISTS', KEYS[1]) == 0 then return {1007} end
local function put(flag, field, value)
  if flag ~= '1' then return end
  if value == '' then redis.call('HDEL', KEYS[1], field) else redis.call('HSET', KEYS[1], field, value) end
end
put(ARGV[2], 'nickname', ARGV[3])
put(ARGV[4], 'avatar', ARGV[5])
local ver = redis.call('HINCRBY', KEYS[1], 'profile_ver', 1)
local p = redis.call('HMGET', KEYS[1], 'nickname', 'avatar')
local changed = {}
if ARGV[2] == '1' then table.insert(changed, 'nickname') end
if ARGV[4] == '1' then table.insert(changed, 'avatar') end
redis.call('LPUSH', KEYS[2], cmsgpack.pack({ts = tonumber(ARGV[6]), table = 'profile', key = tonumber(ARGV[1]),
  ver = ver, fields = {nickname = p[1] or '', avatar = p[2] or ''}}),
  cmsgpack.pack({ts = tonumber(ARGV[6]), table = 'account_event', key = ARGV[1] .. ':p' .. ver, ver = 1,
  fields = {uid = tonumber(ARGV[1]), kind = 'profile_changed', detail = table.concat(changed, ','), ts = tonumber(ARGV[6])}}))
return {0, ver}
