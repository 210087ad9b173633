-- min_bet.lua — the least a bet can cost, for `matchday bench`'s minimal ceiling (no service calls
-- it): check the request id once, check and debit the balance, record the bet once, append one
-- change record for the durable store, answer. What place_bet.lua does beyond this (the match's
-- state, odds and limits, the exposure cap, the bet's hash and indexes, the pool, resultcenter's
-- work list, the day's stats) is what the real bet costs on top of the minimum.
-- Coins are integers below 2^53 (exact in Lua) and are written as integer strings.
--
-- KEYS[1]  wallet:{uid}   hash { balance, r:{req_id} -> "bid:balance" } (as place_bet.lua keeps them)
-- KEYS[2]  q:outbox:{s}   (the user's shard)       the change record "bet:bid:uid:stake:balance" (bench prefixes only)
-- ARGV[1]  uid      ARGV[2]  stake (integer coins > 0)      ARGV[3]  req_id      ARGV[4]  bid
--
-- Reply:   Placed               {0, bid, balance, repeated}  placed (repeated = 1: the first reply
--                                of this req_id; nothing debited now)
--          InsufficientBalance  {1003, balance}             the balance does not cover the stake
-- Errors:  "ERR bad stake" when ARGV[2] is not a positive integer (nothing written).
-- Cost:    HMGET, HSET, RPUSH — 3 commands, one script call.
local w = redis.call('HMGET', KEYS[1], 'balance', 'r:' .. ARGV[3])
local prev = w[2]
if prev then
  local bid, balance = string.match(prev, '^(%d+):(-?%d+)$')
  return {0, tonumber(bid), tonumber(balance), 1}
end
local stake = tonumber(ARGV[2])
if not stake or stake <= 0 or stake % 1 ~= 0 then return redis.error_reply('ERR bad stake') end
local balance = tonumber(w[1] or '0')
if balance < stake then return {1003, balance} end
local after = string.format('%d', balance - stake)
redis.call('HSET', KEYS[1], 'balance', after, 'r:' .. ARGV[3], ARGV[4] .. ':' .. after)
redis.call('RPUSH', KEYS[2], 'bet:' .. ARGV[4] .. ':' .. ARGV[1] .. ':' .. ARGV[2] .. ':' .. after)
return {0, tonumber(ARGV[4]), tonumber(after), 0}
