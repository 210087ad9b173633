-- wallet_change.lua — credit or debit a wallet outside betting (GM grants, payment callbacks) and
-- append the ledger record, atomically; a balance never goes below zero. With an idempotency key
-- (a payment order, a staff request id), the change happens once: a repeat answers the first
-- result and writes nothing. A credit may not take the balance, plus the potential payouts of the
-- user's open bets (wallet field `exposure`, kept by place_bet.lua and settle_batch.lua), past
-- MAX_BALANCE (protocol::error_code::MAX_BALANCE): such a credit is refused and writes nothing.
-- Coins are integers below 2^53 (exact in Lua) and are written as integer strings.
-- A payment completes a deposit order the server created (order_create.lua: the player's, or one
-- staff made) in the same step, and nothing else: the order must exist and be the same user's,
-- amount and currency (else refused, nothing written); it is marked paid with the balance after,
-- and its change record sent to the outbox.
--
-- KEYS[1]  user:{uid}      (must exist)
-- KEYS[2]  wallet:{uid}    hash { balance, ver }
-- KEYS[3]  ledger:{uid}    list of MessagePack ledger records, newest first
-- KEYS[4]  q:outbox:{s}   (the user's shard)
-- KEYS[5]  idempotency record, e.g. payment:{order_id} (hash); any key when ARGV[6] is ""
-- KEYS[6]  q:notify:{s}   (the user's shard) (a "balance" event tells the user)
-- KEYS[7]  order:{order_id} (hash, must exist) for a payment; any key of the shard otherwise
-- ARGV[1]  uid
-- ARGV[2]  delta, integer coins, not 0
-- ARGV[3]  reason ("grant", "payment", ...)
-- ARGV[4]  reference (order id, staff name, ...)
-- ARGV[5]  now, Unix ms
-- ARGV[6]  the kind of idempotency record to keep in KEYS[5] and send to the outbox ("payment",
--          "grant"), or "" for none
-- ARGV[7]  audit record (MessagePack change record), or ""
-- ARGV[8]  the idempotency id (order id, request id); with ARGV[6] only
-- ARGV[9]  a payment's currency (ISO 4217); "" otherwise
--
-- Reply:   Changed              {0, balance, repeated}  done (repeated = 1: the record existed;
--                                its balance is answered)
--          InsufficientBalance  {1003, balance}         the debit would take the balance below zero
--          NoUser               {1007}                  no such user
--          OnceConflict         {409}                   the idempotency record exists for another
--                                user or amount
--          NoOrder              {404}                   a payment for an order the server did not
--                                create (or no longer holds): nothing written
--          OrderMismatch        {412, field}            a payment whose user, amount or currency is
--                                not its order's ("uid", "amount", "currency"): nothing written
--          BalanceLimit         {422, balance, room}    the credit would pass MAX_BALANCE; room = the
--                                largest credit that fits now (MAX_BALANCE - balance - exposure, or 0)
-- Errors:  "ERR bad delta" when ARGV[2] is not a non-zero integer of at most MAX_BALANCE coins
--          either way (nothing written).
local MAX_BALANCE = 1000000000000000 -- protocol::error_code::MAX_BALANCE (checked by tests/scripts.rs)
local function int(n) return string.format('%d', n) end
local delta = tonumber(ARGV[2])
if not delta or delta == 0 or delta % 1 ~= 0 or math.abs(delta) > MAX_BALANCE then
  return redis.error_reply('ERR bad delta')
end
if ARGV[6] ~= '' then
  local prev = redis.call('HMGET', KEYS[5], 'balance', 'uid', 'delta')
  if prev[1] then
    if prev[2] ~= ARGV[1] or tonumber(prev[3]) ~= delta then return {409} end
    return {0, tonumber(prev[1]), 1}
  end
end
local order = {}
if ARGV[6] == 'payment' then
  order = redis.call('HMGET', KEYS[7], 'uid', 'amount', 'channel', 'created_at', 'ver', 'currency', 'by')
  if not order[1] then return {404} end
  if order[1] ~= ARGV[1] then return {412, 'uid'} end
  if tonumber(order[2]) ~= delta then return {412, 'amount'} end
  -- (An order made before orders had a currency has none: it is paid in the deployment's.)
  if order[6] and order[6] ~= ARGV[9] then return {412, 'currency'} end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {1007} end
local w = redis.call('HMGET', KEYS[2], 'balance', 'exposure')
local balance, exposure = tonumber(w[1] or '0'), math.max(tonumber(w[2] or '0'), 0)
if balance + delta < 0 then return {1003, balance} end
if delta > 0 and balance + exposure + delta > MAX_BALANCE then
  return {422, balance, math.max(MAX_BALANCE - balance - exposure, 0)}
end

local now = tonumber(ARGV[5])
local after = redis.call('HINCRBY', KEYS[2], 'balance', int(delta))
local ver = redis.call('HINCRBY', KEYS[2], 'ver', 1)
local entry = {id = ARGV[1] .. ':' .. int(ver), uid = tonumber(ARGV[1]), delta = delta, balance = after,
               reason = ARGV[3], ref = ARGV[4], ts = now}
redis.call('LPUSH', KEYS[3], cmsgpack.pack(entry))
redis.call('LPUSH', KEYS[4],
  cmsgpack.pack({ts = now, table = 'wallet', key = ARGV[1], ver = ver, fields = {balance = after}}),
  cmsgpack.pack({ts = now, table = 'ledger', key = entry.id, ver = 1, fields = entry}))
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[5], 'uid', ARGV[1], 'delta', int(delta), 'balance', int(after), 'ts', int(now),
    'ledger', entry.id)
  redis.call('LPUSH', KEYS[4], cmsgpack.pack({ts = now, table = ARGV[6], key = ARGV[8], ver = 1,
    fields = {uid = tonumber(ARGV[1]), amount = delta, balance = after, ts = now}}))
end
if order[1] then
  local over = tonumber(order[5]) + 1
  redis.call('HSET', KEYS[7], 'state', 'paid', 'paid_at', int(now), 'balance', int(after), 'ver', over)
  redis.call('LPUSH', KEYS[4], cmsgpack.pack({ts = now, table = 'order', key = ARGV[8], ver = over,
    fields = {uid = tonumber(ARGV[1]), amount = delta, currency = order[6], channel = order[3],
    created_by = order[7] or '', state = 'paid', created_at = tonumber(order[4]), paid_at = now,
    balance = after}}))
end
if ARGV[7] ~= '' then
  redis.call('LPUSH', KEYS[4], ARGV[7])
end
redis.call('LPUSH', KEYS[6], cmsgpack.pack({kind = 'balance', uid = tonumber(ARGV[1]), balance = after,
  reason = ARGV[3], ts = now}))
return {0, after, 0}
