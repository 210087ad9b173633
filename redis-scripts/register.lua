-- register.lua — create a user with a unique name, a wallet holding the sign-up grant, and the
-- grant's ledger record, atomically; append the change records for dbsvr to the outbox.
-- Idempotent per registering frame: the same frame delivered again (after a worker died) answers
-- the user it created; any other attempt on a taken name is refused. The user id is allocated by
-- the caller (INCR seq:user) so every key is passed in KEYS; an id unused after a refusal is a gap.
--
-- A guest (105) is created the same way, indexed by its device instead of its name: its username
-- is "~guest{uid}" (no registered name starts with "~"), its password hash empty (no password
-- logs in), and its user hash holds the device digest.
--
-- KEYS[1]  uname:{lowercased name}  hash { uid, reg }   (a guest: device:{digest}, same fields)
-- KEYS[2]  user:{uid}               hash { id, username, pw, created_at [, device] }
-- KEYS[3]  wallet:{uid}             hash { balance, ver }
-- KEYS[4]  ledger:{uid}             list of MessagePack ledger records, newest first
-- KEYS[5]  q:outbox:{s}   (the user's shard)                 list of MessagePack change records
-- KEYS[6]  stats:reg:{day}          daily registrations counter
-- ARGV[1]  uid
-- ARGV[2]  username as typed
-- ARGV[3]  argon2 password hash (PHC string)
-- ARGV[4]  sign-up grant, integer coins >= 0
-- ARGV[5]  now, Unix ms
-- ARGV[6]  trace id of the registering frame
-- ARGV[7]  a guest's device digest (SHA-256 hex of its device id), or ""
--
-- Reply:   Created        {0, uid, replayed}   created (replayed = 1 when this frame had already
--                                              created it)
--          UsernameTaken  {1002}               username taken
-- Errors:  "ERR bad grant" when ARGV[4] is not an integer from 0 to MAX_BALANCE
--          (protocol::error_code::MAX_BALANCE: the most a wallet may hold) (nothing written).
local MAX_BALANCE = 1000000000000000 -- protocol::error_code::MAX_BALANCE (checked by tests/scripts.rs)
local grant = tonumber(ARGV[4])
if not grant or grant < 0 or grant % 1 ~= 0 or grant > MAX_BALANCE then
  return redis.error_reply('ERR bad grant')
end
local existing = redis.call('HMGET', KEYS[1], 'uid', 'reg')
if existing[1] then
  if existing[2] == ARGV[6] then
    return {0, tonumber(existing[1]), 1}
  end
  return {1002}
end

local uid, now = ARGV[1], tonumber(ARGV[5])
local user = {username = ARGV[2], pw = ARGV[3], created_at = now}
redis.call('HSET', KEYS[1], 'uid', uid, 'reg', ARGV[6])
redis.call('HSET', KEYS[2], 'id', uid, 'username', ARGV[2], 'pw', ARGV[3], 'created_at', now)
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[2], 'device', ARGV[7])
  user.device = ARGV[7]
end
redis.call('HSET', KEYS[3], 'balance', string.format('%d', grant), 'ver', 1) -- an integer string
redis.call('LPUSH', KEYS[5],
  cmsgpack.pack({ts = now, table = 'user', key = uid, ver = 1, fields = user}),
  cmsgpack.pack({ts = now, table = 'wallet', key = uid, ver = 1, fields = {balance = grant}}))
if grant > 0 then
  local entry = {id = uid .. ':1', uid = tonumber(uid), delta = grant, balance = grant,
                 reason = 'signup', ref = '', ts = now}
  redis.call('LPUSH', KEYS[4], cmsgpack.pack(entry))
  redis.call('LPUSH', KEYS[5], cmsgpack.pack({ts = now, table = 'ledger', key = entry.id, ver = 1, fields = entry}))
end
local kind = 'registered'
if ARGV[7] ~= '' then kind = 'guest_created' end
redis.call('LPUSH', KEYS[5], cmsgpack.pack({ts = now, table = 'account_event', key = uid .. ':1', ver = 1,
  fields = {uid = tonumber(uid), kind = kind, detail = '', ts = now}}))
redis.call('INCR', KEYS[6])
return {0, tonumber(uid), 0}
