-- place_bet.lua — place a bet: check, debit, record, index, pool, ledger and outbox, atomically.
-- Checks, before anything is written: the request id (a repeat answers the first reply and debits
-- nothing — checked first, so a repeat gets its first answer even after the match closed); the
-- match exists and is open (state 2); the option exists; the client's odds version is current;
-- the stake is within the match's limits; the balance covers it.
--
-- KEYS[1]  match:{mid}          KEYS[2]  wallet:{uid}        KEYS[3]  idem:{uid} (hash req_id -> reply)
-- KEYS[4]  bet:{bid}            KEYS[5]  match:{mid}:bets    KEYS[6]  user:{uid}:bets
-- KEYS[7]  match:{mid}:pool     KEYS[8]  ledger:{uid}        KEYS[9]  q:outbox
-- KEYS[10] stats:bets:{day}     KEYS[11] stats:volume:{day}
-- KEYS[12] match:{mid}:open (zset "bid:uid" -> time: resultcenter's work list)
-- KEYS[13] match:{mid}:bettors (set of uids)
-- ARGV[1]  uid      ARGV[2]  mid      ARGV[3]  option key   ARGV[4]  stake (integer coins > 0)
-- ARGV[5]  the client's odds_ver     ARGV[6]  req_id       ARGV[7]  bid (allocated by the caller)
-- ARGV[8]  now, Unix ms
--
-- Reply:   {0, bid, balance, odds, repeated}   placed (repeated = 1: the first reply of this req_id)
--          {1004, state}                        the match is not open for betting
--          {1005, odds_ver, options_json}       the odds changed: the current version and options
--          {1006, min_stake, max_stake}         stake out of range
--          {1003, balance}                      insufficient balance
--          {1007, "match" | "option"}           no such match / option
-- Errors:  "ERR bad stake" when ARGV[4] is not a positive integer (nothing written).
local prev = redis.call('HGET', KEYS[3], ARGV[6])
if prev then
  local bid, balance, odds = string.match(prev, '^(%d+):(-?%d+):(%d+)$')
  return {0, tonumber(bid), tonumber(balance), tonumber(odds), 1}
end
local stake = tonumber(ARGV[4])
if not stake or stake <= 0 or stake % 1 ~= 0 then
  return redis.error_reply('ERR bad stake')
end
local m = redis.call('HMGET', KEYS[1], 'state', 'options', 'odds_ver', 'min_stake', 'max_stake')
if not m[1] then return {1007, 'match'} end
if tonumber(m[1]) ~= 2 then return {1004, tonumber(m[1])} end
local odds
for _, o in ipairs(cjson.decode(m[2])) do
  if o.key == ARGV[3] then odds = o.odds end
end
if not odds then return {1007, 'option'} end
if tonumber(ARGV[5]) ~= tonumber(m[3]) then return {1005, tonumber(m[3]), m[2]} end
local min, max = tonumber(m[4]), tonumber(m[5])
if stake < min or stake > max then return {1006, min, max} end
local w = redis.call('HMGET', KEYS[2], 'balance', 'ver')
local balance, ver = tonumber(w[1] or '0'), tonumber(w[2] or '0')
if balance < stake then return {1003, balance} end

-- Writes: nothing below can fail on valid input.
local uid, mid, bid, now = ARGV[1], ARGV[2], ARGV[7], tonumber(ARGV[8])
local after = balance - stake
ver = ver + 1
redis.call('HSET', KEYS[2], 'balance', after, 'ver', ver)
redis.call('HSET', KEYS[4], 'id', bid, 'uid', uid, 'match_id', mid, 'option', ARGV[3], 'stake', stake,
  'odds', odds, 'state', 'open', 'ts', now, 'req_id', ARGV[6], 'ver', 1)
redis.call('ZADD', KEYS[5], now, bid)
redis.call('ZADD', KEYS[6], now, bid)
redis.call('ZADD', KEYS[12], now, bid .. ':' .. uid)
redis.call('SADD', KEYS[13], uid)
redis.call('HINCRBY', KEYS[7], ARGV[3], stake)
redis.call('HSET', KEYS[3], ARGV[6], bid .. ':' .. after .. ':' .. odds)
local entry = {id = uid .. ':' .. ver, uid = tonumber(uid), delta = -stake, balance = after,
               reason = 'bet', ref = bid, ts = now}
redis.call('LPUSH', KEYS[8], cmsgpack.pack(entry))
redis.call('LPUSH', KEYS[9],
  cmsgpack.pack({ts = now, table = 'bet', key = bid, ver = 1, fields = {uid = tonumber(uid), match_id = tonumber(mid),
    option = ARGV[3], stake = stake, odds = odds, state = 'open', ts = now, req_id = ARGV[6]}}),
  cmsgpack.pack({ts = now, table = 'wallet', key = uid, ver = ver, fields = {balance = after}}),
  cmsgpack.pack({ts = now, table = 'ledger', key = entry.id, ver = 1, fields = entry}))
redis.call('INCR', KEYS[10])
redis.call('INCRBY', KEYS[11], stake)
return {0, tonumber(bid), after, odds, 0}
