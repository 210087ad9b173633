-- account_delete.lua — close an account (210), atomically: the balance is forfeited (the wallet
-- goes to 0 with a ledger record "account_deleted"), the user is anonymised (username
-- "~deleted{uid}", no password, no device, no nickname or avatar; deleted_at set), every session
-- ends, and the change records for dbsvr follow (user, wallet, ledger, profile, the history event).
-- Bets stay: they settle as any other into the closed wallet, whose coins nobody can spend
-- (docs/protocol.md "Deleting an account"). The caller re-authenticated the player, read
-- sessions:{uid} and passes every session id it read; if the index holds one it was not passed,
-- nothing is written (read again, call again). The old name's index lives in the name's shard: the
-- reply names it (`held`) and the caller hands it to uname_release.lua, then removes the user's
-- `held_name`.
--
-- KEYS[1]        user:{uid}        hash; anonymised as above, ver + 1
-- KEYS[2]        wallet:{uid}      hash; balance 0, ver + 1 (when it held coins)
-- KEYS[3]        ledger:{uid}
-- KEYS[4]        sessions:{uid}    zset sid -> expiry; deleted
-- KEYS[5]        q:outbox:{s}      (the user's shard)
-- KEYS[6]        device:{digest}   a guest's device index, deleted (for others: user:{uid} again, untouched)
-- KEYS[6+i]      session:{sid_i}   for each sid read (i = 1..S); deleted
-- ARGV[1]  uid     ARGV[2]  now, Unix ms     ARGV[3]  S, sessions read     ARGV[4..3+S]  the sids read
--
-- Reply:   Deleted       {0, forfeited, revoked, replayed, held}   done; replayed = 1 when it had
--                        been already (forfeited and held as then, revoked 0); held = the lowercased
--                        old username to let go of, or "" (a guest's)
--          IndexChanged  {-1}     sessions:{uid} holds a session not passed: nothing written
--          NoUser        {1007}   no such user: nothing written
-- Errors:  none for valid input.
-- Cost:    HMGET ×2, ZCARD, ZSCORE and DEL per sid, HSET ×3, HDEL, HINCRBY ×2-3, DEL ×2, LPUSH ×1-2.
local function int(n) return string.format('%d', n) end
local u = redis.call('HMGET', KEYS[1], 'created_at', 'username', 'device', 'deleted_at', 'ver',
  'profile_ver', 'forfeited', 'held_name')
if not u[1] then return {1007} end
if u[4] then return {0, tonumber(u[7] or '0'), 0, 1, u[8] or ''} end
local n = tonumber(ARGV[3])
if redis.call('ZCARD', KEYS[4]) ~= n then return {-1} end
for i = 1, n do
  if not redis.call('ZSCORE', KEYS[4], ARGV[3 + i]) then return {-1} end
end
local uid, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local outbox = {}

-- The coins.
local balance = tonumber(redis.call('HGET', KEYS[2], 'balance') or '0')
if balance > 0 then
  redis.call('HSET', KEYS[2], 'balance', 0)
  local wver = redis.call('HINCRBY', KEYS[2], 'ver', 1)
  local entry = {id = ARGV[1] .. ':' .. int(wver), uid = uid, delta = -balance, balance = 0,
                 reason = 'account_deleted', ref = '', ts = now}
  redis.call('LPUSH', KEYS[3], cmsgpack.pack(entry))
  table.insert(outbox, cmsgpack.pack({ts = now, table = 'wallet', key = ARGV[1], ver = wver, fields = {balance = 0}}))
  table.insert(outbox, cmsgpack.pack({ts = now, table = 'ledger', key = entry.id, ver = 1, fields = entry}))
end

-- The person.
local held = ''
if string.sub(u[2], 1, 1) ~= '~' then held = string.lower(u[2]) end
local name = '~deleted' .. ARGV[1]
if not u[5] then redis.call('HSET', KEYS[1], 'ver', 1) end
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('HSET', KEYS[1], 'username', name, 'pw', '', 'deleted_at', int(now), 'forfeited', int(balance),
  'held_name', held)
redis.call('HDEL', KEYS[1], 'device', 'nickname', 'avatar')
table.insert(outbox, cmsgpack.pack({ts = now, table = 'user', key = uid, ver = ver,
  fields = {username = name, pw = '', created_at = tonumber(u[1]), deleted_at = now}}))
table.insert(outbox, cmsgpack.pack({ts = now, table = 'account_event', key = ARGV[1] .. ':' .. ver, ver = 1,
  fields = {uid = uid, kind = 'deleted', detail = 'forfeited ' .. int(balance), ts = now}}))
if u[6] then
  local pver = redis.call('HINCRBY', KEYS[1], 'profile_ver', 1)
  table.insert(outbox, cmsgpack.pack({ts = now, table = 'profile', key = uid, ver = pver,
    fields = {nickname = '', avatar = ''}}))
end
if u[3] and redis.call('HGET', KEYS[6], 'uid') == ARGV[1] then redis.call('DEL', KEYS[6]) end

-- The sessions.
for i = 1, n do redis.call('DEL', KEYS[6 + i]) end
redis.call('DEL', KEYS[4])
redis.call('LPUSH', KEYS[5], unpack(outbox))
return {0, balance, n, 0, held}
