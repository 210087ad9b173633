-- settle_batch.lua — settle (or refund) a batch of a match's open bets in one shard, atomically.
-- A bet is taken off the shard's open list in the same step that pays it, so a batch replayed
-- (after a crash) or run by two resultcenters at once pays nothing twice: a bet no longer on the
-- list is skipped. Each shard settles on its own, in its own slot (docs/scaling.md); when every
-- shard's list is empty resultcenter finishes the match with match_finish.lua on the catalogue.
--
-- won      → credit floor(stake × odds / 1000) (computed without overflow), ledger reason "payout"
-- lost     → nothing
-- refunded → credit the stake, ledger reason "refund"
-- A bet's terms (stake, odds, option, bettor, time, request id) are its field's value in the open
-- list (place_bet.lua wrote them: common::bets::Terms), read for the whole batch with one HMGET,
-- and the batch leaves the list with one HDEL: no bet record is read.
-- Every settled bet: one "settled" change record (common::records::Settled), packed once, that
-- replaces the bet's record in the user's bets and is pushed to the shard's outbox lane (dbsvr
-- writes the bet, and with a payout the wallet and ledger rows from it), to the shard's q:notify lane (it is also the "bet_settled" event) and, with a payout,
-- to the user's ledger (it is the ledger entry); and its potential payout released from the
-- wallet's `exposure` (place_bet.lua added it). The batch's records go to the two lanes in one
-- LPUSH each. The shard's copy counts what it settled and paid (`settled`, `paid`), which
-- match_finish.lua's caller sums into the catalogue record.
-- Leaderboards (common::leaderboard): a won or lost bet adds payout - stake to its bettor's net
-- winnings, a won bet 1 to their correct picks, in the shard's part of the day's, the week's and the
-- all-time board (one ZINCRBY per bettor of the batch and board); a refund counts for neither. The
-- day and week parts' TTLs are renewed by each batch that changes them.
-- The maximum balance: place_bet.lua refuses a bet unless balance + exposure (the potential payouts
-- of open bets) stays within MAX_BALANCE (protocol::error_code::MAX_BALANCE, 10^15), and a payout
-- or refund is at most the bet's potential payout, so no payout takes a balance past it. A payout is
-- always credited in full, never refused nor truncated: a bet placed before exposure was kept is
-- paid in full even past MAX_BALANCE, which stays exact in Lua's doubles: one payout is at most
-- 10^15 and 2^53 is 9 times MAX_BALANCE. Coins are written as integer strings (%d).
--
-- KEYS[1]  {s}:match:{mid}        the shard's copy (match_copy.lua): state, result and, for a
--                                 market of a match, `parent` (the record's match_id; mid its market_id)
-- KEYS[2]  {s}:match:{mid}:open   (hash bid -> terms)
-- KEYS[3]  q:outbox:{s}           KEYS[4]  q:notify:{s}
-- KEYS[5..7]  {s}:lb:net:{day}, {s}:lb:net:{week}, {s}:lb:net:all     (the settlement time's)
-- KEYS[8..10] {s}:lb:picks:{day}, {s}:lb:picks:{week}, {s}:lb:picks:all
-- then for bet i = 1..n: KEYS[8+3i] user:{uid}:bets, KEYS[9+3i] wallet:{uid}, KEYS[10+3i] ledger:{uid}
-- ARGV[1]  "settle" (pay the winner recorded in the copy's `result`) or "refund"
-- ARGV[2]  now, Unix ms
-- ARGV[3]  states the copy must be in, comma separated ("3" to settle, "6,7" to refund)
-- ARGV[4]  mid
-- ARGV[5]  n, the number of bets in this batch (may be 0: just count what is left)
-- ARGV[6]  the day parts' TTL, seconds      ARGV[7]  the week parts' TTL, seconds
-- ARGV[8..7+n] the bet ids, in the order of the bet keys
--
-- Reply:   Settled        {settled, remaining}    bets settled now; open bets left in the shard
--          NotSettleable  {-1, remaining, state}  the shard's copy is in a state this job may not
--                          settle (it may lag the catalogue: copy, then retry): nothing written
--          NoCopy         {-2, remaining}         the shard holds no copy of the match: nothing written
-- Errors:  "ERR bad terms" when an open bet's terms do not parse (nothing written).
-- Cost:    per bet settled: HMGET wallet, one HSET or HDEL of the wallet (a payout that empties
--          the exposure: both), HSET of the record in the user's bets, with a payout LPUSH ledger;
--          one cmsgpack.pack of scalars. Per batch (in slices of 1000 bets): HMGET copy, HMGET
--          open, HDEL open, LPUSH outbox, LPUSH notify, 2 HINCRBY copy, HLEN open; per bettor of
--          the batch with a won or lost bet 3 ZINCRBY (net), with a won bet 3 more (picks), and per
--          changed day or week part one EXPIRE. In all ~12 µs of
--          Redis CPU per bet with bets settled in id order (bench/micro/settle_batch.sh), 20-25 µs
--          in an open list's scan order, which touches wallets and users' bets at random
--          (`matchday bench settle`; docs/benchmarks.md).
local m = redis.call('HMGET', KEYS[1], 'state', 'result', 'parent')
if not m[1] then return {-2, redis.call('HLEN', KEYS[2])} end
local state = tonumber(m[1])
local allowed = false
for s in string.gmatch(ARGV[3], '[^,]+') do
  if tonumber(s) == state then allowed = true end
end
if not allowed then
  return {-1, redis.call('HLEN', KEYS[2]), state}
end
local mode, now, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[5])
local B = 7 -- ARGV[B + i] is bet i's id; its keys are KEYS[B + 1 + 3i .. B + 3 + 3i]
local winner, mid = m[2], tonumber(ARGV[4])
local match_id = (m[3] and m[3] ~= '') and tonumber(m[3]) or mid
local function int(n) return string.format('%d', n) end
local TWO_53 = 9007199254740992
local SLICE = 1000 -- within Lua's unpack limit
-- Every bet's terms first, all parsed before anything is written (a bet no longer open is nil).
local bets, open = {}, {}
for first = 1, n, SLICE do
  local last = math.min(first + SLICE - 1, n)
  local terms = redis.call('HMGET', KEYS[2], unpack(ARGV, B + first, B + last))
  for j = first, last do
    local t = terms[j - first + 1]
    if t then
      local uid, odds, stake, ts, len, rest = string.match(t, '^(%d+):(%d+):(%d+):(%d+):(%d+):(.*)$')
      len = tonumber(len)
      if not uid or #rest < len then return redis.error_reply('ERR bad terms') end
      bets[j] = {uid = uid, odds = tonumber(odds), stake = tonumber(stake), ts = tonumber(ts),
        option = string.sub(rest, 1, len), req_id = string.sub(rest, len + 1)}
      open[#open + 1] = ARGV[B + j]
    end
  end
end
for first = 1, #open, SLICE do
  redis.call('HDEL', KEYS[2], unpack(open, first, math.min(first + SLICE - 1, #open)))
end
-- The record's map header: 17 entries, or 22 with a payout's wallet version and ledger entry.
local KIND = cmsgpack.pack('table', 'settled', 'kind', 'bet_settled')
local HEAD, HEAD_PAID = '\222\000\017' .. KIND, '\222\000\022' .. KIND
local settled, paid, records = 0, 0, {}
local net, picks, bettors = {}, {}, {} -- per bettor of the batch (uid string), in first-seen order
for i = 1, n do
  local b = bets[i]
  if b then
    local bid = ARGV[B + i]
    local uk, wk, lk = KEYS[B + 1 + 3 * i], KEYS[B + 2 + 3 * i], KEYS[B + 3 + 3 * i]
    local stake, odds = b.stake, b.odds
    -- The most the bet can pay: what place_bet.lua reserved in the wallet's `exposure`.
    local potential = math.floor(stake / 1000) * odds + math.floor((stake % 1000) * odds / 1000)
    local result, payout
    if mode == 'refund' then
      result, payout = 'refunded', stake
    elseif b.option == winner then
      result, payout = 'won', potential
    else
      result, payout = 'lost', 0
    end
    if result ~= 'refunded' then
      if not net[b.uid] then net[b.uid], picks[b.uid], bettors[#bettors + 1] = 0, 0, b.uid end
      net[b.uid] = net[b.uid] + payout - stake
      if result == 'won' then picks[b.uid] = picks[b.uid] + 1 end
    end
    -- The wallet in one read and one write: the payout credited, the version raised, and the
    -- exposure released (at zero, or below for a bet placed before exposure was kept, the
    -- field goes, as restore rebuilds it from open bets only).
    local w = redis.call('HMGET', wk, 'balance', 'exposure', 'ver')
    local balance, wver = tonumber(w[1] or '0'), tonumber(w[3] or '0')
    local exposure = tonumber(w[2] or '0') - potential
    local keep = potential > 0 and exposure > 0
    if payout > 0 then
      balance, wver = balance + payout, wver + 1
      if keep then
        redis.call('HSET', wk, 'balance', int(balance), 'ver', int(wver), 'exposure', int(exposure))
      else
        redis.call('HSET', wk, 'balance', int(balance), 'ver', int(wver))
      end
    elseif keep then
      redis.call('HSET', wk, 'exposure', int(exposure))
    end
    if potential > 0 and not keep and w[2] then redis.call('HDEL', wk, 'exposure') end
    -- The settled record (common::records::Settled): the user's bets, outbox, notify and, for a
    -- credit, the ledger.
    local id = tonumber(bid)
    local packed = cmsgpack.pack('key', id, 'bet_id', id, 'ver', 2, 'ts', now, 'uid', tonumber(b.uid), 'match_id', match_id,
      'market_id', mid,
      'option', b.option, 'stake', stake, 'odds', odds, 'req_id', b.req_id, 'placed_at', b.ts, 'result', result,
      'payout', payout, 'balance', balance)
    if payout > 0 then
      packed = HEAD_PAID .. packed .. cmsgpack.pack('wver', wver, 'id', b.uid .. ':' .. int(wver), 'delta', payout,
        'ref', bid, 'reason', (result == 'won') and 'payout' or 'refund')
      -- The match's total paid is summed by Redis (HINCRBY, 64-bit): Lua adds payouts only while
      -- the sum stays below 2^53, where its doubles are exact.
      if paid + payout >= TWO_53 then
        redis.call('HINCRBY', KEYS[1], 'paid', int(paid))
        paid = 0
      end
      paid = paid + payout
      redis.call('LPUSH', lk, packed)
    else
      packed = HEAD .. packed
    end
    redis.call('HSET', uk, bid, packed)
    records[#records + 1] = packed
    settled = settled + 1
  end
end
-- Every record of the batch in one push per list (in slices, within Lua's unpack limit).
for first = 1, #records, SLICE do
  local last = math.min(first + SLICE - 1, #records)
  redis.call('LPUSH', KEYS[3], unpack(records, first, last))
  redis.call('LPUSH', KEYS[4], unpack(records, first, last))
end
-- The leaderboards: each bettor's net winnings and correct picks of the batch, in every period.
local any_pick = false
for _, uid in ipairs(bettors) do
  for k = 5, 7 do redis.call('ZINCRBY', KEYS[k], int(net[uid]), uid) end
  if picks[uid] > 0 then
    any_pick = true
    for k = 8, 10 do redis.call('ZINCRBY', KEYS[k], picks[uid], uid) end
  end
end
if #bettors > 0 then
  redis.call('EXPIRE', KEYS[5], ARGV[6])
  redis.call('EXPIRE', KEYS[6], ARGV[7])
  if any_pick then
    redis.call('EXPIRE', KEYS[8], ARGV[6])
    redis.call('EXPIRE', KEYS[9], ARGV[7])
  end
end
if settled > 0 then
  redis.call('HINCRBY', KEYS[1], 'settled', settled)
  redis.call('HINCRBY', KEYS[1], 'paid', int(paid)) -- (0 too: the field exists from the first batch)
end
return {settled, redis.call('HLEN', KEYS[2])}
