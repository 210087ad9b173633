-- order_create.lua — a player's deposit order: recorded in the user's shard, listed in the user's
-- orders, and sent to the outbox (dbsvr writes the `orders` row), atomically. The order is completed
-- by the payment provider's callback (wallet_change.lua, which credits once and marks it paid). The
-- record is kept ARGV[6] seconds, paid or not (MySQL keeps every order); the user's list keeps the
-- newest ARGV[7] orders. An order unpaid past its pay window reads as expired (common::orders), and
-- is still completed by a callback: the player paid. Staff may create an order too (gm
-- POST /api/orders, for a payment made outside the app): ARGV[9] names them and ARGV[10] is the
-- audit record, sent to the outbox in the same step. The callback credits only an order made here,
-- and only for its user, amount and currency (wallet_change.lua).
--
-- KEYS[1]  user:{uid}            (must exist, not banned)
-- KEYS[2]  order:{order_id}      hash { uid, amount, currency, channel, by, state = created,
--                                 created_at, ver = 1 }
-- KEYS[3]  orders:{uid}          zset order id -> created_at (ms)
-- KEYS[4]  q:outbox:{s}          (the user's shard)
-- ARGV[1]  uid                   ARGV[2]  order id (made by logic, unique)
-- ARGV[3]  amount, coins         ARGV[4]  channel
-- ARGV[5]  now, Unix ms          ARGV[6]  how long the record is kept, seconds
-- ARGV[7]  how many orders the user's list keeps
-- ARGV[8]  currency the order is paid in (ISO 4217, e.g. USD)
-- ARGV[9]  who created it: "" for the player, else the staff member's name
-- ARGV[10] audit record (MessagePack change record), or ""
--
-- Reply:   Created    {0}        the order is recorded
--          Exists     {409}      an order of that id exists: nothing written
--          NoUser     {1007}     no such user: nothing written
--          Banned     {1009}     the user is banned: nothing written
-- Errors:  none for valid input.
-- Cost:    EXISTS, HGET, EXISTS, HSET, EXPIRE, ZADD, ZREMRANGEBYRANK, EXPIRE, LPUSH (and one LPUSH
--          for a staff order's audit record).
if redis.call('EXISTS', KEYS[1]) == 0 then return {1007} end
if redis.call('HGET', KEYS[1], 'banned') == '1' then return {1009} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {409} end
local uid, oid, now = ARGV[1], ARGV[2], tonumber(ARGV[5])
redis.call('HSET', KEYS[2], 'uid', uid, 'amount', ARGV[3], 'currency', ARGV[8], 'channel', ARGV[4],
  'by', ARGV[9], 'state', 'created', 'created_at', ARGV[5], 'ver', 1)
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[3], now, oid)
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[7]) - 1)
redis.call('EXPIRE', KEYS[3], ARGV[6])
redis.call('LPUSH', KEYS[4], cmsgpack.pack({ts = now, table = 'order', key = oid, ver = 1,
  fields = {uid = tonumber(uid), amount = tonumber(ARGV[3]), currency = ARGV[8], channel = ARGV[4],
  created_by = ARGV[9], state = 'created', created_at = now}}))
if ARGV[10] ~= '' then redis.call('LPUSH', KEYS[4], ARGV[10]) end
return {0}
