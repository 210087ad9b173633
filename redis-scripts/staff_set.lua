-- staff_set.lua — create or change a personal staff account (gm: admins, at runtime), with its
-- change record (dbsvr writes the `staff` row) and the audit record, atomically. A disabled
-- account's sessions stop working at once: gm reads the account on every request.
--
-- KEYS[1]  {g}:staff:{name}   hash { name, role, pw, totp, disabled, created_by, created_at,
--                             updated_at, ver }
-- KEYS[2]  {g}:staff_names    zset name -> created_at (ms)
-- KEYS[3]  q:outbox:{g}
-- ARGV[1]  "create" (the account must not exist) or "update" (it must)
-- ARGV[2]  name    ARGV[3]  now, Unix ms    ARGV[4]  audit record (MessagePack change record) or ""
-- ARGV[5..] field, value pairs to set (of role, pw, totp, disabled, created_by)
--
-- Reply:   Saved    {0, ver}   done: the account's version now
--          Exists   {1}        create: an account of that name exists: nothing written
--          NoStaff  {2}        update: no such account: nothing written
-- Errors:  "ERR bad mode" for another ARGV[1].
-- Cost:    EXISTS, HSET, HINCRBY, HGETALL, (ZADD), LPUSH ×2.
local exists = redis.call('EXISTS', KEYS[1]) == 1
if ARGV[1] == 'create' then
  if exists then return {1} end
elseif ARGV[1] == 'update' then
  if not exists then return {2} end
else
  return redis.error_reply('ERR bad mode')
end
local now = ARGV[3]
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[1] == 'create' then
  redis.call('HSET', KEYS[1], 'name', ARGV[2], 'created_at', now)
  redis.call('ZADD', KEYS[2], now, ARGV[2])
end
redis.call('HSET', KEYS[1], 'updated_at', now)
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
local a = redis.call('HGETALL', KEYS[1])
local f = {}
for i = 1, #a, 2 do f[a[i]] = a[i + 1] end
redis.call('LPUSH', KEYS[3], cmsgpack.pack({ts = tonumber(now), table = 'staff', key = ARGV[2], ver = ver,
  fields = {role = f.role, pw = f.pw, totp_secret = f.totp, disabled = tonumber(f.disabled or '0'),
  created_by = f.created_by or '', created_at = tonumber(f.created_at), updated_at = tonumber(now)}}))
if ARGV[4] ~= '' then redis.call('LPUSH', KEYS[3], ARGV[4]) end
return {0, ver}
