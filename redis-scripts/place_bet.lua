-- place_bet.lua — place a bet: check, debit, record, open, pool, ledger and outbox, atomically.
-- Checks, before anything is written: the request id (a repeat answers the first reply and debits
-- nothing — checked first, so a repeat gets its first answer even after the match closed or the
-- user was banned); the user is not banned (a bet queued before a ban is refused after it); the
-- market exists in the match the client named and is open (state 2); the option exists; the client's odds version is current; the
-- stake is within the match's limits; the balance covers it; and the balance after it, plus the
-- potential payouts of the user's open bets (wallet field `exposure`) and of this one, stays within
-- MAX_BALANCE — so no payout can ever take a balance past it (settle_batch.lua releases exposure).
-- Coins are integers below 2^53 throughout (exact in Lua's doubles) and are written as integer
-- strings (string.format %d), never with Lua's %.14g number formatting.
--
-- One change record per bet, the "placed" record (docs/architecture.md): a MessagePack map the
-- caller packs up to the fields only this script knows (ARGV[9], with the map's final length), to
-- which the script appends odds, balance, wver and id. The same bytes are the bet in the user's
-- bets (field bid: no key of its own per bet — a new key is the dearest write), go to the user's
-- ledger (they are a ledger entry: id, delta, balance, reason "bet", ref, ts) and to q:outbox:{…},
-- from which dbsvr writes the bet, wallet and ledger rows and counts the day's bets and volume.
-- Nothing here packs a table. The shard's open bets hold the bet's terms (common::bets::Terms), so
-- settle_batch.lua reads no bet record.
--
-- The wallet hash holds what the bet checks about the user besides the balance, so one HMGET reads
-- it all and one HSET writes it: `banned` ("1" while the user is banned: user_ban.lua and
-- user_unban.lua keep it beside the user's own `banned`) and, per request id, `r:{req_id}` -> the
-- first reply "bid:balance:odds".
--
-- A bet is on a market: a match's default market is the match itself (mid = the match's id, no
-- `parent`), another market a record of its own whose `parent` is the match (market_create.lua).
-- Every key is in the bettor's shard {s} (one slot: docs/scaling.md), the market's keys being the
-- shard's copy of the market and the shard's part of its pool, open bets and bettors.
-- KEYS[1]  {s}:match:{mid} (the shard's copy)  KEYS[2]  wallet:{uid}
-- KEYS[3]  user:{uid}:bets (hash bid -> the bet's latest record)
-- KEYS[4]  {s}:match:{mid}:pool  KEYS[5]  ledger:{uid}
-- KEYS[6]  q:outbox:{s}
-- KEYS[7]  {s}:match:{mid}:open (hash bid -> terms "uid:odds:" .. ARGV[10]: resultcenter's work list
--          in this shard, and the shard's open-bet count; a hash, not a sorted set: HSET is O(1)
--          where ZADD into a match's 10^5 bets cost ~4 µs)
-- KEYS[8]  {s}:match:{mid}:bettors (set of uids)
-- ARGV[1]  uid      ARGV[2]  mid (the market)      ARGV[3]  option key   ARGV[4]  stake (integer coins > 0)
-- ARGV[5]  the client's odds_ver     ARGV[6]  req_id       ARGV[7]  bid (allocated by the caller)
-- ARGV[8]  now, Unix ms
-- ARGV[9]  the placed record's prefix: a MessagePack map header counting 4 more entries than it
--          holds, then table, key, ver, ts, uid, match_id, market_id, option, stake, req_id,
--          delta, reason, ref (common/src/store/place_bet.rs builds it)
-- ARGV[10] the terms after uid and odds: "stake:ts:{len(option)}:{option}{req_id}"
-- ARGV[11] the match the client named when mid is another of its markets, or "" for a match's
--          default market: the copy's `parent` must be this
--
-- Reply:   Placed               {0, bid, balance, odds, repeated}  placed (repeated = 1: the first
--                                reply of this req_id)
--          Banned               {1009}                     the user is banned: nothing written
--          NotOpen              {1004, state}              the match is not open for betting
--          OddsChanged          {1005, odds_ver, options_json}  the odds changed: the current
--                                version and options
--          StakeOutOfRange      {1006, min_stake, max_stake}  stake out of range; max_stake is
--                                lowered to what keeps balance + exposure within MAX_BALANCE
--          InsufficientBalance  {1003, balance}            insufficient balance
--          NoMatch              {1007, "match"}            no such match
--          NoMarket             {1007, "market"}           no such market in the match named
--          NoOption             {1007, "option"}           no such option
-- Errors:  "ERR bad stake" when ARGV[4] is not a positive integer of at most MAX_BALANCE coins
--          (nothing written).
-- Cost:    a placed bet runs 9 commands, none creating a key but the user's and the match's first:
--          HMGET wallet, HMGET match (reads, ~4 µs each with the EVALSHA); HSET wallet (balance,
--          version, exposure and the reply), HSET user's bets (the record), HSET open (the terms),
--          SADD bettors, HINCRBY pool, LPUSH ledger, LPUSH outbox (writes, ~1.5-2.5 µs each:
--          bench/micro/place_bet.sh). No sorted set: a ZADD into a set of 10^4-10^5 costs ~4 µs. A
--          repeat or a refusal runs 1 or 2.
local MAX_BALANCE = 1000000000000000 -- protocol::error_code::MAX_BALANCE (checked by tests/scripts.rs)
local function int(n) return string.format('%d', n) end
local w = redis.call('HMGET', KEYS[2], 'balance', 'exposure', 'ver', 'banned', 'r:' .. ARGV[6])
local prev = w[5]
if prev then
  local bid, balance, odds = string.match(prev, '^(%d+):(-?%d+):(%d+)$')
  return {0, tonumber(bid), tonumber(balance), tonumber(odds), 1}
end
local stake = tonumber(ARGV[4])
if not stake or stake <= 0 or stake % 1 ~= 0 or stake > MAX_BALANCE then
  return redis.error_reply('ERR bad stake')
end
if w[4] == '1' then return {1009} end
-- The option's odds are the field odds:{key} (match_create.lua / match_odds.lua): no JSON per bet.
-- A match stored before those fields existed has only `options`: decoded then, on that path only.
local m = redis.call('HMGET', KEYS[1], 'state', 'odds:' .. ARGV[3], 'odds_ver', 'min_stake', 'max_stake', 'parent')
if not m[1] then return {1007, (ARGV[11] == '') and 'match' or 'market'} end
if (m[6] or '') ~= ARGV[11] then return {1007, (ARGV[11] == '') and 'match' or 'market'} end
if tonumber(m[1]) ~= 2 then return {1004, tonumber(m[1])} end
local odds = tonumber(m[2])
if not odds then
  for _, o in ipairs(cjson.decode(redis.call('HGET', KEYS[1], 'options') or '[]')) do
    if o.key == ARGV[3] then odds = o.odds end
  end
end
if not odds then return {1007, 'option'} end
if tonumber(ARGV[5]) ~= tonumber(m[3]) then return {1005, tonumber(m[3]), redis.call('HGET', KEYS[1], 'options')} end
local min, max = tonumber(m[4]), tonumber(m[5])
if stake < min or stake > max then return {1006, min, max} end
local balance, exposure = tonumber(w[1] or '0'), math.max(tonumber(w[2] or '0'), 0)
if balance < stake then return {1003, balance} end
-- The most this bet can pay (settle_batch.lua's formula: exact, no product past 2^53).
local potential = math.floor(stake / 1000) * odds + math.floor((stake % 1000) * odds / 1000)
if balance - stake + exposure + potential > MAX_BALANCE then
  -- The largest stake s with (balance - s) + exposure + s * (odds - 1000) / 1000 <= MAX_BALANCE.
  local room, d, allowed = MAX_BALANCE - balance - exposure, odds - 1000, 0
  if room > 0 and d > 0 then
    local q = math.floor(room / d)
    allowed = (q >= max) and max or math.min(max, q * 1000 + math.floor((room - q * d) * 1000 / d))
  end
  return {1006, min, allowed}
end

-- Writes: nothing below can fail on valid input.
local uid, bid = ARGV[1], ARGV[7]
-- The wallet in one HSET: the balance, version and exposure were read above (the script is atomic),
-- with this request's reply.
local after, ver = balance - stake, tonumber(w[3] or '0') + 1
local reply = bid .. ':' .. int(after) .. ':' .. int(odds)
if potential > 0 then
  redis.call('HSET', KEYS[2], 'balance', int(after), 'ver', int(ver), 'exposure', int(tonumber(w[2] or '0') + potential),
    'r:' .. ARGV[6], reply)
else
  redis.call('HSET', KEYS[2], 'balance', int(after), 'ver', int(ver), 'r:' .. ARGV[6], reply)
end
local record = ARGV[9] .. cmsgpack.pack('odds', odds, 'balance', after, 'wver', ver, 'id', uid .. ':' .. int(ver))
redis.call('HSET', KEYS[3], bid, record)
redis.call('HSET', KEYS[7], bid, uid .. ':' .. int(odds) .. ':' .. ARGV[10])
redis.call('SADD', KEYS[8], uid)
redis.call('HINCRBY', KEYS[4], ARGV[3], int(stake))
redis.call('LPUSH', KEYS[5], record)
redis.call('LPUSH', KEYS[6], record)
return {0, tonumber(bid), after, odds, 0}
