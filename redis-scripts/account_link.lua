-- account_link.lua — a guest account (105) gets a username and password (209): the same user id,
-- wallet, ledger and bets; the device no longer logs in as it (its index is removed); the user's
-- change record and history event for dbsvr. The caller hashed the password and claimed the name
-- first (uname_claim.lua, in the name's shard).
--
-- KEYS[1]  user:{uid}          hash; username, pw set, device removed, link = trace, ver + 1
-- KEYS[2]  device:{digest}     the guest's device index (the user's `device`), deleted
-- KEYS[3]  q:outbox:{s}        (the user's shard)
-- ARGV[1]  uid        ARGV[2]  the username as typed     ARGV[3]  the password hash (PHC string)
-- ARGV[4]  now, Unix ms         ARGV[5]  trace id of the linking frame
--
-- Reply:   Linked     {0}      done (or this frame had done it)
--          NotGuest   {1011}   the account already has a username and password: nothing written
--          NoUser     {1007}   no such user, or a deleted one: nothing written
-- Errors:  none for valid input.
-- Cost:    HMGET, HINCRBY, HSET, HDEL, HGET, DEL, LPUSH.
local u = redis.call('HMGET', KEYS[1], 'created_at', 'device', 'link', 'deleted_at', 'ver')
if not u[1] or u[4] then return {1007} end
if not u[2] then
  if u[3] == ARGV[5] then return {0} end
  return {1011}
end
if not u[5] then redis.call('HSET', KEYS[1], 'ver', 1) end
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('HSET', KEYS[1], 'username', ARGV[2], 'pw', ARGV[3], 'link', ARGV[5])
redis.call('HDEL', KEYS[1], 'device')
if redis.call('HGET', KEYS[2], 'uid') == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('LPUSH', KEYS[3], cmsgpack.pack({ts = tonumber(ARGV[4]), table = 'user', key = tonumber(ARGV[1]),
  ver = ver, fields = {username = ARGV[2], pw = ARGV[3], created_at = tonumber(u[1])}}),
  cmsgpack.pack({ts = tonumber(ARGV[4]), table = 'account_event', key = ARGV[1] .. ':' .. ver, ver = 1,
  fields = {uid = tonumber(ARGV[1]), kind = 'linked', detail = ARGV[2], ts = tonumber(ARGV[4])}}))
return {0}
